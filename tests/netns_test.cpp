// In a network namespace created for the test (`ip netns add`, loopback only): a TCP listener with
// backlog 1 that never accepts and a burst of connections must show, within two samples, the
// ListenOverflows rate and the full accept queue of that listener, named with its owner; and
// connection tracking switched on by an nftables rule must be reported as "appeared" on a host
// whose policy forbids it. Needs root, iproute2 and (for conntrack) nft: skips otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "binwatch/net/net_sampler.h"
#include "binwatch/net/net_watch.h"

namespace binwatch::net {
namespace {

const Finding* find(const std::vector<Finding>& v, std::string_view id) {
  for (const auto& f : v) {
    if (f.rule_id == id) return &f;
  }
  return nullptr;
}

bool quiet_system(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// Moves this (single-threaded) test process into a fresh namespace and back.
class Netns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace";
    if (!quiet_system("command -v ip")) GTEST_SKIP() << "iproute2 (ip) not installed";
    m_name = "binwatch-test-" + std::to_string(::getpid());
    if (!quiet_system("ip netns add " + m_name)) GTEST_SKIP() << "`ip netns add` failed here";
    m_created = true;
    m_orig = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int fd = ::open(("/run/netns/" + m_name).c_str(), O_RDONLY | O_CLOEXEC);
    if (m_orig < 0 || fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      if (fd >= 0) ::close(fd);
      GTEST_SKIP() << "setns into " << m_name << " failed: " << std::strerror(errno);
    }
    ::close(fd);
    m_inside = true;
    // Loopback up (the namespace starts with lo down).
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(::ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    ::close(s);
  }
  void TearDown() override {
    for (int fd : m_fds) ::close(fd);
    if (m_inside) {
      EXPECT_EQ(::setns(m_orig, CLONE_NEWNET), 0);
    }
    if (m_orig >= 0) ::close(m_orig);
    if (m_created) quiet_system("ip netns del " + m_name);
  }
  int keep(int fd) {
    m_fds.push_back(fd);
    return fd;
  }
  // Listener on 127.0.0.1 with `backlog`; returns its port.
  uint16_t listen_on(int backlog) {
    const int l = keep(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(l, backlog), 0);
    socklen_t len = sizeof a;
    ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  void connect_burst(uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
      const int c = keep(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS expected
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  std::string m_name;
  bool m_created = false, m_inside = false;
  int m_orig = -1;
  std::vector<int> m_fds;
};

TEST_F(Netns, ListenOverflowAndFullQueueWithinTwoSamples) {
  const NetPolicy policy = default_net_policy();
  SamplerOptions options;  // /proc and sock_diag, both of this namespace now
  WatchState state;
  auto s1 = take_sample(options, 0.0);
  ASSERT_TRUE(s1.listener_error.empty()) << s1.listener_error;
  auto d1 = decide(policy, s1.observation, state);
  EXPECT_EQ(find(d1.findings, "listen-overflows"), nullptr);

  const uint16_t port = listen_on(1);
  connect_burst(port, 20);

  auto s2 = take_sample(options, 1.0);  // the second sample
  auto d2 = decide(policy, s2.observation, d1.next);
  const auto& rates = d2.next.rates;
  ASSERT_TRUE(rates.contains("TcpExtListenOverflows"));
  const double overflow_rate = rates.at("TcpExtListenOverflows").rate;
  EXPECT_GT(overflow_rate, 0);
  const Finding* overflow = find(d2.findings, "listen-overflows");
  ASSERT_NE(overflow, nullptr);

  const std::string name = "127.0.0.1:" + std::to_string(port);
  const Finding* full = find(d2.findings, "listen-queue-full");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->counter, "listen." + name);
  EXPECT_EQ(full->severity, Severity::Critical);
  EXPECT_NE(full->message.find(name), std::string::npos);
  EXPECT_NE(full->message.find("pid " + std::to_string(::getpid())), std::string::npos) << full->message;
  ASSERT_TRUE(s2.observation.listeners);
  const Listener* l = nullptr;
  for (const auto& x : *s2.observation.listeners) {
    if (x.name == name) l = &x;
  }
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->socket.wqueue, 1u);
  EXPECT_GE(l->socket.rqueue, 1u);
  std::cout << "[measured] listener " << name << " queue " << l->socket.rqueue << "/" << l->socket.wqueue
            << ", ListenOverflows +" << rates.at("TcpExtListenOverflows").delta << " ("
            << overflow_rate << "/s), ListenDrops +"
            << (rates.contains("TcpExtListenDrops") ? rates.at("TcpExtListenDrops").delta : -1)
            << ", owner " << l->process << " pid " << (l->pid ? *l->pid : -1) << "\n";
}

TEST_F(Netns, ConntrackAppearsWhenARuleNeedsIt) {
  if (!quiet_system("command -v nft")) GTEST_SKIP() << "nft (nftables) not installed";
  if (::access("/proc/sys/net/netfilter/nf_conntrack_count", R_OK) != 0) {
    GTEST_SKIP() << "no nf_conntrack in this kernel (and modprobe is not attempted)";
  }
  // The default policy (allowed = "if-present-at-start"): no tracking at the first sample, so its
  // appearance later is the critical finding without any per-host setting.
  const NetPolicy policy = default_net_policy();
  ASSERT_EQ(policy.conntrack.allowed, ConntrackAllowed::IfPresentAtStart);
  SamplerOptions options;
  options.listeners = false;
  auto s1 = take_sample(options, 0.0);
  ASSERT_TRUE(s1.observation.conntrack_active.has_value());
  ASSERT_FALSE(*s1.observation.conntrack_active) << s1.observation.conntrack_evidence;
  auto d1 = decide(policy, s1.observation, {});
  EXPECT_TRUE(d1.findings.empty());

  // A stateful rule registers conntrack hooks in this namespace only (`iptables -t nat -L` did
  // the same through module auto-loading in SoundCloud's outage).
  ASSERT_TRUE(quiet_system("nft add table inet binwatch_test"));
  ASSERT_TRUE(quiet_system("nft 'add chain inet binwatch_test out { type filter hook output priority 0 ; }'"));
  ASSERT_TRUE(quiet_system("nft add rule inet binwatch_test out ct state new counter"));
  const uint16_t port = listen_on(16);
  connect_burst(port, 5);

  auto s2 = take_sample(options, 1.0);
  auto d2 = decide(policy, s2.observation, d1.next);
  const Finding* appeared = find(d2.findings, "conntrack-appeared");
  ASSERT_NE(appeared, nullptr) << s2.observation.conntrack_evidence;
  EXPECT_EQ(appeared->severity, Severity::Critical);
  const auto count = s2.observation.values.at("conntrack.count");
  const auto max = s2.observation.values.at("conntrack.max");
  EXPECT_GE(count, 5);
  EXPECT_EQ(s2.observation.values.at("conntrack.stat.entries"), count);
  std::cout << "[measured] conntrack in netns: count " << count << " max " << max << " fill "
            << static_cast<double>(count) / static_cast<double>(max) << "; evidence: "
            << s2.observation.conntrack_evidence << "\n";

  // Fill ratio against a tiny table, if this kernel lets a namespace set its own maximum.
  std::ofstream maxfile("/proc/sys/net/netfilter/nf_conntrack_max");
  maxfile << count << "\n";
  maxfile.flush();
  if (!maxfile) {
    std::cout << "[measured] nf_conntrack_max is not writable in a non-initial namespace here: "
                 "fill > 90% checked on snapshots only\n";
    return;
  }
  auto s3 = take_sample(options, 2.0);
  auto d3 = decide(policy, s3.observation, d2.next);
  const Finding* fill = find(d3.findings, "conntrack-fill");
  ASSERT_NE(fill, nullptr);
  EXPECT_EQ(fill->severity, Severity::Critical);
}

}  // namespace
}  // namespace binwatch::net
