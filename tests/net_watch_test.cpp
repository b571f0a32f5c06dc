// Watchers with a fake clock: nstat reset semantics, baseline learning, and each rule of the
// default policy firing and not firing; policy TOML errors; sysctl-check on the snapshots.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "binwatch/net/net_policy.h"
#include "binwatch/net/net_watch.h"
#include "binwatch/net/netstat_view.h"
#include "binwatch/net/procfs_reader.h"
#include "binwatch/net/sysctl_check.h"

namespace binwatch::net {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/procfs";

// Feeds observations at t = 0, 1, 2, ... seconds (the fake clock).
struct Feed {
  NetPolicy policy = default_net_policy();
  WatchState state;
  double t = 0;
  std::optional<std::string> route = "eth0";  // the default route's interface (/proc/net/route)
  std::vector<Finding> step(const procfs::CounterMap& values, std::optional<bool> conntrack = std::nullopt,
                            std::optional<std::vector<Listener>> listeners = std::nullopt) {
    Observation o;
    o.time = t;
    o.values = values;
    o.conntrack_active = conntrack;
    o.conntrack_evidence = "test";
    o.default_route_interface = route;
    o.listeners = std::move(listeners);
    auto d = decide(policy, o, state);
    state = d.next;
    t += 1;
    return d.findings;
  }
};

const Finding* find(const std::vector<Finding>& v, std::string_view id) {
  for (const auto& f : v) {
    if (f.rule_id == id) return &f;
  }
  return nullptr;
}

TEST(Rates, ResetIsNotNegative) {
  auto r = compute_rates({{"TcpExtPAWSEstab", 1000}, {"TcpInSegs", 10}}, {{"TcpExtPAWSEstab", 30}, {"TcpInSegs", 20}}, 2);
  EXPECT_TRUE(r.at("TcpExtPAWSEstab").reset);
  EXPECT_EQ(r.at("TcpExtPAWSEstab").delta, 30);  // restarted from zero
  EXPECT_DOUBLE_EQ(r.at("TcpExtPAWSEstab").rate, 15);
  EXPECT_FALSE(r.at("TcpInSegs").reset);
  EXPECT_DOUBLE_EQ(r.at("TcpInSegs").rate, 5);
}

TEST(Rates, GaugesAndNewCountersHaveNoRate) {
  auto r = compute_rates({{"sockstat.TCP.tw", 5}}, {{"sockstat.TCP.tw", 9}, {"TcpExtNew", 3}}, 1);
  EXPECT_TRUE(r.empty());
}

TEST(Rules, FirstSampleHasNoRateFindings) {
  Feed f;
  EXPECT_TRUE(f.step({{"TcpExtListenOverflows", 1'000'000}}).empty());
}

TEST(Rules, ListenOverflowsFireOnSecondSampleNotWhenFlat) {
  Feed f;
  f.step({{"TcpExtListenOverflows", 100}});
  EXPECT_EQ(find(f.step({{"TcpExtListenOverflows", 100}}), "listen-overflows"), nullptr);
  auto out = f.step({{"TcpExtListenOverflows", 105}});
  const Finding* x = find(out, "listen-overflows");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->severity, Severity::Warning);
  EXPECT_DOUBLE_EQ(x->value, 5);
  auto crit = f.step({{"TcpExtListenOverflows", 1105}});
  EXPECT_EQ(find(crit, "listen-overflows")->severity, Severity::Critical);
}

TEST(Rules, CounterResetDoesNotFireNegativeOrHuge) {
  Feed f;
  f.step({{"TcpExtListenOverflows", 5'000'000}});
  auto out = f.step({{"TcpExtListenOverflows", 0}});  // reboot/namespace re-created
  EXPECT_EQ(find(out, "listen-overflows"), nullptr);
}

TEST(Rules, PawsStormAbsoluteAndWildcardAckSkipped) {
  Feed f;
  f.step({{"TcpExtPAWSEstab", 0}, {"TcpExtPAWSActive", 0}, {"TcpExtTCPACKSkippedPAWS", 0},
          {"TcpExtTCPACKSkippedSeq", 0}});
  auto quiet = f.step({{"TcpExtPAWSEstab", 35}, {"TcpExtPAWSActive", 0}, {"TcpExtTCPACKSkippedPAWS", 10},
                       {"TcpExtTCPACKSkippedSeq", 10}});
  EXPECT_EQ(find(quiet, "paws-storm"), nullptr);  // 35/s: Mixpanel's normal
  EXPECT_EQ(find(quiet, "ack-skipped-storm"), nullptr);
  auto storm = f.step({{"TcpExtPAWSEstab", 35 + 5000}, {"TcpExtPAWSActive", 0},
                       {"TcpExtTCPACKSkippedPAWS", 10 + 150}, {"TcpExtTCPACKSkippedSeq", 10 + 150}});
  ASSERT_NE(find(storm, "paws-storm"), nullptr);
  EXPECT_EQ(find(storm, "paws-storm")->severity, Severity::Critical);
  ASSERT_NE(find(storm, "ack-skipped-storm"), nullptr);  // 150 + 150 summed over the wildcard
  EXPECT_DOUBLE_EQ(find(storm, "ack-skipped-storm")->value, 300);
}

TEST(Rules, BaselineLearnsThenRatioFires) {
  Feed f;
  int64_t v = 0;
  f.step({{"TcpExtTCPTimeouts", v}});
  // 40 quiet samples at 10/s: learning, nothing fires (absolute warn is 100/s).
  for (int i = 0; i < 40; ++i) {
    v += 10;
    EXPECT_EQ(find(f.step({{"TcpExtTCPTimeouts", v}}), "tcp-timeouts"), nullptr) << i;
  }
  const Baseline& b = f.state.baselines.at("tcp-timeouts");
  EXPECT_NEAR(b.mean, 10, 1e-9);
  EXPECT_EQ(b.samples, 40u);
  // 60/s: under the absolute threshold but 6x the baseline (rule: 5x) -> fires.
  v += 60;
  auto out = f.step({{"TcpExtTCPTimeouts", v}});
  const Finding* x = find(out, "tcp-timeouts");
  ASSERT_NE(x, nullptr);
  EXPECT_NE(x->message.find("baseline"), std::string::npos);
  // While out of band the baseline moves only slowly (out_of_band_alpha).
  EXPECT_LT(f.state.baselines.at("tcp-timeouts").mean, 11);
  // 40/s: 4x, inside the band.
  v += 40;
  EXPECT_EQ(find(f.step({{"TcpExtTCPTimeouts", v}}), "tcp-timeouts"), nullptr);
}

TEST(Rules, BaselineNeedsMinSamples) {
  Feed f;
  int64_t v = 0;
  f.step({{"TcpExtTCPTimeouts", v}});
  for (int i = 0; i < 5; ++i) f.step({{"TcpExtTCPTimeouts", v += 1}});
  // 60/s is 60x the baseline, but only 5 samples are learned (min_samples 30).
  EXPECT_EQ(find(f.step({{"TcpExtTCPTimeouts", v + 60}}), "tcp-timeouts"), nullptr);
}

TEST(Rules, RetransmitRatio) {
  Feed f;
  f.step({{"TcpRetransSegs", 0}, {"TcpOutSegs", 0}});
  EXPECT_EQ(find(f.step({{"TcpRetransSegs", 10}, {"TcpOutSegs", 1000}}), "retransmit-ratio"), nullptr);
  auto out = f.step({{"TcpRetransSegs", 10 + 100}, {"TcpOutSegs", 1000 + 1000}});
  ASSERT_NE(find(out, "retransmit-ratio"), nullptr);
  EXPECT_DOUBLE_EQ(find(out, "retransmit-ratio")->value, 0.1);
  // Too little traffic to judge (min_denominator_rate 100/s).
  EXPECT_EQ(find(f.step({{"TcpRetransSegs", 120}, {"TcpOutSegs", 2010}}), "retransmit-ratio"), nullptr);
}

TEST(Rules, TrafficRatioBand) {
  Feed f;
  f.step({{"dev.eth0.tx_bytes", 0}, {"dev.eth0.rx_bytes", 0}});
  EXPECT_EQ(find(f.step({{"dev.eth0.tx_bytes", 4'400'000}, {"dev.eth0.rx_bytes", 1'000'000}}),
                 "default-route-out-over-in"), nullptr);  // Boundary's normal 4.4x
  auto leak = f.step({{"dev.eth0.tx_bytes", 4'400'000 + 30'000'000}, {"dev.eth0.rx_bytes", 2'000'000}});
  ASSERT_NE(find(leak, "default-route-out-over-in"), nullptr);
  EXPECT_DOUBLE_EQ(find(leak, "default-route-out-over-in")->value, 30);
  EXPECT_EQ(find(leak, "default-route-out-over-in")->counter, "dev.eth0.tx_bytes/dev.eth0.rx_bytes");
}

TEST(Rules, TrafficRatioFollowsTheDefaultRoute) {
  // eth0 is idle, the traffic leaves through ens5 where the default route points.
  const procfs::CounterMap before = {{"dev.eth0.tx_bytes", 0}, {"dev.eth0.rx_bytes", 0},
                                     {"dev.ens5.tx_bytes", 0}, {"dev.ens5.rx_bytes", 0}};
  const procfs::CounterMap leak = {{"dev.eth0.tx_bytes", 1'000}, {"dev.eth0.rx_bytes", 1'000'000},
                                   {"dev.ens5.tx_bytes", 50'000'000}, {"dev.ens5.rx_bytes", 1'000'000}};
  Feed f;
  f.route = "ens5";
  f.step(before);
  auto out = f.step(leak);
  ASSERT_NE(find(out, "default-route-out-over-in"), nullptr);
  EXPECT_EQ(find(out, "default-route-out-over-in")->counter, "dev.ens5.tx_bytes/dev.ens5.rx_bytes");
  EXPECT_DOUBLE_EQ(find(out, "default-route-out-over-in")->value, 50);

  // The same counters with the default route on eth0: 0.001 is under the band's 0.01.
  Feed e;
  e.step(before);
  auto low = e.step(leak);
  ASSERT_NE(find(low, "default-route-out-over-in"), nullptr);
  EXPECT_EQ(find(low, "default-route-out-over-in")->counter, "dev.eth0.tx_bytes/dev.eth0.rx_bytes");

  // No default route: the rule does nothing, whatever the interfaces do, and nothing else fires.
  Feed none;
  none.route = std::nullopt;
  EXPECT_TRUE(none.step(before).empty());
  EXPECT_TRUE(none.step(leak).empty());
  // The route can change between samples (a failover): the rule follows it.
  none.route = "ens5";
  auto after = none.step({{"dev.eth0.tx_bytes", 2'000}, {"dev.eth0.rx_bytes", 2'000'000},
                          {"dev.ens5.tx_bytes", 100'000'000}, {"dev.ens5.rx_bytes", 2'000'000}});
  ASSERT_NE(find(after, "default-route-out-over-in"), nullptr);
  EXPECT_DOUBLE_EQ(find(after, "default-route-out-over-in")->value, 50);
}

TEST(Policy, DefaultRoutePlaceholder) {
  EXPECT_EQ(resolve_counter_pattern("dev.@default-route.tx_bytes", std::string("bond0")), "dev.bond0.tx_bytes");
  EXPECT_EQ(resolve_counter_pattern("dev.@default-route.tx_bytes", std::nullopt), std::nullopt);
  EXPECT_EQ(resolve_counter_pattern("TcpExtPAWSEstab", std::nullopt), "TcpExtPAWSEstab");
  // A misspelt placeholder is an error, not a rule that silently matches nothing.
  try {
    (void)parse_net_policy("[[ratio]]\nid = \"r\"\nnumerator = [\"dev.@default_route.tx_bytes\"]\n"
                           "denominator = [\"dev.eth0.rx_bytes\"]\nmax = 2\n",
                           "t.toml");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("dev.@default_route.tx_bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_net_policy("[[fill]]\nid = \"f\"\nvalue = \"@x\"\nlimit = \"y\"\nwarn = 1\n", "t.toml"),
               std::runtime_error);
  // The default policy's traffic rule names no interface.
  const auto p = default_net_policy();
  bool found = false;
  for (const auto& r : p.ratios) {
    if (r.id != "default-route-out-over-in") continue;
    found = true;
    EXPECT_EQ(r.numerator, std::vector<std::string>{"dev.@default-route.tx_bytes"});
    EXPECT_EQ(r.denominator, std::vector<std::string>{"dev.@default-route.rx_bytes"});
  }
  EXPECT_TRUE(found);
}

TEST(Rules, ConntrackFillAndDrops) {
  Feed f;
  f.step({{"conntrack.count", 100}, {"conntrack.max", 65536}, {"conntrack.stat.drop", 0}});
  auto low = f.step({{"conntrack.count", 100}, {"conntrack.max", 65536}, {"conntrack.stat.drop", 0}});
  EXPECT_EQ(find(low, "conntrack-fill"), nullptr);
  EXPECT_EQ(find(low, "conntrack-drops"), nullptr);
  auto full = f.step({{"conntrack.count", 65536}, {"conntrack.max", 65536}, {"conntrack.stat.drop", 40}});
  ASSERT_NE(find(full, "conntrack-fill"), nullptr);
  EXPECT_EQ(find(full, "conntrack-fill")->severity, Severity::Critical);
  EXPECT_DOUBLE_EQ(find(full, "conntrack-fill")->value, 1.0);
  ASSERT_NE(find(full, "conntrack-drops"), nullptr);
  auto warn = f.step({{"conntrack.count", 50000}, {"conntrack.max", 65536}, {"conntrack.stat.drop", 40}});
  EXPECT_EQ(find(warn, "conntrack-fill")->severity, Severity::Warning);
}

TEST(Rules, ConntrackForbidden) {
  Feed f;
  f.policy.conntrack.allowed = ConntrackAllowed::No;
  EXPECT_TRUE(f.step({}, false).empty());
  EXPECT_TRUE(f.step({}, false).empty());
  auto out = f.step({}, true);
  ASSERT_NE(find(out, "conntrack-appeared"), nullptr);
  EXPECT_EQ(find(out, "conntrack-appeared")->severity, Severity::Critical);
  auto still = f.step({}, true);  // after the transition: present, not "appeared" again
  EXPECT_EQ(find(still, "conntrack-appeared"), nullptr);
  EXPECT_NE(find(still, "conntrack-present"), nullptr);

  Feed at_start;
  at_start.policy.conntrack.allowed = ConntrackAllowed::No;
  auto first = at_start.step({}, true);
  EXPECT_EQ(find(first, "conntrack-appeared"), nullptr);
  ASSERT_NE(find(first, "conntrack-present"), nullptr);
  EXPECT_NE(find(first, "conntrack-present")->message.find("forbids"), std::string::npos);
}

TEST(Rules, ConntrackAllowedNeverFires) {
  Feed f;
  f.policy.conntrack.allowed = ConntrackAllowed::Yes;
  EXPECT_TRUE(f.step({}, false).empty());
  EXPECT_TRUE(f.step({}, true).empty());
  EXPECT_TRUE(f.step({}, true).empty());
}

TEST(Rules, ConntrackIfPresentAtStartIsTheDefault) {
  EXPECT_EQ(default_net_policy().conntrack.allowed, ConntrackAllowed::IfPresentAtStart);

  // A host without connection tracking when watching started: its appearance is critical once,
  // then a warning while it stays; gone and back is a new appearance.
  Feed f;
  EXPECT_TRUE(f.step({}, false).empty());
  EXPECT_TRUE(f.step({}, false).empty());
  auto out = f.step({}, true);
  ASSERT_NE(find(out, "conntrack-appeared"), nullptr);
  EXPECT_EQ(find(out, "conntrack-appeared")->severity, Severity::Critical);
  EXPECT_NE(find(out, "conntrack-appeared")->message.find("had none when watching started"), std::string::npos);
  auto still = f.step({}, true);
  EXPECT_EQ(find(still, "conntrack-appeared"), nullptr);
  ASSERT_NE(find(still, "conntrack-present"), nullptr);
  EXPECT_EQ(find(still, "conntrack-present")->severity, Severity::Warning);
  EXPECT_TRUE(f.step({}, false).empty());  // unloaded again
  EXPECT_NE(find(f.step({}, true), "conntrack-appeared"), nullptr);

  // A host that had it at start (a router, a NAT box) is fine, even across a reload.
  Feed router;
  EXPECT_TRUE(router.step({}, true).empty());
  EXPECT_TRUE(router.step({}, true).empty());
  EXPECT_TRUE(router.step({}, false).empty());
  EXPECT_TRUE(router.step({}, true).empty());

  // Unknown samples do not count as "at start": the first known state does.
  Feed unknown;
  EXPECT_TRUE(unknown.step({}, std::nullopt).empty());
  EXPECT_TRUE(unknown.step({}, false).empty());
  EXPECT_TRUE(unknown.step({}, std::nullopt).empty());
  EXPECT_NE(find(unknown.step({}, true), "conntrack-appeared"), nullptr);
  Feed unknown_then_present;
  EXPECT_TRUE(unknown_then_present.step({}, std::nullopt).empty());
  EXPECT_TRUE(unknown_then_present.step({}, true).empty());
}

TEST(Policy, ConntrackAllowedValues) {
  auto allowed = [](const std::string& v) {
    return parse_net_policy("[conntrack]\nallowed = " + v + "\n", "t.toml").conntrack.allowed;
  };
  EXPECT_EQ(allowed("true"), ConntrackAllowed::Yes);
  EXPECT_EQ(allowed("false"), ConntrackAllowed::No);
  EXPECT_EQ(allowed("\"if-present-at-start\""), ConntrackAllowed::IfPresentAtStart);
  EXPECT_EQ(parse_net_policy("", "t.toml").conntrack.allowed, ConntrackAllowed::IfPresentAtStart);
  EXPECT_THROW(allowed("\"auto\""), std::runtime_error);
  EXPECT_THROW(allowed("1"), std::runtime_error);
}

TEST(Rules, TimeWaitOrphansAndMemory) {
  Feed f;
  auto ok = f.step({{"sockstat.TCP.tw", 1000}, {"sysctl.net.ipv4.tcp_max_tw_buckets", 262144},
                    {"sockstat.TCP.orphan", 1}, {"sysctl.net.ipv4.tcp_max_orphans", 65536},
                    {"meminfo.MemAvailable", 8 << 20}, {"meminfo.MemTotal", 16 << 20}});
  EXPECT_TRUE(ok.empty());
  auto bad = f.step({{"sockstat.TCP.tw", 250000}, {"sysctl.net.ipv4.tcp_max_tw_buckets", 262144},
                     {"sockstat.TCP.orphan", 40000}, {"sysctl.net.ipv4.tcp_max_orphans", 65536},
                     {"meminfo.MemAvailable", 1 << 20}, {"meminfo.MemTotal", 16 << 20}});
  EXPECT_EQ(find(bad, "time-wait")->severity, Severity::Critical);
  EXPECT_EQ(find(bad, "orphans")->severity, Severity::Warning);
  EXPECT_EQ(find(bad, "memory-available")->severity, Severity::Warning);  // 6.25%: warn < 10%
}

TEST(Rules, SwapRates) {
  Feed f;
  f.step({{"vmstat.pswpin", 0}, {"vmstat.pswpout", 0}});
  EXPECT_TRUE(f.step({{"vmstat.pswpin", 5}, {"vmstat.pswpout", 5}}).empty());
  auto out = f.step({{"vmstat.pswpin", 5 + 150}, {"vmstat.pswpout", 5 + 3000}});
  EXPECT_EQ(find(out, "swap-in")->severity, Severity::Warning);
  EXPECT_EQ(find(out, "swap-out")->severity, Severity::Critical);
}

TEST(Rules, MissingCountersDoNothing) {
  Feed f;
  f.step({{"Unrelated", 1}});
  EXPECT_TRUE(f.step({{"Unrelated", 2}}).empty());
}

Listener listener(const char* addr, uint16_t port, uint32_t q, uint32_t backlog) {
  Listener l;
  l.socket.family = 4;
  l.socket.local_address = addr;
  l.socket.local_port = port;
  l.socket.rqueue = q;
  l.socket.wqueue = backlog;
  l.name = procfs::endpoint_name(l.socket);
  l.pid = 42;
  l.process = "nginx";
  return l;
}

TEST(Listeners, FullCappedAndSilentDefault) {
  ListenPolicy p;
  auto out = check_listeners(p, {listener("*", 80, 511, 511), listener("*", 443, 0, 16384),
                                 listener("127.0.0.1", 3306, 10, 80)},
                             16384);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].rule_id, "listen-queue-full");
  EXPECT_EQ(out[0].severity, Severity::Critical);
  EXPECT_NE(out[0].message.find("*:80 (nginx pid 42)"), std::string::npos);
  EXPECT_EQ(out[1].rule_id, "listen-backlog-default");
  EXPECT_EQ(out[2].rule_id, "listen-backlog-capped");
  EXPECT_EQ(out[2].counter, "listen.*:443");
  // 511 is not flagged as a silent default when somaxconn itself is lower.
  EXPECT_TRUE(check_listeners(p, {listener("*", 80, 0, 128)}, 128).size() == 1);
}

TEST(Policy, DefaultParsesAndFileMatchesCompiledIn) {
  const auto p = default_net_policy();
  EXPECT_GE(p.rates.size(), 10u);
  std::ifstream in(fs::path(BINWATCH_SOURCE_DIR) / "policies/net.toml");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(text, default_net_policy_toml());
}

TEST(Policy, ErrorsAreNamed) {
  EXPECT_THROW(parse_net_policy("[[rate]]\nid = \"x\"\ncounters = [\"A\"]\nwarn_per_sec = 1\nwarn_per_secs = 2\n", "t.toml"),
               std::runtime_error);
  try {
    parse_net_policy("[[rate]]\nid = \"x\"\ncounters = [\"A\"]\n", "t.toml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("t.toml"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("needs"), std::string::npos);
  }
  EXPECT_THROW(parse_net_policy("[baseline\n", "t.toml"), std::runtime_error);
  EXPECT_THROW(parse_net_policy("[[fill]]\nid=\"a\"\nvalue=\"x\"\nlimit=\"y\"\nwarn=1\n[[fill]]\nid=\"a\"\n"
                                "value=\"x\"\nlimit=\"y\"\nwarn=1\n", "t.toml"),
               std::runtime_error);
}

TEST(Snapshots, DecideOnTrustyConntrackFull) {
  const auto s = ProcfsReader(kFixtures / "linux-3.13-trusty-hand").read();
  Feed f;
  f.policy.conntrack.allowed = ConntrackAllowed::No;
  auto out = f.step(s.values, conntrack_active(s));
  EXPECT_EQ(find(out, "conntrack-fill")->severity, Severity::Critical);
  EXPECT_NE(find(out, "conntrack-present"), nullptr);
}

TEST(Snapshots, TrustyConntrackAtStartIsFineByDefault) {
  // The 3.13 snapshot has nf_conntrack loaded from the first sample: with the default policy that
  // is the host's normal state (its full table is still conntrack-fill).
  const auto s = ProcfsReader(kFixtures / "linux-3.13-trusty-hand").read();
  Feed f;
  auto out = f.step(s.values, conntrack_active(s));
  EXPECT_EQ(find(out, "conntrack-present"), nullptr);
  EXPECT_EQ(find(out, "conntrack-appeared"), nullptr);
  EXPECT_NE(find(out, "conntrack-fill"), nullptr);
}

TEST(SysctlCheck, TrustyFlagsRecycleConntrackAndAbsentRatelimit) {
  const auto s = ProcfsReader(kFixtures / "linux-3.13-trusty-hand").read();
  const auto out = check_sysctls(s, std::nullopt);
  std::set<std::string> ids;
  for (const auto& f : out) {
    ids.insert(f.id);
    EXPECT_FALSE(f.reason.empty());
  }
  EXPECT_TRUE(ids.contains("tcp-tw-recycle"));
  EXPECT_TRUE(ids.contains("conntrack-max-small"));
  EXPECT_TRUE(ids.contains("tcp-invalid-ratelimit-absent"));
  EXPECT_TRUE(ids.contains("somaxconn-low"));
}

TEST(SysctlCheck, FocalFlagsRatelimitAndListeners) {
  const auto s = ProcfsReader(kFixtures / "linux-5.4-focal-hand").read();
  std::vector<Listener> ls = {listener("*", 80, 0, 511), listener("*", 8080, 0, 16384)};
  const auto out = check_sysctls(s, ls);
  std::set<std::string> ids;
  for (const auto& f : out) ids.insert(f.id);
  EXPECT_TRUE(ids.contains("tcp-invalid-ratelimit-off"));
  EXPECT_TRUE(ids.contains("listen-backlog-default"));
  EXPECT_TRUE(ids.contains("listen-backlog-capped"));
  EXPECT_FALSE(ids.contains("tcp-tw-recycle"));
  EXPECT_FALSE(ids.contains("conntrack-max-small"));
}

TEST(SysctlCheck, CapturedVmIsQuiet) {
  const auto s = ProcfsReader(kFixtures / "linux-6.18.44-vm").read();
  EXPECT_TRUE(check_sysctls(s, std::nullopt).empty());
}

TEST(NetstatView, WatchedFirstZerosHiddenOutOfBandMarked) {
  Feed f;
  f.step({{"TcpExtListenOverflows", 0}, {"TcpExtPAWSEstab", 0}, {"TcpInSegs", 0}, {"TcpExtTW", 0}});
  Observation o;
  o.time = f.t;
  o.values = {{"TcpExtListenOverflows", 7}, {"TcpExtPAWSEstab", 0}, {"TcpInSegs", 100}, {"TcpExtTW", 0}};
  auto d = decide(f.policy, o, f.state);
  auto rows = netstat_rows(f.policy, o, d, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "TcpExtListenOverflows");
  EXPECT_TRUE(rows[0].out_of_band);
  EXPECT_EQ(rows[1].name, "TcpInSegs");
  EXPECT_FALSE(rows[1].watched);
  EXPECT_EQ(netstat_rows(f.policy, o, d, true).size(), 4u);
  const std::string json = render_netstat_json(rows, o, d, {});
  EXPECT_NE(json.find("\"listen-overflows\""), std::string::npos);
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(NetstatView, WatchedCountersAtRateZeroAreHiddenUnlessAllOrOutOfBand) {
  Feed f;
  const procfs::CounterMap first = {{"TcpExtListenOverflows", 50}, {"TcpExtPAWSEstab", 1000},
                                    {"TcpExtTW", 3},               {"sockstat.TCP.tw", 40},
                                    {"dev.eth0.tx_bytes", 5000},   {"dev.eth0.rx_bytes", 9000}};
  Observation o1;
  o1.time = f.t;
  o1.values = first;
  o1.default_route_interface = "eth0";
  auto d1 = decide(f.policy, o1, f.state);
  // First sample: no rates yet. Watched counters that are not 0 are shown (their rate is unknown,
  // not 0), unwatched ones are not; the watched gauge sockstat.TCP.tw is shown.
  std::set<std::string> names1;
  for (const auto& r : netstat_rows(f.policy, o1, d1, false)) {
    names1.insert(r.name);
    EXPECT_FALSE(r.rate.has_value());
  }
  EXPECT_EQ(names1, (std::set<std::string>{"TcpExtListenOverflows", "TcpExtPAWSEstab", "sockstat.TCP.tw",
                                           "dev.eth0.tx_bytes", "dev.eth0.rx_bytes"}));

  // Second sample: nothing moved except the bytes received on eth0, the default route. The traffic
  // ratio (0 out over 1 MB/s in) is under its band: both its counters are out of band, and the
  // one at rate 0 is shown because of that. ListenOverflows and PAWSEstab (rate 0, value not 0)
  // are hidden, as is the unwatched TcpExtTW.
  Observation o2 = o1;
  o2.time = f.t + 1;
  o2.values["dev.eth0.rx_bytes"] += 1'000'000;
  auto d2 = decide(f.policy, o2, d1.next);
  ASSERT_NE(find(d2.findings, "default-route-out-over-in"), nullptr);
  const auto rows = netstat_rows(f.policy, o2, d2, false);
  std::vector<std::string> names2;
  for (const auto& r : rows) names2.push_back(r.name);
  // Policy order: rate rules, ratio rules, fill rules.
  EXPECT_EQ(names2, (std::vector<std::string>{"dev.eth0.tx_bytes", "dev.eth0.rx_bytes", "sockstat.TCP.tw"}));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].out_of_band);
  ASSERT_TRUE(rows[0].rate.has_value());
  EXPECT_EQ(rows[0].rate->delta, 0);
  EXPECT_TRUE(rows[1].out_of_band);
  EXPECT_DOUBLE_EQ(rows[1].rate->rate, 1'000'000);
  EXPECT_FALSE(rows[2].out_of_band);

  // --all shows everything, watched first.
  const auto all = netstat_rows(f.policy, o2, d2, true);
  EXPECT_EQ(all.size(), first.size());
  EXPECT_EQ(all.back().name, "TcpExtTW");
  EXPECT_FALSE(all.back().watched);

  // The JSON line carries exactly the table's rows.
  ViewInfo info;
  info.sample = 2;
  const std::string json = render_netstat_json(rows, o2, d2, info);
  EXPECT_NE(json.find("\"dev.eth0.tx_bytes\""), std::string::npos);
  EXPECT_NE(json.find("\"default_route_interface\":\"eth0\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"TcpExtListenOverflows\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"TcpExtPAWSEstab\""), std::string::npos);
  EXPECT_EQ(json.find("\"TcpExtTW\""), std::string::npos);
  const std::string table = render_netstat_table(rows, o2, d2, info);
  EXPECT_NE(table.find("dev.eth0.tx_bytes"), std::string::npos);
  EXPECT_NE(table.find("default route eth0"), std::string::npos);
  EXPECT_EQ(table.find("TcpExtListenOverflows"), std::string::npos) << table;

  // A counter that moves again is back.
  Observation o3 = o2;
  o3.time = f.t + 2;
  o3.values["TcpExtListenOverflows"] += 4;
  o3.values["dev.eth0.tx_bytes"] += 1'000'000;
  o3.values["dev.eth0.rx_bytes"] += 1'000'000;
  auto d3 = decide(f.policy, o3, d2.next);
  std::vector<std::string> names3;
  for (const auto& r : netstat_rows(f.policy, o3, d3, false)) names3.push_back(r.name);
  EXPECT_EQ(names3, (std::vector<std::string>{"TcpExtListenOverflows", "dev.eth0.tx_bytes", "dev.eth0.rx_bytes",
                                              "sockstat.TCP.tw"}));
}

TEST(WatchedRates, OnlyCountersOfRateAndRatioRules) {
  Feed f;
  f.step({{"TcpExtListenOverflows", 10}, {"TcpExtTCPACKSkippedPAWS", 0}, {"TcpInSegs", 0},
          {"dev.eth0.tx_bytes", 0}, {"dev.eth1.tx_bytes", 0}, {"sockstat.TCP.tw", 5}});
  Observation o;
  o.time = f.t + 1;  // two seconds after the first sample
  o.values = {{"TcpExtListenOverflows", 30}, {"TcpExtTCPACKSkippedPAWS", 8}, {"TcpInSegs", 400},
              {"dev.eth0.tx_bytes", 2000}, {"dev.eth1.tx_bytes", 4000}, {"sockstat.TCP.tw", 9}};
  o.default_route_interface = "eth0";
  const auto d = decide(f.policy, o, f.state);
  const auto rates = watched_rates(f.policy, o, d);
  // Watched: ListenOverflows (a rate rule), TCPACKSkipped* (a '*' pattern), the default route's
  // tx_bytes (a ratio rule). Not: TcpInSegs and eth1 (no rule), the gauge sockstat.TCP.tw.
  EXPECT_EQ(rates, (std::map<std::string, double, std::less<>>{
                       {"TcpExtListenOverflows", 10}, {"TcpExtTCPACKSkippedPAWS", 4}, {"dev.eth0.tx_bytes", 1000}}));
  // First sample: no rates at all.
  Observation first = o;
  EXPECT_TRUE(watched_rates(f.policy, first, decide(f.policy, first, {})).empty());
}

TEST(NetstatView, Intervals) {
  EXPECT_DOUBLE_EQ(*parse_interval("1s"), 1);
  EXPECT_DOUBLE_EQ(*parse_interval("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_interval("2"), 2);
  EXPECT_FALSE(parse_interval("0s"));
  EXPECT_FALSE(parse_interval("fast"));
}

}  // namespace
}  // namespace binwatch::net
