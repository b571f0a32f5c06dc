// The throttle policy's pure functions (issue 6): levels with hysteresis, freno check answers,
// bulk session classification and victim selection. Fake clock; no server.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "binwatch/policy/throttle_policy.h"

using namespace binwatch::policy;

namespace {

ThrottleInputs ttf(double seconds, double free_pct = 50) {
  ThrottleInputs in;
  in.time_to_full_s = seconds;
  in.free_percent = free_pct;
  in.mount = "/srv/binlog";
  return in;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST(ThrottlePolicy, DefaultPolicyParsesWithThreeLevelsAndDryRun) {
  const auto& p = default_throttle_policy();
  ASSERT_EQ(p.levels.size(), 3u);
  EXPECT_EQ(p.levels[0].name, "throttle");
  EXPECT_EQ(p.levels[1].name, "pause");
  EXPECT_EQ(p.levels[2].name, "critical");
  EXPECT_EQ(p.levels[2].sessions, SessionAction::KillConnection);
  EXPECT_FALSE(p.enforce) << "session kills must be a dry run until the policy enables them";
  EXPECT_EQ(*p.level_number("critical"), 3);
  EXPECT_EQ(p.pt_archiver_sentinel_at, "critical");
  EXPECT_EQ(p.hold_ms, 60000);
}

TEST(ThrottlePolicy, BadPoliciesAreRefusedNamingTheKeyAndLine) {
  auto error_of = [](const char* text) {
    try {
      parse_throttle_policy(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("holdd = \"1m\"").find("holdd"), std::string::npos);
  EXPECT_NE(error_of("[[level]]\nname = \"x\"\ncooperative = \"pause\"").find("no entry condition"), std::string::npos);
  EXPECT_NE(error_of("[[level]]\nname = \"x\"\ntime_to_full_below = \"10m\"\nrelease_time_to_full_above = \"5m\"")
                .find("must be >="),
            std::string::npos);
  EXPECT_NE(error_of("[[level]]\nname = \"x\"\ntime_to_full_below = \"ten\"").find("line 3"), std::string::npos);
  EXPECT_NE(error_of("[[level]]\nname = \"x\"\nfree_below_percent = 5\ncooperative = \"throttle\"").find("ratio"),
            std::string::npos);
  EXPECT_NE(error_of("[[bulk]]\nname = \"empty\"").find("matches nothing"), std::string::npos);
  EXPECT_NE(error_of("hold = 1e300").find("a year"), std::string::npos);
  EXPECT_NE(error_of("[sessions]\ncooldown = \"400d\"").find("longer than a year"), std::string::npos);
  EXPECT_NE(error_of("[[bulk]]\nstatement = \"(\"").find("regular expression"), std::string::npos);
  EXPECT_NE(error_of("[[level]]\nname = \"a\"\nfree_below_percent = 5\n[flags]\nghost_throttle_at = \"b\"").find("no level named b"),
            std::string::npos);
}

TEST(ThrottlePolicy, LevelRisesAtOnceAndFallsOnlyAfterTheReleaseHeldForTheHoldTime) {
  const auto& p = default_throttle_policy();  // throttle < 2h, pause < 30m, critical < 10m; hold 1m
  LevelState s;
  auto d = decide_level(p, ttf(kInf), s, 0);
  EXPECT_EQ(d.next.level, 0);
  EXPECT_FALSE(d.changed);

  d = decide_level(p, ttf(20 * 60), d.next, 1000);  // 20 min to full: pause
  EXPECT_EQ(d.next.level, 2);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.metric, "time_to_full");
  EXPECT_DOUBLE_EQ(d.threshold, 30 * 60);
  EXPECT_NE(d.reason.find("/srv/binlog fills in 20m"), std::string::npos) << d.reason;

  // 45 min: under the pause release (1h): stays paused, no recovery clock.
  d = decide_level(p, ttf(45 * 60), d.next, 2000);
  EXPECT_EQ(d.next.level, 2);
  EXPECT_FALSE(d.next.recovering_since_ms);
  EXPECT_NE(d.reason.find("holding pause"), std::string::npos) << d.reason;

  // 1h30m: past the pause release but not the throttle release (3h): recovering towards throttle.
  d = decide_level(p, ttf(90 * 60), d.next, 3000);
  EXPECT_EQ(d.next.level, 2);
  ASSERT_TRUE(d.next.recovering_since_ms);
  EXPECT_EQ(d.next.recovering_to, 1);
  d = decide_level(p, ttf(90 * 60), d.next, 3000 + 59999);
  EXPECT_EQ(d.next.level, 2) << "one millisecond before the hold time";
  // A dip back under the release restarts the hold.
  d = decide_level(p, ttf(50 * 60), d.next, 3000 + 60000);
  EXPECT_EQ(d.next.level, 2);
  EXPECT_FALSE(d.next.recovering_since_ms);
  d = decide_level(p, ttf(90 * 60), d.next, 70000);
  d = decide_level(p, ttf(90 * 60), d.next, 70000 + 60000);
  EXPECT_EQ(d.next.level, 1);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.from, 2);

  // Not growing at all: back to ok after the hold.
  d = decide_level(p, ttf(kInf), d.next, 200000);
  EXPECT_EQ(d.next.level, 1);
  d = decide_level(p, ttf(kInf), d.next, 260000);
  EXPECT_EQ(d.next.level, 0);

  // Straight to critical from ok.
  d = decide_level(p, ttf(5 * 60), d.next, 300000);
  EXPECT_EQ(d.next.level, 3);
}

TEST(ThrottlePolicy, FreeSpaceAndReplicaLagRaiseLevelsToo) {
  const auto& p = default_throttle_policy();
  LevelState s;
  auto d = decide_level(p, ttf(kInf, 2.5), s, 0);  // 2.5% free: critical (below 3%)
  EXPECT_EQ(d.next.level, 3);
  EXPECT_EQ(d.metric, "free_percent");
  ThrottleInputs lag;
  lag.replica_lag_s = 45;  // throttle above 30 s
  d = decide_level(p, lag, LevelState{}, 0);
  EXPECT_EQ(d.next.level, 1);
  EXPECT_EQ(d.metric, "replica_lag");
  lag.replica_lag_s = 400;  // pause above 5 min
  d = decide_level(p, lag, d.next, 1);
  EXPECT_EQ(d.next.level, 2);
  // No figures at all: nothing to act on.
  d = decide_level(p, ThrottleInputs{}, LevelState{}, 0);
  EXPECT_EQ(d.next.level, 0);
}

TEST(ThrottlePolicy, FreeShareReasonNamesThePartitionWhoseShareCrossed) {
  const auto& p = default_throttle_policy();
  // Two binlog partitions: /a fills first (20 min, plenty free), /b is nearly full but not growing.
  ThrottleInputs in;
  add_partition(in, "/a", 20 * 60, 60);
  add_partition(in, "/b", kInf, 2.5);
  EXPECT_EQ(in.mount, "/a");
  EXPECT_EQ(in.free_mount, "/b");
  EXPECT_DOUBLE_EQ(*in.time_to_full_s, 20 * 60);
  EXPECT_DOUBLE_EQ(*in.free_percent, 2.5);
  auto d = decide_level(p, in, LevelState{}, 0);
  EXPECT_EQ(d.next.level, 3);  // critical below 3% free (the 20 min alone is pause)
  EXPECT_EQ(d.metric, "free_percent");
  EXPECT_NE(d.reason.find("partition /b has 2.5% free"), std::string::npos) << d.reason;
  EXPECT_EQ(d.reason.find("/a"), std::string::npos) << d.reason;

  // The other order of sampling gives the same figures and names.
  ThrottleInputs rev;
  add_partition(rev, "/b", kInf, 2.5);
  add_partition(rev, "/a", 20 * 60, 60);
  EXPECT_EQ(rev.mount, "/a");
  EXPECT_EQ(rev.free_mount, "/b");
  // When the time to full decides, its own partition is named.
  add_partition(rev, "/c", 5 * 60, 40);
  d = decide_level(p, rev, LevelState{}, 0);
  EXPECT_EQ(d.metric, "time_to_full");
  EXPECT_NE(d.reason.find("partition /c fills in"), std::string::npos) << d.reason;
}

TEST(ThrottlePolicy, CheckAnswersFollowFrenoCodes) {
  auto p = default_throttle_policy();
  p.forbidden_apps = {"reckless-*"};
  LevelDecision ok;
  auto a = check_app(p, ok, true, "cleanup", {}, 0.0, 0);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.action, CooperativeAction::Allow);
  EXPECT_EQ(check_app(p, ok, false, "cleanup", {}, 0.0, 0).status, 404);
  EXPECT_EQ(check_app(p, ok, true, "reckless-delete", {}, 0.0, 0).status, 417);

  LevelDecision paused;
  paused.next.level = 2;
  paused.reason = "partition /srv fills in 20m0s";
  a = check_app(p, paused, true, "cleanup", {}, 0.99, 0);
  EXPECT_EQ(a.status, 429);
  EXPECT_EQ(a.action, CooperativeAction::Pause);
  EXPECT_EQ(a.message, paused.reason);

  // Throttle level at ratio 0.5: draws below the ratio are refused, the rest pass; every answer
  // carries the action and ratio (binwatch run's duty cycle).
  LevelDecision throttled;
  throttled.next.level = 1;
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    const double draw = std::fmod(i * 0.6180339887498949, 1.0);
    a = check_app(p, throttled, true, "cleanup", {}, draw, 0);
    EXPECT_EQ(a.action, CooperativeAction::Throttle);
    EXPECT_DOUBLE_EQ(a.ratio, 0.5);
    refused += a.status == 429;
  }
  EXPECT_NEAR(refused, 500, 5);

  // An operator's /throttle-app applies while it lasts, only to its app.
  std::vector<AppThrottle> apps = {{"cleanup", 1.0, 60000, "ops"}};
  a = check_app(p, ok, true, "cleanup", apps, 0.5, 1000);
  EXPECT_EQ(a.status, 429);
  EXPECT_NE(a.message.find("throttled by ops"), std::string::npos);
  EXPECT_EQ(check_app(p, ok, true, "other", apps, 0.5, 1000).status, 200);
  EXPECT_EQ(check_app(p, ok, true, "cleanup", apps, 0.5, 60000).status, 200) << "expired";
}

TEST(ThrottlePolicy, TagAndGlob) {
  EXPECT_EQ(tag_app("DELETE FROM groups WHERE id = 4 /* binwatch:app=spam-cleanup */"), "spam-cleanup");
  EXPECT_EQ(tag_app("/* other */ UPDATE t SET a = 1 /*binwatch:app=x.y_z-1 more */"), "x.y_z-1");
  EXPECT_EQ(tag_app("SELECT '/* binwatch:app= */'"), "");
  EXPECT_EQ(tag_app("/* binwatch:app=unterminated"), "");
  EXPECT_TRUE(glob_match("pt-*", "pt-archiver"));
  EXPECT_FALSE(glob_match("pt-*", "gh-ost"));
  EXPECT_TRUE(glob_match("a?c*", "abcdef"));
  EXPECT_TRUE(glob_match("LOCALHOST", "localhost", true));
  EXPECT_FALSE(glob_match("LOCALHOST", "localhost", false));
}

TEST(ThrottlePolicy, ClassificationNeverTouchesReplicationSystemOrOwnSessions) {
  auto p = parse_throttle_policy(R"(
[[bulk]]
name = "maint-user"
user = "maint"
host = "10.0.*"
[[bulk]]
name = "tagged"
tag = true
[[bulk]]
name = "big"
min_rows_modified = 1000
[[bulk]]
name = "deletes-on-groups"
statement = "^delete from `?groups"
)");
  Session s;
  s.id = 10;
  s.user = "maint";
  s.host = "10.0.3.4:51234";
  EXPECT_TRUE(classify(p, s, {}).bulk);
  EXPECT_EQ(classify(p, s, {}).rule, "maint-user");
  s.host = "10.1.3.4:51234";
  EXPECT_FALSE(classify(p, s, {}).bulk);

  Session app;
  app.id = 11;
  app.user = "app";
  app.host = "localhost";
  app.info = "UPDATE groups SET posts_count = posts_count - 1 WHERE id = 9 /* binwatch:app=cleanup */";
  auto c = classify(p, app, {});
  EXPECT_TRUE(c.bulk);
  EXPECT_EQ(c.app, "cleanup");
  EXPECT_FALSE(classify(p, app, {11}).bulk) << "binwatch's own connection";

  Session trx;
  trx.id = 12;
  trx.user = "app";
  trx.rows_modified = 5000;
  EXPECT_EQ(classify(p, trx, {}).rule, "big");
  trx.rows_modified = 10;
  EXPECT_FALSE(classify(p, trx, {}).bulk);
  trx.info = "DELETE FROM groups where id = 3";  // case-insensitive
  EXPECT_EQ(classify(p, trx, {}).rule, "deletes-on-groups");

  // Replication and system threads match nothing, whatever they run.
  for (const char* cmd : {"Binlog Dump", "Binlog Dump GTID", "Slave_SQL", "Slave_IO", "Daemon"}) {
    Session r = trx;
    r.command = cmd;
    r.rows_modified = 1'000'000;
    EXPECT_FALSE(classify(p, r, {}).bulk) << cmd;
  }
  Session sys = trx;
  sys.user = "system user";
  sys.rows_modified = 1'000'000;
  EXPECT_FALSE(classify(p, sys, {}).bulk);
}

TEST(ThrottlePolicy, SessionsOfARegisteredBinwatchRunAreBulkWithTheRunsApp) {
  const auto& p = default_throttle_policy();
  ASSERT_TRUE(std::any_of(p.bulk.begin(), p.bulk.end(), [](const BulkRule& r) { return r.binwatch_run; }))
      << "the default policy has the binwatch_run rule";
  std::vector<RunRegistration> runs(1);
  runs[0].pgid = 4000;
  runs[0].app = "nightly-purge";
  runs[0].leader_start = 777;
  runs[0].expires_ms = 10000;

  Session s;
  s.id = 21;
  s.user = "app";
  s.host = "127.0.0.1:58100";
  s.info = "INSERT INTO archive SELECT * FROM events WHERE day < '2020-01-01'";  // untagged, few rows yet
  EXPECT_FALSE(classify(p, s, {}, runs, 5000).bulk) << "client process unknown";
  s.client_pid = 4001;
  s.client_pgid = 4000;
  s.client_group_leader_start = 777;
  s.client_via = "tcp";
  auto c = classify(p, s, {}, runs, 5000);
  EXPECT_TRUE(c.bulk);
  EXPECT_EQ(c.rule, "binwatch_run");
  EXPECT_EQ(c.app, "nightly-purge");
  // The leader gone while the client lives on in its group: no longer provably that run (the
  // group id can be reused once the group ends), so not bulk by the run rule.
  s.client_group_leader_start = 0;
  EXPECT_FALSE(classify(p, s, {}, runs, 5000).bulk);
  EXPECT_EQ(run_of(s, runs, 5000), nullptr);
  // A registration without a leader start time never matches a leader-less group either.
  {
    auto zero = runs;
    zero[0].leader_start = 0;
    EXPECT_EQ(run_of(s, zero, 5000), nullptr);
  }
  // The pgid now leads another process (pid reused after the run ended): not that run.
  s.client_group_leader_start = 999;
  EXPECT_FALSE(classify(p, s, {}, runs, 5000).bulk);
  s.client_group_leader_start = 777;
  // Another group, an expired registration, no registrations: not bulk.
  Session other = s;
  other.client_pgid = 4100;
  EXPECT_FALSE(classify(p, other, {}, runs, 5000).bulk);
  EXPECT_FALSE(classify(p, s, {}, runs, 10000).bulk) << "expired";
  EXPECT_FALSE(classify(p, s, {}, {}, 5000).bulk);
  EXPECT_EQ(run_of(s, runs, 5000), &runs[0]);
  // A tag names the app even under a run (the tagged rule comes first in the default policy).
  Session tagged = s;
  tagged.info += " /* binwatch:app=cleanup */";
  EXPECT_EQ(classify(p, tagged, {}, runs, 5000).app, "cleanup");
  // Never binwatch's own sessions, system users or replication threads, even inside a run.
  EXPECT_FALSE(classify(p, s, {21}, runs, 5000).bulk);
  Session repl = s;
  repl.command = "Binlog Dump";
  EXPECT_FALSE(classify(p, repl, {}, runs, 5000).bulk);

  // Another rule matching a run's session still reports the run's app.
  auto big = parse_throttle_policy("[[bulk]]\nname = \"big\"\nmin_rows_modified = 10\n");
  s.rows_modified = 50;
  c = classify(big, s, {}, runs, 5000);
  EXPECT_EQ(c.rule, "big");
  EXPECT_EQ(c.app, "nightly-purge");
  EXPECT_FALSE(classify(big, s, {}, {}, 5000).app.empty());
  // The rule alone is a condition; with others, all must hold.
  auto scoped = parse_throttle_policy("[[bulk]]\nname = \"run-maint\"\nbinwatch_run = true\nuser = \"maint\"\n");
  EXPECT_FALSE(classify(scoped, s, {}, runs, 5000).bulk);
  s.user = "maint";
  EXPECT_TRUE(classify(scoped, s, {}, runs, 5000).bulk);
  EXPECT_THROW(parse_throttle_policy("[[bulk]]\nname = \"x\"\nbinwatch_run = \"yes\"\n"), std::invalid_argument);
}

TEST(ThrottlePolicy, VictimsAreMostRowsThenOldestWithinCooldownAndLimit) {
  auto p = default_throttle_policy();
  p.max_actions = 2;
  std::vector<Session> bulk(3);
  bulk[0].id = 1, bulk[0].rows_modified = 10, bulk[0].time_s = 500;
  bulk[1].id = 2, bulk[1].rows_modified = 900, bulk[1].time_s = 5;
  bulk[2].id = 3, bulk[2].rows_modified = 10, bulk[2].time_s = 900;
  EXPECT_TRUE(plan_sessions(p, 2, bulk, 100, std::nullopt, 0).empty()) << "pause: sessions = none";
  auto plan = plan_sessions(p, 3, bulk, 100, std::nullopt, 0);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].session.id, 2u);
  EXPECT_DOUBLE_EQ(plan[0].expected_bytes, 90000);
  EXPECT_EQ(plan[0].action, SessionAction::KillConnection);
  EXPECT_EQ(plan[1].session.id, 3u) << "equal rows: the oldest";
  EXPECT_TRUE(plan_sessions(p, 3, bulk, 100, int64_t{0}, 29999).empty()) << "cooldown 30s";
  EXPECT_EQ(plan_sessions(p, 3, bulk, 100, int64_t{0}, 30000).size(), 2u);
}
