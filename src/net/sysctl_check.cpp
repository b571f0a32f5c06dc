#include "binwatch/net/sysctl_check.h"

#include <fmt/format.h>

namespace binwatch::net {

namespace {

std::optional<int64_t> get(const ProcSnapshot& s, const std::string& name) {
  auto it = s.values.find(name);
  if (it == s.values.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::vector<SysctlFinding> check_sysctls(const ProcSnapshot& s,
                                         const std::optional<std::vector<Listener>>& listeners,
                                         const ListenPolicy& listen) {
  std::vector<SysctlFinding> out;
  const auto somaxconn = get(s, "sysctl.net.core.somaxconn");

  if (somaxconn && *somaxconn <= 128) {
    out.push_back({Severity::Warning, "somaxconn-low", "net.core.somaxconn", std::to_string(*somaxconn),
                   "every listen() backlog is silently capped at this value (128 was the default "
                   "before Linux 5.4). A busy nginx, HAProxy or mysqld (back_log) asking for more "
                   "gets 128, and bursts overflow the accept queue (ListenOverflows). Raising it "
                   "only helps once the application's own backlog is raised too."});
  }
  if (listeners) {
    for (const auto& f : check_listeners(listen, *listeners, somaxconn)) {
      if (f.rule_id == "listen-queue-full") continue;  // a live condition, `netstat` reports it
      out.push_back({f.rule_id == "listen-backlog-capped" ? Severity::Warning : Severity::Info, f.rule_id,
                     f.counter.substr(7), fmt::format("backlog {}", static_cast<int64_t>(f.value)),
                     f.message + (f.rule_id == "listen-backlog-capped"
                                      ? ". If the application asked for more, raising somaxconn "
                                        "raises this listener's backlog after it re-listens."
                                      : ". Chartbeat's nginx stayed at 511 with somaxconn=16384 "
                                        "until `listen ... backlog=` was set.")});
    }
  }

  if (auto recycle = get(s, "sysctl.net.ipv4.tcp_tw_recycle")) {
    if (*recycle != 0) {
      out.push_back({Severity::Critical, "tcp-tw-recycle", "net.ipv4.tcp_tw_recycle", "1",
                     "drops SYNs from clients behind a NAT whose timestamps are not monotonic "
                     "across hosts (PAWS per peer address); it was removed in Linux 4.12 for that "
                     "reason. TIME_WAIT pressure is better handled by tcp_tw_reuse (outgoing only) "
                     "or by connection reuse."});
    } else {
      out.push_back({Severity::Info, "tcp-tw-recycle", "net.ipv4.tcp_tw_recycle", "0",
                     "present (kernel older than 4.12) and off: keep it off; guides that tell you "
                     "to enable it predate its NAT breakage."});
    }
  }

  if (auto rl = get(s, "sysctl.net.ipv4.tcp_invalid_ratelimit")) {
    if (*rl == 0) {
      out.push_back({Severity::Warning, "tcp-invalid-ratelimit-off", "net.ipv4.tcp_invalid_ratelimit",
                     "0",
                     "duplicate ACKs answering out-of-window or PAWS-rejected segments are not rate "
                     "limited: an ACK loop with a peer or middlebox (Mixpanel's PAWS storm, "
                     "300-400 Mbps of ACKs) runs at full speed. The default is 500 (ms)."});
    }
  } else if (get(s, "TcpExtPAWSEstab")) {
    out.push_back({Severity::Info, "tcp-invalid-ratelimit-absent", "net.ipv4.tcp_invalid_ratelimit",
                   "absent",
                   "this kernel predates the ACK-loop mitigation (Linux 4.0): a PAWS/ACK storm "
                   "cannot be rate limited here except by disabling tcp_timestamps, which costs RTT "
                   "measurement and sequence-wrap protection (RFC 7323). Watch TcpExtPAWSEstab."});
  }

  std::string why;
  const bool ct = conntrack_active(s, &why);
  const auto max = get(s, "conntrack.max");
  const auto count = get(s, "conntrack.count");
  if (ct && max && *max > 0) {
    const int64_t conns = get(s, "TcpCurrEstab").value_or(0) + get(s, "sockstat.TCP.tw").value_or(0);
    const double fill = count ? static_cast<double>(*count) / static_cast<double>(*max) : 0;
    if (fill >= 0.5 || conns * 2 > *max) {
      out.push_back(
          {fill >= 0.9 ? Severity::Critical : Severity::Warning, "conntrack-max-small",
           "net.netfilter.nf_conntrack_max", std::to_string(*max),
           fmt::format("connection tracking is active ({}) with {} entries of {} ({:.0f}%) and {} "
                       "established + TIME_WAIT TCP sockets. Every tracked flow, TIME_WAIT "
                       "included, takes an entry; when the table is full the kernel logs "
                       "'nf_conntrack: table full, dropping packet' and drops new flows. Either "
                       "size nf_conntrack_max (and nf_conntrack_buckets) for the peak, or, if this "
                       "host needs no tracking, find what loaded it (SoundCloud: `iptables -t nat "
                       "-L`) and block the modules in modprobe.d.",
                       why, count.value_or(0), *max, fill * 100, conns)});
    }
  }
  return out;
}

}  // namespace binwatch::net
