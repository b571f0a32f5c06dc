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
#include "binwatch/procfs/process.h"
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
  EXPECT_EQ(s.route_error, std::nullopt);
  // A net/route that does not parse leaves only the default route unknown, with the reason.
  std::ofstream(root / "net/route") << "Iface\tDestination\tFlags\tMetric\neth0\t00000000\t0001\t0\n";
  const auto bad = net::ProcfsReader(root).read();
  EXPECT_EQ(bad.default_route_interface, std::nullopt);
  ASSERT_TRUE(bad.route_error.has_value());
  EXPECT_NE(bad.route_error->find("net/route"), std::string::npos) << *bad.route_error;
  EXPECT_NE(bad.route_error->find("Mask"), std::string::npos) << *bad.route_error;
  EXPECT_TRUE(bad.values.contains("TcpExtListenOverflows"));
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

// /proc/PID/stat: comm may hold spaces and ')' (a process can name itself anything).
TEST(ProcStat, ParsesPidCommStateParentGroupAndStartTime) {
  auto r = parse_proc_stat(
      "1297 (cat) R 1293 1290 20438 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 4154050 3133440 374 "
      "18446744073709551615 94686363734016 0\n");
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->pid, 1297);
  EXPECT_EQ(r->comm, "cat");
  EXPECT_EQ(r->state, 'R');
  EXPECT_EQ(r->ppid, 1293);
  EXPECT_EQ(r->pgrp, 1290);
  EXPECT_EQ(r->start_time, 4154050u);
  auto odd = parse_proc_stat("42 (a) b (c) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0");
  ASSERT_TRUE(odd) << to_string(odd.error());
  EXPECT_EQ(odd->comm, "a) b (c");
  EXPECT_EQ(odd->pgrp, 42);
  EXPECT_EQ(odd->start_time, 777u);
  EXPECT_FALSE(parse_proc_stat("42 (short) S 1 42"));
  EXPECT_FALSE(parse_proc_stat("x (a) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0"));
  EXPECT_FALSE(parse_proc_stat(""));
  // Cut anywhere: a located error or a value, never a crash.
  const std::string full = "1297 (cat) R 1293 1290 20438 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 4154050 3133440";
  for (size_t n = 0; n < full.size(); ++n) (void)parse_proc_stat(full.substr(0, n));
}

TEST(ProcNetTcp, ParsesV4AndV6EndpointsStateAndInode) {
  auto v4 = parse_proc_net_tcp(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:D47B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1633979 1 "
      "00000000e51528d2 100 0 0 10 0\n"
      "   1: 0100007F:E2F4 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000     0        0 41254 1 "
      "0000000000000000 20 4 30 10 -1\n",
      false);
  ASSERT_TRUE(v4) << to_string(v4.error());
  ASSERT_EQ(v4->size(), 2u);
  EXPECT_EQ((*v4)[0].state, 0x0A);
  EXPECT_EQ((*v4)[0].local_port, 0xD47B);
  EXPECT_EQ(address_text((*v4)[1]), "127.0.0.1");
  EXPECT_TRUE(is_loopback((*v4)[1]));
  EXPECT_EQ((*v4)[1].local_port, 0xE2F4);
  EXPECT_EQ((*v4)[1].remote_port, 3306);
  EXPECT_EQ((*v4)[1].inode, 41254u);
  EXPECT_EQ((*v4)[1].uid, 0u);
  auto owned = parse_proc_net_tcp(
      "   0: 0100007F:E2F4 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000  1000        0 41254 1\n", false);
  ASSERT_TRUE(owned) << to_string(owned.error());
  EXPECT_EQ((*owned)[0].uid, 1000u);
  EXPECT_FALSE(parse_proc_net_tcp(
      "   0: 0100007F:E2F4 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000  -1        0 41254 1\n", false))
      << "uid is not a number";

  auto v6 = parse_proc_net_tcp(
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:0CEA 01 00000000:00000000 "
      "00:00000000 00000000     0        0 5150 1 0000000000000000 20 4 30 10 -1\n"
      "   1: 0000000000000000FFFF00000100007F:C351 0000000000000000FFFF00000100007F:0CEA 01 00000000:00000000 "
      "00:00000000 00000000     0        0 5151 1 0000000000000000 20 4 30 10 -1\n",
      true);
  ASSERT_TRUE(v6) << to_string(v6.error());
  ASSERT_EQ(v6->size(), 2u);
  EXPECT_EQ(address_text((*v6)[0]), "::1");
  EXPECT_TRUE(is_loopback((*v6)[0]));
  EXPECT_EQ(address_text((*v6)[1]), "127.0.0.1") << "v4-mapped";
  EXPECT_TRUE(is_loopback((*v6)[1]));

  auto bad = parse_proc_net_tcp("   0: 0100007F:D47B 00000000 0A 0 0 0 0 0 1633979 1\n", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().line, 1u);
  EXPECT_EQ(bad.error().column, 21u);
}

TEST(ProcNetTcp, FindsTheClientSocketOfASessionHost) {
  auto socks = parse_proc_net_tcp(
      // The server's end (local 3306) and the client's end (local 58100) of one connection, a
      // client of another server on port 3307 that happens to use the same local port, and a
      // closed socket.
      "   0: 0100007F:0CEA 0100007F:E2F4 01 00000000:00000000 00:00000000 00000000 0 0 100 1\n"
      "   1: 0100007F:E2F4 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000 0 0 200 1\n"
      "   2: 0100007F:E2F4 0100007F:0CEB 01 00000000:00000000 00:00000000 00000000 0 0 300 1\n"
      "   3: 0100007F:E2F5 0100007F:0CEA 06 00000000:00000000 00:00000000 00000000 0 0 0 1\n",
      false);
  ASSERT_TRUE(socks) << to_string(socks.error());
  auto host = parse_session_host("127.0.0.1:58100");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->address, "127.0.0.1");
  EXPECT_EQ(host->port, 58100);
  EXPECT_EQ(client_socket_inode(*socks, *host, 3306), 200u);
  EXPECT_EQ(client_socket_inode(*socks, *host, 3307), 0u) << "no server end on 3307 here";
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("localhost:58100"), 3306), 200u);
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("10.0.0.5:58100"), 3306), 0u) << "another address";
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("127.0.0.1:58101"), 3306), 0u) << "closed";
  EXPECT_EQ(parse_session_host("::1:58100")->address, "::1");
  EXPECT_EQ(parse_session_host("[::1]:58100")->address, "::1");
  EXPECT_FALSE(parse_session_host("localhost"));
  EXPECT_FALSE(parse_session_host("db.example:"));
  EXPECT_FALSE(parse_session_host("h:99999"));
}

TEST(ProcNetTcp, TheClientSocketIsTheOneWhoseServerEndIsHere) {
  // Two client sockets from 127.0.0.1:58100 to port 3306: first one to a server at 127.0.0.2 (not
  // this one: its end is not in the table), then one to 127.0.0.1, whose end (local 3306, remote
  // 127.0.0.1:58100) is.
  auto socks = parse_proc_net_tcp(
      "   0: 0100007F:E2F4 0200007F:0CEA 01 00000000:00000000 00:00000000 00000000 0 0 400 1\n"
      "   1: 0100007F:E2F4 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000 0 0 500 1\n"
      "   2: 0100007F:0CEA 0100007F:E2F4 01 00000000:00000000 00:00000000 00000000 0 0 600 1\n",
      false);
  ASSERT_TRUE(socks) << to_string(socks.error());
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("127.0.0.1:58100"), 3306), 500u);
  socks->pop_back();
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("127.0.0.1:58100"), 3306), 0u) << "no server end";
  // The server end in tcp6 (a server listening on ::) as a v4-mapped address still matches.
  auto v6 = parse_proc_net_tcp(
      "   0: 0000000000000000FFFF00000100007F:0CEA 0000000000000000FFFF00000100007F:E2F4 01 00000000:00000000 "
      "00:00000000 00000000     0        0 700 1\n",
      true);
  ASSERT_TRUE(v6) << to_string(v6.error());
  socks->push_back((*v6)[0]);
  EXPECT_EQ(client_socket_inode(*socks, *parse_session_host("127.0.0.1:58100"), 3306), 500u);
  // find_tcp_socket: by both ends.
  const auto* s = find_tcp_socket(*socks, "127.0.0.1", 58100, "127.0.0.1", 3306);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->inode, 500u);
  EXPECT_EQ(find_tcp_socket(*socks, "::ffff:127.0.0.1", 58100, "127.0.0.2", 3306)->inode, 400u);
  EXPECT_EQ(find_tcp_socket(*socks, "127.0.0.1", 58100, "127.0.0.3", 3306), nullptr);
  EXPECT_EQ(find_tcp_socket(*socks, "127.0.0.1", 58101, "", 3306), nullptr);
}

TEST(ProcStatus, RealUidBootTimeAndStartTime) {
  EXPECT_EQ(parse_status_uid("Name:\tbinwatch\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"), 1000u);
  EXPECT_FALSE(parse_status_uid("Name:\tbinwatch\n"));
  EXPECT_FALSE(parse_status_uid("Uid:\t\n"));
  EXPECT_FALSE(parse_status_uid("Uid:\tx\t0\n"));
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nctxt 9\nbtime 1763800000\nprocesses 7\n"), 1763800000);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
  ProcStat st;
  st.start_time = 12345;  // 123.45 s after boot at 100 ticks/s
  EXPECT_DOUBLE_EQ(start_unix_s(st, 1'000'000, 100), 1'000'123.45);
  // A session whose command began at 1'000'200: a client that started before may be its client;
  // one that started after (a pid reused since) may not, beyond the tolerance.
  EXPECT_TRUE(started_by(st, 1'000'000, 100, 1'000'200.0));
  EXPECT_TRUE(started_by(st, 1'000'000, 100, 1'000'122.0)) << "within 2 s";
  EXPECT_FALSE(started_by(st, 1'000'000, 100, 1'000'100.0));
}

}  // namespace
}  // namespace binwatch::procfs
