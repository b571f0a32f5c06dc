// Reads /proc files through the pure parsers in parsers/procfs.
#include "binwatch/net/procfs_reader.h"

#include <fstream>
#include <iterator>
#include <optional>

namespace binwatch::net {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::nullopt;
  return s;
}

template <typename T>
T checked(procfs::ParseResult<T> r, const fs::path& file) {
  if (!r.ok()) throw ProcfsError(file, procfs::to_string(r.error()));
  return std::move(r.value());
}

void merge(procfs::CounterMap& into, procfs::CounterMap from) {
  for (auto& [k, v] : from) into[k] = v;
}

}  // namespace

const std::vector<std::string>& watched_sysctls() {
  static const std::vector<std::string> kNames = {
      "net.core.somaxconn",
      "net.core.netdev_max_backlog",
      "net.ipv4.tcp_max_syn_backlog",
      "net.ipv4.tcp_syncookies",
      "net.ipv4.tcp_timestamps",
      "net.ipv4.tcp_invalid_ratelimit",
      "net.ipv4.tcp_tw_recycle",
      "net.ipv4.tcp_tw_reuse",
      "net.ipv4.tcp_max_tw_buckets",
      "net.ipv4.tcp_max_orphans",
      "net.ipv4.tcp_fin_timeout",
      "net.ipv4.ip_local_port_range",
      "net.netfilter.nf_conntrack_max",
      "net.netfilter.nf_conntrack_count",
      "net.netfilter.nf_conntrack_buckets",
      "net.nf_conntrack_max",
      "vm.swappiness",
  };
  return kNames;
}

ProcSnapshot ProcfsReader::read() const {
  ProcSnapshot s;
  auto required = [&](const char* rel) {
    const fs::path p = m_root / rel;
    auto t = read_text(p);
    if (!t) throw ProcfsError(p, "cannot read (is this a procfs root?)");
    return std::move(*t);
  };
  auto optional = [&](const char* rel) -> std::optional<std::string> {
    auto t = read_text(m_root / rel);
    if (!t) s.missing.emplace_back(rel);
    return t;
  };

  merge(s.values, checked(procfs::parse_snmp_pairs(required("net/snmp")), m_root / "net/snmp"));
  merge(s.values, checked(procfs::parse_snmp_pairs(required("net/netstat")), m_root / "net/netstat"));
  if (auto t = optional("net/snmp6")) {
    merge(s.values, checked(procfs::parse_name_value_lines(*t, ""), m_root / "net/snmp6"));
  }
  if (auto t = optional("net/sockstat")) {
    merge(s.values, checked(procfs::parse_sockstat(*t, "sockstat."), m_root / "net/sockstat"));
  }
  if (auto t = optional("net/sockstat6")) {
    merge(s.values, checked(procfs::parse_sockstat(*t, "sockstat6."), m_root / "net/sockstat6"));
  }
  if (auto t = optional("net/dev")) {
    merge(s.values, checked(procfs::parse_net_dev(*t), m_root / "net/dev"));
  }
  if (auto t = optional("net/stat/nf_conntrack")) {
    merge(s.values, checked(procfs::parse_conntrack_stat(*t), m_root / "net/stat/nf_conntrack"));
  }
  if (auto t = optional("meminfo")) {
    merge(s.values, checked(procfs::parse_meminfo(*t), m_root / "meminfo"));
  }
  if (auto t = optional("vmstat")) {
    merge(s.values, checked(procfs::parse_name_value_lines(*t, "vmstat."), m_root / "vmstat"));
  }
  if (auto t = optional("net/route")) {
    // Only `@default-route` needs it: a file that does not parse leaves that unknown, and the
    // counters still count.
    auto routes = procfs::parse_route(*t);
    if (routes.ok()) {
      s.routes = std::move(*routes);
      s.default_route_interface = procfs::default_route_interface(s.routes);
    } else {
      s.route_error = (m_root / "net/route").string() + ":" + procfs::to_string(routes.error());
    }
  }
  if (auto t = read_text(m_root / "modules")) {
    s.modules_file = true;
    s.modules = checked(procfs::parse_modules(*t), m_root / "modules");
  } else {
    s.missing.emplace_back("modules");
  }
  for (const auto& name : watched_sysctls()) {
    std::string rel = "sys/" + name;
    for (char& c : rel) {
      if (c == '.') c = '/';
    }
    const fs::path p = m_root / rel;
    auto t = read_text(p);
    if (!t) {
      s.missing.push_back(rel);
      continue;
    }
    s.sysctl_text[name] = procfs::normalize_sysctl_text(*t);
    auto v = procfs::parse_single_integer(*t);
    if (v.ok()) s.values["sysctl." + name] = *v;
  }
  if (auto it = s.values.find("sysctl.net.netfilter.nf_conntrack_count"); it != s.values.end()) {
    s.conntrack_sysctls = true;
    s.values["conntrack.count"] = it->second;
  }
  if (auto it = s.values.find("sysctl.net.netfilter.nf_conntrack_max"); it != s.values.end()) {
    s.values["conntrack.max"] = it->second;
  } else if (auto old = s.values.find("sysctl.net.nf_conntrack_max"); old != s.values.end()) {
    s.values["conntrack.max"] = old->second;
  }
  return s;
}

bool conntrack_active(const ProcSnapshot& s, std::string* why) {
  auto say = [&](std::string text) {
    if (why) *why = std::move(text);
  };
  if (s.modules_file) {
    for (const auto& m : s.modules) {
      if (m.name == "nf_conntrack") {
        say("module nf_conntrack is loaded (/proc/modules)");
        return true;
      }
    }
  }
  auto count = s.values.find("conntrack.count");
  if (count != s.values.end() && count->second > 0) {
    say("nf_conntrack_count is " + std::to_string(count->second) +
        (s.modules_file ? "" : " (connection tracking built into the kernel)"));
    return true;
  }
  say(s.conntrack_sysctls ? "nf_conntrack_count is 0" : "no nf_conntrack module or sysctls");
  return false;
}

}  // namespace binwatch::net
