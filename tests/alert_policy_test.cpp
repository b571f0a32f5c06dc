// The alert policy with a fake clock: for-durations and hysteresis, every rule kind, what an
// acknowledgement covers (SoundCloud's outage at decision level), the escalation ladder,
// reminders and resolutions, a storm of 500 subjects, the policy file's errors and the state's
// JSON round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "binwatch/net/net_watch.h"
#include "binwatch/policy/alert_decision.h"
#include "binwatch/policy/alert_policy.h"
#include "binwatch/policy/alert_state.h"
#include "binwatch/policy/duration.h"
#include "binwatch/policy/fnv1a.h"

namespace binwatch::policy {
namespace {

using alerts::Notification;
using alerts::NotificationKind;

constexpr int64_t kSec = 1000, kMin = 60 * kSec, kHour = 60 * kMin;
constexpr double kInf = std::numeric_limits<double>::infinity();

// A small policy whose numbers the tests can reason about.
constexpr std::string_view kTestPolicy = R"toml(
[ack]
default_ttl = "30m"
max_ttl = "12h"

[[ladder]]
name = "default"
repeat = "30m"
  [[ladder.tier]]
  after = "0s"
  receivers = ["pager"]
  [[ladder.tier]]
  after = "15m"
  receivers = ["secondary"]
  [[ladder.tier]]
  after = "45m"
  receivers = ["lead", "pager"]

[[rule]]
name = "ttf"
kind = "time_to_full"
metric = "ttf"
clear_for = "5m"
  [[rule.band]]
  severity = "warning"
  below = "4h"
  [[rule.band]]
  severity = "warning"
  below = "1h"
  [[rule.band]]
  severity = "critical"
  below = "10m"

[[rule]]
name = "lag"
kind = "threshold"
metric = "lag"
for = "2m"
clear_for = "5m"
summary = "{subject} lags {value} s ({severity}, {band})"
  [[rule.band]]
  severity = "warning"
  above = 300
  clear = 120

[[rule]]
name = "torn"
kind = "integrity"
metric = "other"
subjects = ["torn", "corrupt"]
severity = "critical"
clear_for = "10m"

[[rule]]
name = "rate"
kind = "counter_rate"
metric = "bytes"
  [[rule.band]]
  severity = "warning"
  above = 100
)toml";

Observation obs(std::string metric, std::string subject, double value, std::map<std::string, std::string> labels = {}) {
  return {std::move(metric), std::move(subject), value, std::move(labels)};
}

// The daemon's partition metrics for one mount (default policy).
std::vector<Observation> mount(const std::string& m, double ttf_s, double avail = 50, double size = 100) {
  return {obs("binwatch_partition_time_to_full_seconds", m, ttf_s, {{"mount", m}, {"burst", "with"}}),
          obs("binwatch_partition_time_to_full_seconds", m, kInf, {{"mount", m}, {"burst", "without"}}),
          obs("binwatch_partition_avail_bytes", m, avail, {{"mount", m}}),
          obs("binwatch_partition_size_bytes", m, size, {{"mount", m}})};
}

std::vector<Observation> operator+(std::vector<Observation> a, const std::vector<Observation>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The fake clock and the state between ticks.
struct Harness {
  AlertPolicy policy;
  AlertState state;
  int64_t now = 1'800'000'000'000;  // unix ms
  explicit Harness(AlertPolicy p) : policy(std::move(p)) {}

  std::vector<Notification> step(const std::vector<Observation>& o) {
    AlertDecision d = decide(policy, o, state, now);
    state = std::move(d.state);
    return std::move(d.notifications);
  }
  std::vector<Notification> at(int64_t t, const std::vector<Observation>& o) {
    now = t;
    return step(o);
  }
  AckOutcome ack(const std::string& id, std::optional<int64_t> ttl, const std::string& by = "alice",
                 const std::string& reason = "looking") {
    AckOutcome out = policy::ack(policy, state, id, ttl, by, reason, now);
    if (out.ok()) state = out.state;
    return out;
  }
  const Alert& alert(const std::string& id) const {
    auto it = state.alerts.find(id);
    if (it == state.alerts.end()) throw std::runtime_error("no alert " + id);
    return it->second;
  }
};

Harness test_harness() { return Harness(parse_alert_policy(kTestPolicy, "test.toml")); }

std::vector<Notification> only(const std::vector<Notification>& v, const std::string& alert,
                               std::optional<NotificationKind> kind = std::nullopt) {
  std::vector<Notification> out;
  for (const auto& n : v) {
    if (n.alert_id == alert && (!kind || n.kind == *kind)) out.push_back(n);
  }
  return out;
}

std::set<std::string> receivers(const std::vector<Notification>& v) {
  std::set<std::string> out;
  for (const auto& n : v) out.insert(n.receiver);
  return out;
}

using Set = std::set<std::string>;

// ---------------------------------------------------------------------------------------------

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(parse_duration_ms("30m"), 30 * kMin);
  EXPECT_EQ(parse_duration_ms("1h30m"), 90 * kMin);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("2d"), 48 * kHour);
  EXPECT_EQ(parse_duration_ms("0s"), 0);
  for (const char* bad : {"", "30", "m", "-5m", "5 m", "5x", "1.5h", "99999999999999999999s"})
    EXPECT_FALSE(parse_duration_ms(bad)) << bad;
  EXPECT_EQ(format_duration_ms(4 * kHour), "4h");
  EXPECT_EQ(format_duration_ms(90 * kMin + 1500), "1h30m1s500ms");
  EXPECT_EQ(format_duration_ms(0), "0s");
  EXPECT_EQ(format_duration_ms(-10 * kMin), "-10m");
}

TEST(Identity, Fnv1a64KnownVectorsAndStableIds) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
  const std::string id = alert_id("ttf", "/var/lib/mysql", Severity::Warning);
  EXPECT_EQ(id.size(), 12u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  // The id is what operators type and what the state file keys on: it must not change between
  // releases. This is FNV-1a 64 of "ttf\x1f/var/lib/mysql\x1fwarning".
  EXPECT_EQ(id, hex_prefix(fnv1a64("ttf\x1f/var/lib/mysql\x1fwarning"), 12));
  EXPECT_NE(id, alert_id("ttf", "/var/lib/mysql", Severity::Critical));
  EXPECT_NE(id, alert_id("ttf", "/var/lib/mysql-binlog", Severity::Warning));
  EXPECT_NE(id, alert_id("ttf2", "/var/lib/mysql", Severity::Warning));
  EXPECT_NE(alert_id("a", "bc", Severity::Info), alert_id("ab", "c", Severity::Info));
}

// ---------------------------------------------------------------------------------------------
// The policy file

TEST(PolicyFile, DefaultPolicyHasTheIssueBands) {
  const AlertPolicy& p = default_alert_policy();
  const Rule* ttf = p.rule("partition-time-to-full");
  ASSERT_NE(ttf, nullptr);
  EXPECT_EQ(ttf->kind, RuleKind::TimeToFull);
  EXPECT_EQ(ttf->metric, "binwatch_partition_time_to_full_seconds");
  EXPECT_EQ(ttf->prefer.at("burst"), "with");
  ASSERT_EQ(ttf->bands.size(), 3u);
  EXPECT_EQ(ttf->bands[0].severity, Severity::Warning);
  EXPECT_DOUBLE_EQ(ttf->bands[0].value, 4 * 3600);
  EXPECT_EQ(ttf->bands[0].name, "<4h");
  EXPECT_EQ(ttf->bands[1].severity, Severity::Critical);
  EXPECT_DOUBLE_EQ(ttf->bands[1].value, 3600);
  EXPECT_EQ(ttf->bands[2].severity, Severity::Emergency);
  EXPECT_DOUBLE_EQ(ttf->bands[2].value, 600);
  EXPECT_DOUBLE_EQ(*ttf->bands[2].free_below, 0.02);
  EXPECT_EQ(p.ack.default_ttl_ms, 30 * kMin);
  EXPECT_EQ(p.ack.max_ttl_ms, 12 * kHour);
  const Rule* integrity = p.rule("binlog-integrity");
  ASSERT_NE(integrity, nullptr);
  EXPECT_EQ(integrity->kind, RuleKind::Integrity);
  EXPECT_EQ(integrity->subjects, (std::vector<std::string>{"torn", "corrupt"}));
  const Rule* surge = p.rule("table-write-surge");
  ASSERT_NE(surge, nullptr);
  EXPECT_DOUBLE_EQ(surge->bands.at(0).value, 10);
  EXPECT_NE(p.rule("replica-lag"), nullptr);
  EXPECT_NE(p.rule("net-counters"), nullptr);
  EXPECT_EQ(default_alert_policy_toml().substr(0, 23), "# binwatch alert policy");
}

std::string policy_error(std::string_view text) {
  try {
    parse_alert_policy(text, "alerts.toml");
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr std::string_view kLadder = "[[ladder]]\nname = \"default\"\n[[ladder.tier]]\nafter = \"0s\"\nreceivers = [\"x\"]\n";

TEST(PolicyFile, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(policy_error(std::string(kLadder) + "[[rule]]\nname = \"r\"\nkind = \"threshold\"\nmetric = \"m\"\nfro = \"1m\"\n"
                                                "[[rule.band]]\nseverity = \"warning\"\nabove = 1\n"),
            "alerts.toml:10: rule[0].fro: unknown key (allowed here: name, kind, metric, match, prefer, subjects, "
            "for, clear_for, severity, band, avail_metric, size_metric, baseline_metric, baseline_match, min_value, "
            "ladder, summary, runbook)");
  const std::string rule = std::string(kLadder) + "[[rule]]\nname = \"r\"\nkind = \"threshold\"\nmetric = \"m\"\n";
  EXPECT_EQ(policy_error(rule + "for = \"soon\"\n[[rule.band]]\nseverity = \"warning\"\nabove = 1\n"),
            "alerts.toml:10: rule[0].for: must be a duration string such as \"30s\", \"10m\", \"4h\", \"1h30m\"");
  EXPECT_EQ(policy_error(rule + "[[rule.band]]\nseverity = \"critical\"\nabove = 1\n[[rule.band]]\nseverity = "
                                "\"warning\"\nabove = 2\n"),
            "alerts.toml:10: rule[0].band: bands go from mildest to worst: band 1 has a lower severity than band 0");
  EXPECT_EQ(policy_error(rule + "[[rule.band]]\nseverity = \"warning\"\nabove = 5\n[[rule.band]]\nseverity = "
                                "\"critical\"\nabove = 2\n"),
            "alerts.toml:10: rule[0].band: bands go from mildest to worst: band 1's value must be above band 0's");
  EXPECT_EQ(policy_error(rule + "[[rule.band]]\nseverity = \"warning\"\nabove = 5\nclear = 6\n"),
            "alerts.toml:13: rule[0].band[0].clear: must be on the clearing side of the band value (at most 5)");
  EXPECT_EQ(policy_error(rule + "[[rule.band]]\nseverity = \"severe\"\nabove = 5\n"),
            "alerts.toml:11: rule[0].band[0].severity: must be \"info\", \"warning\", \"critical\" or \"emergency\"");
  EXPECT_EQ(policy_error(rule + "ladder = \"night\"\n[[rule.band]]\nseverity = \"warning\"\nabove = 5\n"),
            "alerts.toml:10: rule[0].ladder: no [[ladder]] named \"night\"");
  EXPECT_EQ(policy_error(std::string(kLadder) + "[[rule]]\nname = \"i\"\nkind = \"integrity\"\nmetric = \"m\"\n"
                                                "severity = \"critical\"\nfor = \"1m\"\n"),
            "alerts.toml:11: rule[0].for: integrity rules fire at the first increase; 'for' is not allowed");
  EXPECT_EQ(policy_error("[ack]\ndefault_ttl = \"2h\"\nmax_ttl = \"1h\"\n"),
            "alerts.toml:3: ack.max_ttl: must be at least default_ttl");
  EXPECT_EQ(policy_error("[[ladder]]\nname = \"default\"\n[[ladder.tier]]\nafter = \"5m\"\nreceivers = [\"x\"]\n"),
            "alerts.toml:4: ladder[0].tier[0].after: the first tier pages at once: its after must be \"0s\"");
  EXPECT_TRUE(policy_error("[[rule]\n").starts_with("alerts.toml:1:8: ")) << policy_error("[[rule]\n");
}

// ---------------------------------------------------------------------------------------------
// for-durations and hysteresis

TEST(Timing, ForDurationRestartsWhenTheConditionBreaks) {
  Harness h = test_harness();
  const std::string id = alert_id("lag", "replica1", Severity::Warning);
  const int64_t t0 = h.now;
  EXPECT_TRUE(h.at(t0, {obs("lag", "replica1", 400)}).empty());
  EXPECT_EQ(alert_status(h.alert(id)), "pending");
  EXPECT_TRUE(h.at(t0 + 90 * kSec, {obs("lag", "replica1", 400)}).empty());
  // Back under 300 before the 2 minutes: the pending alert is forgotten, nothing was sent.
  EXPECT_TRUE(h.at(t0 + 100 * kSec, {obs("lag", "replica1", 100)}).empty());
  EXPECT_EQ(h.state.alerts.count(id), 0u);
  EXPECT_TRUE(h.at(t0 + 110 * kSec, {obs("lag", "replica1", 400)}).empty());
  EXPECT_TRUE(h.at(t0 + 110 * kSec + 2 * kMin - 1, {obs("lag", "replica1", 400)}).empty());
  const auto fired = h.at(t0 + 110 * kSec + 2 * kMin, {obs("lag", "replica1", 400)});
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, NotificationKind::Trigger);
  EXPECT_EQ(fired[0].receiver, "pager");
  EXPECT_EQ(fired[0].alert_id, id);
  EXPECT_EQ(fired[0].summary, "replica1 lags 400 s (warning, >300)");
  EXPECT_EQ(fired[0].starts_at, (t0 + 110 * kSec + 2 * kMin) / 1000);
  EXPECT_EQ(alert_status(h.alert(id)), "firing");
}

TEST(Timing, HysteresisKeepsItFromFlappingAndClearForResolves) {
  Harness h = test_harness();
  const std::string id = alert_id("lag", "r", Severity::Warning);
  const int64_t t0 = h.now;
  h.at(t0, {obs("lag", "r", 400)});
  ASSERT_EQ(h.at(t0 + 2 * kMin, {obs("lag", "r", 400)}).size(), 1u);
  // Oscillating around the 300 threshold but above the clear value (120): one alert, no noise.
  int64_t t = t0 + 2 * kMin;
  for (int i = 0; i < 10; ++i) {
    t += 10 * kSec;
    EXPECT_TRUE(h.at(t, {obs("lag", "r", i % 2 ? 310.0 : 290.0)}).empty()) << i;
    EXPECT_FALSE(h.alert(id).clear_since_ms.has_value());
  }
  // Under the clear value: clear_for (5m) starts; a return above 120 (but under 300) does not
  // re-arm the band, so the alert still resolves 5m after it first cleared.
  const int64_t cleared = t + 10 * kSec;
  EXPECT_TRUE(h.at(cleared, {obs("lag", "r", 100)}).empty());
  EXPECT_TRUE(h.at(cleared + 2 * kMin, {obs("lag", "r", 200)}).empty());
  EXPECT_TRUE(h.at(cleared + 5 * kMin - 1, {obs("lag", "r", 100)}).empty());
  const auto resolved = h.at(cleared + 5 * kMin, {obs("lag", "r", 100)});
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].kind, NotificationKind::Resolve);
  EXPECT_EQ(resolved[0].receiver, "pager");
  EXPECT_EQ(resolved[0].ends_at, (cleared + 5 * kMin) / 1000);
  EXPECT_EQ(h.state.alerts.count(id), 0u);
  EXPECT_TRUE(h.state.tracks.empty());
}

TEST(Timing, ConditionBackDuringClearForKeepsTheAlert) {
  Harness h = test_harness();
  const std::string id = alert_id("lag", "r", Severity::Warning);
  h.at(h.now, {obs("lag", "r", 400)});
  h.at(h.now + 2 * kMin, {obs("lag", "r", 400)});
  h.at(h.now + 1 * kMin, {obs("lag", "r", 50)});
  ASSERT_TRUE(h.alert(id).clear_since_ms);
  EXPECT_TRUE(h.at(h.now + 4 * kMin, {obs("lag", "r", 500)}).empty());  // no second Trigger
  EXPECT_FALSE(h.alert(id).clear_since_ms);
  // A subject no longer observed counts as cleared (Prometheus semantics).
  h.at(h.now + 1 * kMin, {});
  EXPECT_TRUE(h.alert(id).clear_since_ms);
  EXPECT_EQ(h.at(h.now + 5 * kMin, {}).size(), 1u);
  EXPECT_TRUE(h.state.alerts.empty());
}

// ---------------------------------------------------------------------------------------------
// Rule kinds

TEST(Kinds, IntegrityFiresAtTheFirstIncreaseAndResolvesAfterClearFor) {
  Harness h = test_harness();
  const std::string torn = alert_id("torn", "torn", Severity::Critical);
  // The first observation only learns, even when it is not zero; other buckets are ignored.
  EXPECT_TRUE(h.step({obs("other", "torn", 100), obs("other", "statement", 5)}).empty());
  EXPECT_TRUE(h.at(h.now + 5 * kSec, {obs("other", "torn", 100), obs("other", "statement", 9000)}).empty());
  const auto fired = h.at(h.now + 5 * kSec, {obs("other", "torn", 164), obs("other", "statement", 9000)});
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].alert_id, torn);
  EXPECT_EQ(fired[0].severity, Severity::Critical);
  EXPECT_EQ(fired[0].annotations.at("value"), "+64");
  // No further increase: firing until clear_for (10m) after the increase, then resolved.
  const int64_t t = h.now;
  EXPECT_TRUE(h.at(t + 5 * kMin, {obs("other", "torn", 164)}).empty());
  EXPECT_TRUE(h.at(t + 10 * kMin - 1, {obs("other", "torn", 164)}).empty());
  EXPECT_EQ(h.alert(torn).phase, AlertPhase::Firing);
  EXPECT_EQ(h.at(t + 15 * kMin, {obs("other", "torn", 164)})[0].kind, NotificationKind::Resolve);
  // A reset (the counter restarted from zero) that counts up again is an increase too.
  EXPECT_EQ(h.at(t + 16 * kMin, {obs("other", "torn", 10)}).size(), 1u);
  // The counter's memory survives while the subject is not observed for a while.
  h.at(t + 17 * kMin, {});
  EXPECT_EQ(*h.state.tracks.at({"torn", "torn"}).counter, 10);
}

TEST(Kinds, CounterRateIsPerSecondBetweenObservations) {
  Harness h = test_harness();
  const std::string id = alert_id("rate", "binlog", Severity::Warning);
  EXPECT_TRUE(h.step({obs("bytes", "binlog", 1000)}).empty());
  EXPECT_TRUE(h.at(h.now + 10 * kSec, {obs("bytes", "binlog", 1900)}).empty());  // 90/s
  const auto n = h.at(h.now + 10 * kSec, {obs("bytes", "binlog", 3000)});        // 110/s
  ASSERT_EQ(n.size(), 1u);
  EXPECT_DOUBLE_EQ(h.alert(id).value, 110);
  EXPECT_EQ(n[0].annotations.at("value"), "110");
  // A second observation in the same millisecond has no rate and changes nothing.
  EXPECT_TRUE(h.step({obs("bytes", "binlog", 999999)}).empty());
  EXPECT_EQ(*h.state.tracks.at({"rate", "binlog"}).counter, 3000);
}

TEST(Kinds, TableSurgeIsRateOverBaselineWithAFloor) {
  Harness h(default_alert_policy());
  const std::string id = alert_id("table-write-surge", "shop.orders", Severity::Warning);
  auto rates = [](double five_m, double one_h) {
    return std::vector<Observation>{
        obs("binwatch_table_write_rate_bytes_per_second", "shop.orders", five_m, {{"window", "5m"}, {"schema", "shop"}}),
        obs("binwatch_table_write_rate_bytes_per_second", "shop.orders", one_h, {{"window", "1h"}, {"schema", "shop"}}),
        obs("binwatch_table_write_rate_bytes_per_second", "shop.orders", five_m, {{"window", "1m"}})};
  };
  // 20x but under min_value (1 MiB/s): no surge.
  h.step(rates(20000, 1000));
  EXPECT_TRUE(h.state.alerts.empty());
  // 20 MiB/s over 1 MiB/s: pending, fires after for = 2m.
  h.at(h.now + kMin, rates(20 << 20, 1 << 20));
  EXPECT_EQ(alert_status(h.alert(id)), "pending");
  EXPECT_DOUBLE_EQ(h.alert(id).value, 20);
  EXPECT_EQ(h.alert(id).labels.at("schema"), "shop");
  const auto n = h.at(h.now + 2 * kMin, rates(20 << 20, 1 << 20));
  ASSERT_FALSE(n.empty());
  EXPECT_EQ(n[0].summary, "shop.orders writes 20.0x its hourly binlog rate");
  // 7x: under 10 but above the clear ratio 5: still firing; 4x: clearing.
  h.at(h.now + kMin, rates(7 << 20, 1 << 20));
  EXPECT_FALSE(h.alert(id).clear_since_ms);
  h.at(h.now + kMin, rates(4 << 20, 1 << 20));
  EXPECT_TRUE(h.alert(id).clear_since_ms);
  // Without a baseline observation there is no ratio.
  Harness lone(default_alert_policy());
  lone.step({obs("binwatch_table_write_rate_bytes_per_second", "a.b", 50 << 20, {{"window", "5m"}})});
  EXPECT_TRUE(lone.state.alerts.empty());
}

TEST(Kinds, TimeToFullPrefersBurstWithAndFallsBack) {
  Harness h(default_alert_policy());
  const std::string crit = alert_id("partition-time-to-full", "/data", Severity::Critical);
  // burst=with says 30 min, burst=without says 5 h: the preferred one counts.
  h.step({obs("binwatch_partition_time_to_full_seconds", "/data", 1800, {{"burst", "with"}}),
          obs("binwatch_partition_time_to_full_seconds", "/data", 5 * 3600, {{"burst", "without"}})});
  EXPECT_EQ(h.alert(crit).band, "<1h");
  // Only burst=without known (control plane down): it is used.
  Harness h2(default_alert_policy());
  h2.step({obs("binwatch_partition_time_to_full_seconds", "/data", 2 * 3600, {{"burst", "without"}})});
  EXPECT_EQ(h2.state.alerts.size(), 1u);
  EXPECT_EQ(h2.state.alerts.begin()->second.band, "<4h");
}

TEST(Kinds, UnderTwoPercentFreeIsAnEmergencyWhateverTheProjection) {
  Harness h(default_alert_policy());
  const std::string rule = "partition-time-to-full";
  const std::string emerg = alert_id(rule, "/binlog", Severity::Emergency);
  const std::string warn = alert_id(rule, "/binlog", Severity::Warning);
  h.step(mount("/binlog", kInf, 1.5, 100));  // not growing, but 1.5% free
  const auto n = h.at(h.now + 30 * kSec, mount("/binlog", kInf, 1.5, 100));
  // One page, for the emergency: the warning and critical alerts exist but are shadowed.
  EXPECT_EQ(receivers(n), (Set{"log", "oncall"}));
  for (const auto& x : n) EXPECT_EQ(x.alert_id, emerg);
  EXPECT_EQ(n[0].annotations.at("free_percent"), "1.50");
  EXPECT_EQ(n[0].band, "<10m");
  EXPECT_TRUE(h.alert(warn).shadowed);
  EXPECT_EQ(h.alert(warn).phase, AlertPhase::Firing);
  // 2.5% is above free_below but under free_clear (3%): still held.
  h.at(h.now + kMin, mount("/binlog", kInf, 2.5, 100));
  EXPECT_FALSE(h.alert(emerg).clear_since_ms);
  h.at(h.now + kMin, mount("/binlog", kInf, 3.5, 100));
  EXPECT_TRUE(h.alert(emerg).clear_since_ms);
}

TEST(Kinds, NetFindingsBecomeObservations) {
  std::vector<net::Finding> f(2);
  f[0].severity = net::Severity::Critical;
  f[0].rule_id = "paws-storm";
  f[0].counter = "TcpExtPAWSEstab";
  f[1].severity = net::Severity::Warning;
  f[1].rule_id = "listen-overflows";
  Harness h(default_alert_policy());
  h.step(observations_from_net_findings(f));
  EXPECT_EQ(h.alert(alert_id("net-counters", "paws-storm", Severity::Critical)).labels.at("counter"), "TcpExtPAWSEstab");
  EXPECT_TRUE(h.state.alerts.count(alert_id("net-counters", "listen-overflows", Severity::Warning)));
  EXPECT_FALSE(h.state.alerts.count(alert_id("net-counters", "listen-overflows", Severity::Critical)));
}

// ---------------------------------------------------------------------------------------------
// SoundCloud: "the host-based disk space check was previously acknowledged because we had an
// unrelated partition fill on the same host". With the default policy: mounts A and B.

TEST(SoundCloud, AnAcknowledgementOfOneMountNeverSilencesAnother) {
  Harness h(default_alert_policy());
  const std::string rule = "partition-time-to-full", A = "/var/lib/mysql", B = "/var/lib/mysql-binlog";
  const std::string a_warn = alert_id(rule, A, Severity::Warning), a_crit = alert_id(rule, A, Severity::Critical);
  const std::string b_warn = alert_id(rule, B, Severity::Warning), b_crit = alert_id(rule, B, Severity::Critical);
  const int64_t T = h.now;

  // A fills slowly (3 h to full): a warning after for = 30s, paged to tier 0.
  EXPECT_TRUE(h.at(T, mount(A, 3 * 3600) + mount(B, kInf)).empty());
  auto n = h.at(T + 30 * kSec, mount(A, 3 * 3600) + mount(B, kInf));
  EXPECT_EQ(receivers(only(n, a_warn, NotificationKind::Trigger)), (Set{"log", "oncall"}));
  EXPECT_EQ(n.size(), 2u);
  const std::string a_warn_key = h.alert(a_warn).dedup_key;

  // The on-call acknowledges A for 2 h: an expected fill.
  h.now = T + kMin;
  AckOutcome ok = h.ack(a_warn, 2 * kHour, "alice", "datadir import, expected");
  ASSERT_TRUE(ok.ok()) << ok.error->message;
  EXPECT_EQ(receivers(only(ok.notifications, a_warn, NotificationKind::Acknowledge)), (Set{"log", "oncall"}));
  EXPECT_EQ(alert_status(h.alert(a_warn)), "acknowledged");

  // The binlog mount B starts filling (50 min to full): B pages, A's acknowledgement is no help.
  EXPECT_TRUE(h.at(T + 5 * kMin, mount(A, 3 * 3600) + mount(B, 50 * 60)).empty());  // pending (for = 30s)
  n = h.at(T + 5 * kMin + 30 * kSec, mount(A, 3 * 3600) + mount(B, 50 * 60));
  EXPECT_EQ(receivers(only(n, b_crit, NotificationKind::Trigger)), (Set{"log", "oncall"}));
  EXPECT_TRUE(only(n, b_warn).empty());  // shadowed by B's critical: one page per mount
  for (const auto& x : n) EXPECT_EQ(x.subject, B);
  EXPECT_EQ(n.size(), 2u);

  // A worsens to critical (45 min): a new alert id, paged despite the warning's acknowledgement.
  EXPECT_TRUE(only(h.at(T + 10 * kMin, mount(A, 45 * 60) + mount(B, 50 * 60)), a_crit).empty());
  n = h.at(T + 10 * kMin + 30 * kSec, mount(A, 45 * 60) + mount(B, 50 * 60));
  const auto a_crit_pages = only(n, a_crit, NotificationKind::Trigger);
  EXPECT_EQ(receivers(a_crit_pages), (Set{"log", "oncall"}));
  ASSERT_FALSE(a_crit_pages.empty());
  EXPECT_NE(a_crit_pages[0].dedup_key, a_warn_key);
  EXPECT_TRUE(only(n, a_warn).empty());
  EXPECT_EQ(alert_status(h.alert(a_warn)), "acknowledged");  // still visible as acknowledged
  EXPECT_TRUE(h.alert(a_warn).shadowed);

  // A's critical is acknowledged for the default 30 min...
  h.now = T + 11 * kMin;
  ok = h.ack(a_crit, std::nullopt, "bob", "purging old binlogs");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(h.alert(a_crit).ack->expires_ms, T + 41 * kMin);
  const std::string a_crit_key = h.alert(a_crit).dedup_key;

  // ... and expires while A is still filling: A pages again, one tier higher, with a dedup_key
  // the acknowledged incident cannot absorb.
  EXPECT_TRUE(only(h.at(T + 41 * kMin - 1, mount(A, 45 * 60) + mount(B, 50 * 60)), a_crit).empty());
  n = h.at(T + 41 * kMin, mount(A, 45 * 60) + mount(B, 50 * 60));
  const auto repage = only(n, a_crit, NotificationKind::Trigger);
  EXPECT_EQ(receivers(repage), (Set{"log", "oncall", "secondary"}));
  for (const auto& x : repage) {
    EXPECT_EQ(x.tier, 1u);
    EXPECT_NE(x.dedup_key, a_crit_key);
    EXPECT_NE(x.annotations.at("reason").find("expired"), std::string::npos);
  }
  EXPECT_EQ(h.alert(a_crit).tier, 1u);
  EXPECT_EQ(alert_status(h.alert(a_crit)), "firing");

  // Both mounts recover; 10 min later (clear_for) everyone who was paged hears it resolved,
  // about every dedup_key they were paged with.
  h.at(T + 42 * kMin, mount(A, kInf) + mount(B, kInf));
  EXPECT_TRUE(only(h.at(T + 52 * kMin - 1, mount(A, kInf) + mount(B, kInf)), a_crit, NotificationKind::Resolve).empty());
  n = h.at(T + 52 * kMin, mount(A, kInf) + mount(B, kInf));
  const auto a_crit_resolves = only(n, a_crit, NotificationKind::Resolve);
  EXPECT_EQ(receivers(a_crit_resolves), (Set{"log", "oncall", "secondary"}));
  EXPECT_EQ(a_crit_resolves.size(), 6u);  // 3 receivers x 2 dedup_keys
  EXPECT_EQ(receivers(only(n, a_warn, NotificationKind::Resolve)), (Set{"log", "oncall"}));
  // B was escalated to secondary at +15 min and reminded at +30 min before it resolved.
  EXPECT_EQ(receivers(only(n, b_crit, NotificationKind::Resolve)), (Set{"log", "oncall", "secondary"}));
  EXPECT_TRUE(only(n, b_warn).empty());  // never paged, resolves silently
  EXPECT_TRUE(h.state.alerts.empty());
  std::set<std::string> ids;
  for (const auto& x : n) EXPECT_TRUE(ids.insert(x.id).second) << "duplicate notification id " << x.id;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements

TEST(Ack, ABandThatShrankPagesAtOnceAsATrigger) {
  // ">4h"-class acknowledged (band "<4h"), now "<1h": same severity in this policy, still a page.
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/binlog", Severity::Warning);
  h.step({obs("ttf", "/binlog", 3 * 3600)});
  const std::string first_key = h.alert(id).dedup_key;
  EXPECT_EQ(h.alert(id).band, "<4h");
  h.now += kMin;
  ASSERT_TRUE(h.ack(id, 4 * kHour).ok());
  EXPECT_EQ(h.alert(id).ack->band, "<4h");
  const auto n = h.at(h.now + kMin, {obs("ttf", "/binlog", 50 * 60)});
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].kind, NotificationKind::Trigger);
  EXPECT_EQ(n[0].alert_id, id);  // the same alert ...
  EXPECT_EQ(n[0].band, "<1h");
  EXPECT_NE(n[0].dedup_key, first_key);  // ... in a new incident
  EXPECT_NE(n[0].annotations.at("reason").find("worse than the acknowledged band <4h"), std::string::npos);
  EXPECT_FALSE(h.alert(id).ack);
}

TEST(Ack, AMilderBandStaysCovered) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/binlog", Severity::Warning);
  h.step({obs("ttf", "/binlog", 50 * 60)});
  h.now += kMin;
  ASSERT_TRUE(h.ack(id, 4 * kHour).ok());
  EXPECT_TRUE(h.at(h.now + kMin, {obs("ttf", "/binlog", 3 * 3600)}).empty());
  EXPECT_EQ(h.alert(id).band, "<4h");
  EXPECT_TRUE(h.at(h.now + kMin, {obs("ttf", "/binlog", 50 * 60)}).empty());  // back to the acknowledged band
  EXPECT_EQ(alert_status(h.alert(id)), "acknowledged");
  // Two hours later, still acknowledged: no reminders, no escalation.
  EXPECT_TRUE(h.at(h.now + 2 * kHour, {obs("ttf", "/binlog", 50 * 60)}).empty());
  EXPECT_EQ(h.alert(id).tier, 0u);
}

TEST(Ack, ExpiryWhileActivePagesAndClimbsTheLadder) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/binlog", Severity::Warning);
  const int64_t T = h.now;
  ASSERT_EQ(h.step({obs("ttf", "/binlog", 3 * 3600)}).size(), 1u);
  h.now = T + kMin;
  ASSERT_TRUE(h.ack(id, std::nullopt).ok());
  EXPECT_TRUE(h.at(T + 31 * kMin - 1, {obs("ttf", "/binlog", 3 * 3600)}).empty());
  auto n = h.at(T + 31 * kMin, {obs("ttf", "/binlog", 3 * 3600)});
  EXPECT_EQ(receivers(n), (Set{"pager", "secondary"}));
  for (const auto& x : n) {
    EXPECT_EQ(x.kind, NotificationKind::Trigger);
    EXPECT_EQ(x.tier, 1u);
    EXPECT_EQ(x.dedup_key, id + ":<4h:1");  // generation 1
  }
  // The ladder goes on from tier 1: tier 2 is due 30 min later (45m - 15m), not at once.
  EXPECT_TRUE(h.at(T + 61 * kMin - 1, {obs("ttf", "/binlog", 3 * 3600)}).empty());
  n = h.at(T + 61 * kMin, {obs("ttf", "/binlog", 3 * 3600)});
  // "pager" is in tier 2 too but was paged already; the reminder (30m after the re-page) goes to both.
  EXPECT_EQ(receivers(only(n, id, NotificationKind::Escalation)), (Set{"lead"}));
  EXPECT_EQ(receivers(only(n, id, NotificationKind::Reminder)), (Set{"pager", "secondary", "lead"}));
  EXPECT_EQ(h.alert(id).tier, 2u);
  // An expiry at the top of the ladder re-pages everyone at the top tier.
  h.now += kMin;
  ASSERT_TRUE(h.ack(id, 10 * kMin).ok());
  n = h.at(h.now + 10 * kMin, {obs("ttf", "/binlog", 3 * 3600)});
  EXPECT_EQ(receivers(only(n, id, NotificationKind::Trigger)), (Set{"pager", "secondary", "lead"}));
  EXPECT_EQ(h.alert(id).tier, 2u);
  EXPECT_EQ(h.alert(id).generation, 2u);
}

TEST(Ack, ExpiryAfterTheAlertResolvedPagesNobody) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/x", Severity::Warning);
  h.step({obs("ttf", "/x", 3 * 3600)});
  ASSERT_TRUE(h.ack(id, 10 * kMin).ok());
  const auto resolved = h.at(h.now + 5 * kMin, {obs("ttf", "/x", kInf)});
  EXPECT_TRUE(resolved.empty());  // clearing, not yet resolved (clear_for 5m)
  const auto n = h.at(h.now + 6 * kMin, {obs("ttf", "/x", kInf)});
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].kind, NotificationKind::Resolve);
  EXPECT_TRUE(h.at(h.now + kHour, {obs("ttf", "/x", kInf)}).empty());
}

TEST(Ack, RefusesLongTtlsUnknownIdsAndMissingFields) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/x", Severity::Warning);
  h.step({obs("ttf", "/x", 3 * 3600)});
  const AlertState before = h.state;

  AckOutcome r = policy::ack(h.policy, h.state, id, 13 * kHour, "alice", "weekend", h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, AckError::Kind::TtlTooLong);
  EXPECT_EQ(r.error->message, "ack " + id + ": ttl: 13h is longer than the policy's maximum 12h (ack.max_ttl); "
                                             "acknowledge again later instead");
  EXPECT_EQ(r.state, before);
  EXPECT_TRUE(r.notifications.empty());

  r = policy::ack(h.policy, h.state, "0123456789ab", std::nullopt, "alice", "x", h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, AckError::Kind::UnknownAlert);
  EXPECT_EQ(r.error->alert_id, "0123456789ab");
  EXPECT_EQ(r.error->message, "ack 0123456789ab: no active alert has this id (`binwatch alerts` lists them)");

  r = policy::ack(h.policy, h.state, id, 0, "alice", "x", h.now);
  EXPECT_EQ(r.error->kind, AckError::Kind::BadTtl);
  r = policy::ack(h.policy, h.state, id, std::nullopt, "", "x", h.now);
  EXPECT_EQ(r.error->kind, AckError::Kind::MissingBy);
  r = policy::ack(h.policy, h.state, id, std::nullopt, "alice", "", h.now);
  EXPECT_EQ(r.error->kind, AckError::Kind::MissingReason);
  r = unack(h.policy, h.state, id, "alice", h.now);
  EXPECT_EQ(r.error->kind, AckError::Kind::NotAcknowledged);
  EXPECT_EQ(r.error->message, "unack " + id + ": the alert is not acknowledged");
  EXPECT_EQ(h.state, before);

  // Exactly the maximum is fine.
  r = policy::ack(h.policy, h.state, id, 12 * kHour, "alice", "x", h.now);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.state.alerts.at(id).ack->expires_ms, h.now + 12 * kHour);
}

TEST(Ack, UnackPagesAgainWithANewDedupKey) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/x", Severity::Warning);
  h.step({obs("ttf", "/x", 3 * 3600)});
  const std::string key = h.alert(id).dedup_key;
  ASSERT_TRUE(h.ack(id, kHour).ok());
  const AckOutcome r = unack(h.policy, h.state, id, "carol", h.now + kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].kind, NotificationKind::Trigger);
  EXPECT_EQ(r.notifications[0].receiver, "pager");
  EXPECT_NE(r.notifications[0].dedup_key, key);
  EXPECT_EQ(r.notifications[0].annotations.at("reason"), "the acknowledgement by alice was withdrawn by carol");
  EXPECT_EQ(r.state.alerts.at(id).tier, 0u);  // withdrawing does not climb
  EXPECT_FALSE(r.state.alerts.at(id).ack);
}

TEST(Ack, AcknowledgingAPendingAlertCoversItsFiring) {
  Harness h = test_harness();
  const std::string id = alert_id("lag", "r", Severity::Warning);
  h.step({obs("lag", "r", 400)});
  const AckOutcome r = h.ack(id, kHour, "dave", "maintenance on r");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.notifications.empty());  // nobody was paged yet
  EXPECT_TRUE(h.at(h.now + 5 * kMin, {obs("lag", "r", 400)}).empty());
  EXPECT_EQ(alert_status(h.alert(id)), "acknowledged");
  EXPECT_EQ(h.alert(id).phase, AlertPhase::Firing);
  // When it expires, the page that never went out goes out.
  const auto n = h.at(h.now + kHour, {obs("lag", "r", 400)});
  EXPECT_EQ(receivers(only(n, id, NotificationKind::Trigger)), (Set{"pager", "secondary"}));
}

// ---------------------------------------------------------------------------------------------
// Ladder, reminders, shadowing

TEST(Ladder, RemindersAtTheRepeatIntervalAndEscalationByTier) {
  Harness h = test_harness();
  const std::string id = alert_id("ttf", "/x", Severity::Warning);
  const int64_t T = h.now;
  ASSERT_EQ(h.step({obs("ttf", "/x", 3 * 3600)}).size(), 1u);
  std::vector<Notification> all;
  for (int64_t t = T + kMin; t <= T + 95 * kMin; t += kMin) {
    for (auto& n : h.at(t, {obs("ttf", "/x", 3 * 3600)})) all.push_back(std::move(n));
  }
  std::vector<std::pair<int64_t, std::string>> seen;
  for (const auto& n : all) {
    seen.emplace_back((n.created_at * 1000 - T) / kMin,
                      std::string(alerts::notification_kind_name(n.kind)) + " " + n.receiver);
  }
  const std::vector<std::pair<int64_t, std::string>> expected = {
      {15, "escalation secondary"}, {30, "reminder pager"},     {30, "reminder secondary"},
      {45, "escalation lead"},      {60, "reminder pager"},     {60, "reminder secondary"},
      {60, "reminder lead"},        {90, "reminder pager"},     {90, "reminder secondary"},
      {90, "reminder lead"}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(h.alert(id).tier, 2u);
  EXPECT_EQ(h.alert(id).paged, (std::vector<std::string>{"pager", "secondary", "lead"}));
}

TEST(Ladder, ALowerSeverityStillFiringPagesWhenTheHigherResolves) {
  Harness h = test_harness();
  const std::string warn = alert_id("ttf", "/x", Severity::Warning), crit = alert_id("ttf", "/x", Severity::Critical);
  auto n = h.step({obs("ttf", "/x", 5 * 60)});
  EXPECT_EQ(receivers(only(n, crit, NotificationKind::Trigger)), (Set{"pager"}));
  EXPECT_TRUE(only(n, warn).empty());
  // Back to 30 min: critical clears (5m), the warning stays and now pages for itself.
  h.at(h.now + kMin, {obs("ttf", "/x", 30 * 60)});
  n = h.at(h.now + 5 * kMin, {obs("ttf", "/x", 30 * 60)});
  EXPECT_EQ(only(n, crit, NotificationKind::Resolve).size(), 1u);
  const auto w = only(n, warn, NotificationKind::Trigger);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].band, "<1h");
  EXPECT_FALSE(h.alert(warn).shadowed);
}

TEST(Ladder, AlertsOfARuleRemovedFromThePolicyResolve) {
  Harness h = test_harness();
  h.step({obs("ttf", "/x", 3 * 3600)});
  AlertPolicy smaller = h.policy;
  smaller.rules.erase(smaller.rules.begin());  // "ttf"
  const AlertDecision d = decide(smaller, {obs("ttf", "/x", 3 * 3600)}, h.state, h.now + kMin);
  ASSERT_EQ(d.notifications.size(), 1u);
  EXPECT_EQ(d.notifications[0].kind, NotificationKind::Resolve);
  EXPECT_EQ(d.notifications[0].annotations.at("reason"), "rule removed from the policy");
  EXPECT_TRUE(d.state.alerts.empty());
  EXPECT_TRUE(d.state.tracks.empty());
}

// ---------------------------------------------------------------------------------------------
// A storm: 500 mounts at once. Rate limiting and grouping are delivery's; the policy must say
// exactly one Trigger per subject and receiver, and stay fast.

TEST(Storm, FiveHundredSubjectsFiveHundredTriggers) {
  Harness h(default_alert_policy());
  std::vector<Observation> filling, recovered;
  for (int i = 0; i < 500; ++i) {
    const std::string m = "/mnt/disk" + std::to_string(i);
    for (auto& o : mount(m, 5 * 60)) filling.push_back(std::move(o));
    for (auto& o : mount(m, kInf)) recovered.push_back(std::move(o));
  }
  // No timing here (speed belongs in benchmarks, not unit tests): decide() is linear in
  // observations + alerts by construction; ~14 ms for 500 subjects was measured by hand.
  auto timed = [&](int64_t t, const std::vector<Observation>& o) { return h.at(t, o); };
  const int64_t T = h.now;
  EXPECT_TRUE(timed(T, filling).empty());
  auto n = timed(T + 30 * kSec, filling);
  EXPECT_EQ(h.state.alerts.size(), 1500u);  // warning, critical, emergency per mount
  std::map<std::string, int> per_receiver;
  std::set<std::string> ids, subjects;
  for (const auto& x : n) {
    EXPECT_EQ(x.kind, NotificationKind::Trigger);
    EXPECT_EQ(x.severity, Severity::Emergency);
    ++per_receiver[x.receiver];
    ids.insert(x.id);
    subjects.insert(x.subject);
  }
  EXPECT_EQ(per_receiver, (std::map<std::string, int>{{"log", 500}, {"oncall", 500}}));
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(subjects.size(), 500u);
  EXPECT_TRUE(timed(T + kMin, filling).empty());
  timed(T + 2 * kMin, recovered);
  n = timed(T + 12 * kMin, recovered);
  EXPECT_EQ(n.size(), 1000u);
  for (const auto& x : n) EXPECT_EQ(x.kind, NotificationKind::Resolve);
  EXPECT_TRUE(h.state.alerts.empty());
}

// ---------------------------------------------------------------------------------------------
// State serialisation

TEST(State, JsonRoundTripAndTheSameDecisionsAfterwards) {
  Harness h(default_alert_policy());
  const std::string A = "/a", B = "/b";
  auto world = [&](double a_ttf) {
    return mount(A, a_ttf) + mount(B, 5 * 60, 1, 100) +
           std::vector<Observation>{obs("binwatch_binlog_other_bytes_total", "torn", 10),
                                    obs("binwatch_replica_lag_seconds", "replica1", 400)};
  };
  h.step(world(3 * 3600));
  h.at(h.now + kMin, world(3 * 3600));
  ASSERT_TRUE(h.ack(alert_id("partition-time-to-full", A, Severity::Warning), kHour, "alice", "ok \"quoted\" ü").ok());
  h.at(h.now + kMin, world(kInf));  // A clearing
  // Covers: firing, pending (replica lag), acknowledged, shadowed, clearing, counter memory.
  ASSERT_GE(h.state.alerts.size(), 4u);
  const nlohmann::json j = alert_state_to_json(h.state);
  const AlertState back = alert_state_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back, h.state);
  EXPECT_EQ(alert_state_to_json(back), j);
  // A value of +Inf survives as "+Inf".
  AlertState inf = h.state;
  inf.alerts.begin()->second.value = kInf;
  EXPECT_EQ(alert_state_from_json(nlohmann::json::parse(alert_state_to_json(inf).dump())), inf);
  // Continuing from the copy decides exactly what continuing from the original decides.
  const int64_t later = h.now + 40 * kMin;
  const AlertDecision d1 = decide(h.policy, world(3 * 3600), h.state, later);
  const AlertDecision d2 = decide(h.policy, world(3 * 3600), back, later);
  EXPECT_FALSE(d1.notifications.empty());
  ASSERT_EQ(d1.notifications.size(), d2.notifications.size());
  for (size_t i = 0; i < d1.notifications.size(); ++i) {
    EXPECT_EQ(d1.notifications[i].id, d2.notifications[i].id);
    EXPECT_EQ(d1.notifications[i].dedup_key, d2.notifications[i].dedup_key);
  }
  EXPECT_EQ(d1.state, d2.state);
}

TEST(State, ReadingErrorsSayWhere) {
  Harness h = test_harness();
  h.step({obs("ttf", "/x", 3 * 3600)});
  nlohmann::json j = alert_state_to_json(h.state);
  auto error = [](const nlohmann::json& doc) -> std::string {
    try {
      alert_state_from_json(doc);
    } catch (const PolicyError& e) {
      return e.what();
    }
    return "(no error)";
  };
  nlohmann::json bad = j;
  bad["version"] = 2;
  EXPECT_EQ(error(bad), "alert state: version: is 2; this binwatch reads version 1");
  bad = j;
  bad["alerts"][0]["ack"] = {{"by", "x"}};
  EXPECT_EQ(error(bad), "alert state: alerts[0].ack.reason: is missing");
  bad = j;
  bad["alerts"][0]["tier"] = "one";
  EXPECT_EQ(error(bad), "alert state: alerts[0].tier: must be an integer");
  bad = j;
  bad["alerts"][0]["subject"] = "/y";
  EXPECT_EQ(error(bad), "alert state: alerts[0].id: does not match rule, subject and severity");
  EXPECT_EQ(error(nlohmann::json::array()), "alert state: document: must be an object");
}

}  // namespace
}  // namespace binwatch::policy
