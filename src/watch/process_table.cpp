#include "binwatch/watch/process_table.h"


#include "binwatch/atomic_file.h"
#include "binwatch/net/listen_queues.h"

namespace binwatch::watch {

namespace fs = std::filesystem;

std::optional<procfs::ProcStat> ProcessTable::stat(int64_t pid) const {
  if (pid <= 0) return std::nullopt;
  const auto text = read_whole_file(m_root / std::to_string(pid) / "stat");
  if (!text) return std::nullopt;
  auto r = procfs::parse_proc_stat(*text);
  if (!r) return std::nullopt;
  return *r;
}

std::optional<uint32_t> ProcessTable::uid(int64_t pid) const {
  if (pid <= 0) return std::nullopt;
  const auto text = read_whole_file(m_root / std::to_string(pid) / "status");
  if (!text) return std::nullopt;
  return procfs::parse_status_uid(*text);
}

std::optional<int64_t> ProcessTable::boot_time() const {
  const auto text = read_whole_file(m_root / "stat");
  if (!text) return std::nullopt;
  return procfs::parse_boot_time(*text);
}

std::vector<procfs::TcpSocket> ProcessTable::tcp_sockets() const {
  std::vector<procfs::TcpSocket> out;
  for (const bool v6 : {false, true}) {
    const auto text = read_whole_file(m_root / "net" / (v6 ? "tcp6" : "tcp"));
    if (!text) continue;
    auto r = procfs::parse_proc_net_tcp(*text, v6);
    if (r) out.insert(out.end(), r->begin(), r->end());
  }
  return out;
}

std::map<uint64_t, int64_t> ProcessTable::socket_owners(const std::set<uint64_t>& inodes) const {
  return net::socket_owners(inodes, m_root);
}

bool ProcessTable::is_binwatch(int64_t pid) const {
  if (pid <= 0) return false;
  const fs::path exe = m_root / std::to_string(pid) / "exe";
  std::error_code ec;
  std::string target = fs::read_symlink(exe, ec).string();
  if (!ec) {
    static constexpr std::string_view kDeleted = " (deleted)";  // replaced by a package upgrade
    if (target.size() > kDeleted.size() && target.ends_with(kDeleted)) target.resize(target.size() - kDeleted.size());
    if (fs::path(target).filename() == "binwatch") return true;
    std::error_code eq;
    return fs::equivalent(exe, "/proc/self/exe", eq) && !eq;
  }
  const auto comm = read_whole_file(m_root / std::to_string(pid) / "comm");
  return comm && (*comm == "binwatch\n" || *comm == "binwatch");
}

}  // namespace binwatch::watch
