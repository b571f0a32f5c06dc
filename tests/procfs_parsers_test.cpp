// Pure /proc parsers on inline text and on the snapshots under fixtures/procfs/ (one real capture,
// two hand-edited kernels; see fixtures/procfs/README.md): missing and extra fields, located
// errors, and the reader that flattens a procfs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "binwatch/net/procfs_reader.h"
#include "binwatch/procfs/counters.h"
#include "binwatch/procfs/modules.h"
#include "binwatch/procfs/route.h"

namespace binwatch::procfs {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/procfs";
const fs::path kVm = kFixtures / "linux-6.18.44-vm";
const fs::path kTrusty = kFixtures / "linux-3.13-trusty-hand";
const fs::path kFocal = kFixtures / "linux-5.4-focal-hand";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SnmpPairs, ParsesPairsWithNstatNames) {
  auto r = parse_snmp_pairs(
      "TcpExt: SyncookiesSent PAWSEstab ListenOverflows\nTcpExt: 1 22 333\n"
      "Tcp: RtoAlgorithm MaxConn CurrEstab\nTcp: 1 -1 7\n");
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->at("TcpExtPAWSEstab"), 22);
  EXPECT_EQ(r->at("TcpExtListenOverflows"), 333);
  EXPECT_EQ(r->at("TcpMaxConn"), -1);
  EXPECT_EQ(r->size(), 6u);
}

TEST(SnmpPairs, CountMismatchIsLocated) {
  auto r = parse_snmp_pairs("TcpExt: A B C\nTcpExt: 1 2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2u);
  EXPECT_NE(r.error().detail.find("3 names"), std::string::npos);
}

TEST(SnmpPairs, NonNumberIsLocatedWithColumn) {
  auto r = parse_snmp_pairs("Ip: Forwarding DefaultTTL\nIp: 2 x64\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2u);
  EXPECT_EQ(r.error().column, 7u);
  EXPECT_NE(r.error().detail.find("IpDefaultTTL"), std::string::npos);
}

TEST(SnmpPairs, MissingValueLineAndPrefixMismatch) {
  EXPECT_FALSE(parse_snmp_pairs("TcpExt: A B\n").ok());
  auto r = parse_snmp_pairs("TcpExt: A\nIpExt: 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2u);
  EXPECT_TRUE(parse_snmp_pairs("").ok());
}

TEST(SnmpPairs, HugeCounterSaturatesInsteadOfFailing) {
  auto r = parse_snmp_pairs("IpExt: InOctets\nIpExt: 18446744073709551615\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("IpExtInOctets"), INT64_MAX);
}

TEST(NameValue, Snmp6AndVmstat) {
  auto r = parse_name_value_lines("Ip6InReceives \t 12\nIp6OutRequests 3\n", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("Ip6InReceives"), 12);
  auto v = parse_name_value_lines("pswpin 5\npswpout 6\n", "vmstat.");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at("vmstat.pswpout"), 6);
  auto bad = parse_name_value_lines("pswpin 5\npswpout\n", "vmstat.");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 2u);
}

TEST(Meminfo, KilobytesBecomeBytes) {
  auto r = parse_meminfo("MemTotal:  100 kB\nMemAvailable:   50 kB\nHugePages_Total:   0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("meminfo.MemTotal"), 102400);
  EXPECT_EQ(r->at("meminfo.HugePages_Total"), 0);
  EXPECT_FALSE(parse_meminfo("MemTotal: 100 MB\n").ok());
}

TEST(Sockstat, ProtocolsAndFields) {
  auto r = parse_sockstat(slurp(kVm / "net/sockstat"), "sockstat.");
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->at("sockstat.TCP.tw"), 2);
  EXPECT_EQ(r->at("sockstat.sockets.used"), 12);
  EXPECT_EQ(r->at("sockstat.FRAG.memory"), 0);
  auto bad = parse_sockstat("TCP: inuse 1 orphan\n", "sockstat.");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 1u);
}

TEST(NetDev, ColumnsFromHeader) {
  auto r = parse_net_dev(slurp(kVm / "net/dev"));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->at("dev.lo.rx_bytes"), r->at("dev.lo.tx_bytes"));
  EXPECT_TRUE(r->contains("dev.eth0.tx_carrier"));
  EXPECT_TRUE(r->contains("dev.eth0.rx_multicast"));
  // A kernel with one extra receive column still parses, by name.
  auto extra = parse_net_dev(
      "Inter-|Receive|Transmit\n face |bytes packets new|bytes\n  eth1: 1 2 3 4\n");
  ASSERT_TRUE(extra.ok());
  EXPECT_EQ(extra->at("dev.eth1.rx_new"), 3);
  EXPECT_EQ(extra->at("dev.eth1.tx_bytes"), 4);
  auto bad = parse_net_dev("Inter-|Receive|Transmit\n face |bytes|bytes\n  eth1: 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 3u);
}

TEST(ConntrackStat, SumsCpusButNotEntries) {
  auto r = parse_conntrack_stat(slurp(kTrusty / "net/stat/nf_conntrack"));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->at("conntrack.stat.entries"), 65536);
  EXPECT_EQ(r->at("conntrack.stat.drop"), 2201 + 2187 + 2240 + 2199);
  EXPECT_EQ(r->at("conntrack.stat.insert_failed"), 13 + 11 + 15 + 12);
  auto vm = parse_conntrack_stat(slurp(kVm / "net/stat/nf_conntrack"));
  ASSERT_TRUE(vm.ok());
  EXPECT_TRUE(vm->contains("conntrack.stat.clashres"));   // 6.x column
  EXPECT_FALSE(r->contains("conntrack.stat.clashres"));   // not in 3.13
  EXPECT_FALSE(parse_conntrack_stat("entries drop\n0000000z 00000001\n").ok());
}

TEST(SingleInteger, TrimsAndRejects) {
  EXPECT_EQ(*parse_single_integer(" 4096\n"), 4096);
  EXPECT_FALSE(parse_single_integer("32768\t60999\n").ok());
  EXPECT_EQ(normalize_sysctl_text("32768\t60999\n"), "32768 60999");
}

TEST(Modules, SoundCloudLsmod) {
  auto r = parse_modules(slurp(kTrusty / "modules"));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  ASSERT_GE(r->size(), 5u);
  const auto& ct = (*r)[4];
  EXPECT_EQ(ct.name, "nf_conntrack");
  EXPECT_EQ(ct.refcount, 3);
  EXPECT_EQ(ct.used_by, (std::vector<std::string>{"iptable_nat", "nf_nat", "nf_conntrack_ipv4"}));
  EXPECT_EQ(ct.state, "Live");
  EXPECT_TRUE((*r)[0].used_by.empty());
  auto bad = parse_modules("ok 1 0 - Live 0x0\nbroken 12\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 2u);
}

TEST(Gauges, Classification) {
  EXPECT_TRUE(is_gauge("sockstat.TCP.tw"));
  EXPECT_TRUE(is_gauge("conntrack.count"));
  EXPECT_TRUE(is_gauge("TcpCurrEstab"));
  EXPECT_TRUE(is_gauge("vmstat.nr_free_pages"));
  EXPECT_FALSE(is_gauge("vmstat.pswpin"));
  EXPECT_FALSE(is_gauge("TcpExtPAWSEstab"));
  EXPECT_FALSE(is_gauge("conntrack.stat.drop"));
}

TEST(Route, CapturedTableHasTheDefaultRoute) {
  // Real bytes of this VM's /proc/net/route: tab-separated, padded with spaces to 127 characters.
  const auto r = parse_route(slurp(kVm / "net/route"));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].interface, "eth0");
  EXPECT_EQ((*r)[0].destination, 0u);
  EXPECT_EQ((*r)[0].mask, 0u);
  EXPECT_EQ((*r)[0].flags, 0x3u);  // RTF_UP | RTF_GATEWAY
  EXPECT_EQ((*r)[0].gateway, 0x010200C0u);  // 192.0.2.1, printed as a raw big-endian word
  EXPECT_EQ((*r)[1].mask, 0x00FFFFFFu);
  EXPECT_EQ(default_route_interface(*r), "eth0");
}

TEST(Route, LowestMetricWinsAndOnlyUsableRoutesCount) {
  const std::string head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
  auto pick = [&](const std::string& body) {
    auto r = parse_route(head + body);
    EXPECT_TRUE(r.ok()) << to_string(r.error());
    return r.ok() ? default_route_interface(*r) : std::nullopt;
  };
  EXPECT_EQ(pick("wg0\t00000000\t00000000\t0001\t0\t0\t300\t00000000\t0\t0\t0\n"
                 "ens5\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                 "eth9\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"),
            "ens5");  // lowest metric; the first listed among equals
  // Not up, a reject route, and a default *destination* with a non-zero mask are not defaults.
  EXPECT_EQ(pick("eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"
                 "*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n"
                 "eth1\t00000000\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n"),
            std::nullopt);
  EXPECT_EQ(pick(""), std::nullopt);  // a namespace without IPv4 routes: the header alone
  EXPECT_TRUE(parse_route("").ok());
}

TEST(Route, ErrorsAreLocated) {
  const std::string head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
  auto bad = parse_route(head + "eth0\t0000000G\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 2u);
  EXPECT_EQ(bad.error().column, 6u);
  EXPECT_NE(bad.error().detail.find("Destination"), std::string::npos);
  auto short_line = parse_route(head + "eth0\t00000000\t00000000\n");
  ASSERT_FALSE(short_line.ok());
  EXPECT_EQ(short_line.error().line, 2u);
  auto no_mask = parse_route("Iface\tDestination\tFlags\tMetric\neth0\t00000000\t0001\t0\n");
  ASSERT_FALSE(no_mask.ok());
  EXPECT_NE(no_mask.error().detail.find("Mask"), std::string::npos);
  auto metric = parse_route(head + "eth0\t00000000\t00000000\t0001\t0\t0\tx\t00000000\t0\t0\t0\n");
  ASSERT_FALSE(metric.ok());
  EXPECT_NE(metric.error().detail.find("Metric"), std::string::npos);
}

TEST(Snapshots, DefaultRouteInterface) {
  EXPECT_EQ(net::ProcfsReader(kVm).read().default_route_interface, "eth0");
  // Backup uplink eth1 (metric 200) listed before eth0 (metric 100).
  const auto trusty = net::ProcfsReader(kTrusty).read();
  EXPECT_EQ(trusty.routes.size(), 4u);
  EXPECT_EQ(trusty.default_route_interface, "eth0");
  // A subnet route only: no default route, and that is not an error.
  const auto focal = net::ProcfsReader(kFocal).read();
  EXPECT_EQ(focal.routes.size(), 1u);
  EXPECT_EQ(focal.default_route_interface, std::nullopt);
}

TEST(Reader, RouteFileIsOptional) {
  // A root without net/route (an older snapshot) reads; the file is listed as missing.
  const fs::path root = fs::temp_directory_path() / ("binwatch-route-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "net");
  fs::copy_file(kVm / "net/snmp", root / "net/snmp");
  fs::copy_file(kVm / "net/netstat", root / "net/netstat");
  const auto s = net::ProcfsReader(root).read();
  EXPECT_EQ(s.default_route_interface, std::nullopt);
  EXPECT_NE(std::find(s.missing.begin(), s.missing.end(), "net/route"), s.missing.end());
  fs::remove_all(root);
}

// Every snapshot parses; fields a kernel did not have are simply absent.
class Snapshot : public ::testing::TestWithParam<const char*> {};

TEST_P(Snapshot, ReadsWholeRoot) {
  const auto s = net::ProcfsReader(kFixtures / GetParam()).read();
  EXPECT_TRUE(s.values.contains("TcpExtPAWSEstab"));
  EXPECT_TRUE(s.values.contains("TcpExtListenOverflows"));
  EXPECT_TRUE(s.values.contains("TcpRetransSegs"));
  EXPECT_TRUE(s.values.contains("sockstat.TCP.tw"));
  EXPECT_TRUE(s.values.contains("meminfo.MemTotal"));
  EXPECT_TRUE(s.values.contains("vmstat.pswpin"));
  EXPECT_TRUE(s.values.contains("sysctl.net.core.somaxconn"));
  EXPECT_TRUE(s.values.contains("Ip6InReceives"));
}

INSTANTIATE_TEST_SUITE_P(Kernels, Snapshot,
                         ::testing::Values("linux-6.18.44-vm", "linux-3.13-trusty-hand",
                                           "linux-5.4-focal-hand"));

TEST(Snapshots, MissingFieldsAcrossKernels) {
  const auto vm = net::ProcfsReader(kVm).read();
  const auto trusty = net::ProcfsReader(kTrusty).read();
  const auto focal = net::ProcfsReader(kFocal).read();
  // TCPACKSkipped* arrived in 4.0 with tcp_invalid_ratelimit.
  EXPECT_TRUE(vm.values.contains("TcpExtTCPACKSkippedPAWS"));
  EXPECT_TRUE(focal.values.contains("TcpExtTCPACKSkippedPAWS"));
  EXPECT_FALSE(trusty.values.contains("TcpExtTCPACKSkippedPAWS"));
  EXPECT_FALSE(trusty.values.contains("sysctl.net.ipv4.tcp_invalid_ratelimit"));
  // MemAvailable arrived in 3.14.
  EXPECT_FALSE(trusty.values.contains("meminfo.MemAvailable"));
  EXPECT_TRUE(vm.values.contains("meminfo.MemAvailable"));
  // tcp_tw_recycle went away in 4.12.
  EXPECT_EQ(trusty.values.at("sysctl.net.ipv4.tcp_tw_recycle"), 1);
  EXPECT_FALSE(vm.values.contains("sysctl.net.ipv4.tcp_tw_recycle"));
  // MPTCP (5.6) only in the capture.
  EXPECT_TRUE(vm.values.contains("MPTcpExtMPCapableSYNRX"));
  EXPECT_FALSE(focal.values.contains("MPTcpExtMPCapableSYNRX"));
  EXPECT_EQ(trusty.sysctl_text.at("net.ipv4.ip_local_port_range"), "32768 61000");
}

TEST(Snapshots, ConntrackPresenceEvidence) {
  std::string why;
  const auto vm = net::ProcfsReader(kVm).read();
  EXPECT_FALSE(vm.modules_file);  // this VM's kernel has no module support
  EXPECT_TRUE(vm.conntrack_sysctls);
  EXPECT_FALSE(net::conntrack_active(vm, &why)) << why;
  const auto trusty = net::ProcfsReader(kTrusty).read();
  EXPECT_TRUE(net::conntrack_active(trusty, &why));
  EXPECT_NE(why.find("/proc/modules"), std::string::npos);
  EXPECT_EQ(trusty.values.at("conntrack.count"), trusty.values.at("conntrack.max"));
  const auto focal = net::ProcfsReader(kFocal).read();
  EXPECT_TRUE(focal.modules_file);
  EXPECT_FALSE(focal.conntrack_sysctls);
  EXPECT_FALSE(net::conntrack_active(focal, &why));
  EXPECT_FALSE(focal.values.contains("conntrack.count"));
}

TEST(Reader, UnreadableRootNamesTheFile) {
  try {
    (void)net::ProcfsReader("/nonexistent-binwatch-root").read();
    FAIL() << "expected ProcfsError";
  } catch (const net::ProcfsError& e) {
    EXPECT_EQ(e.file(), fs::path("/nonexistent-binwatch-root/net/snmp"));
    EXPECT_NE(std::string(e.what()).find("/nonexistent-binwatch-root/net/snmp"), std::string::npos);
  }
}

TEST(Reader, LiveProcParses) {
  if (!fs::exists("/proc/net/snmp")) GTEST_SKIP() << "no /proc/net/snmp on this machine";
  const auto s = net::ProcfsReader("/proc").read();
  EXPECT_TRUE(s.values.contains("TcpExtListenOverflows"));
}

}  // namespace
}  // namespace binwatch::procfs
