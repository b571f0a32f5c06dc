#include "binwatch/watch/process_table.h"

#include <fstream>
#include <iterator>
#include <sstream>

namespace binwatch::watch {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

std::optional<procfs::ProcStat> ProcessTable::stat(int64_t pid) const {
  if (pid <= 0) return std::nullopt;
  const auto text = slurp(m_root / std::to_string(pid) / "stat");
  if (!text) return std::nullopt;
  auto r = procfs::parse_proc_stat(*text);
  if (!r) return std::nullopt;
  return *r;
}

std::optional<uint32_t> ProcessTable::uid(int64_t pid) const {
  if (pid <= 0) return std::nullopt;
  const auto text = slurp(m_root / std::to_string(pid) / "status");
  if (!text) return std::nullopt;
  return procfs::parse_status_uid(*text);
}

std::optional<int64_t> ProcessTable::boot_time() const {
  const auto text = slurp(m_root / "stat");
  if (!text) return std::nullopt;
  return procfs::parse_boot_time(*text);
}

std::vector<procfs::TcpSocket> ProcessTable::tcp_sockets() const {
  std::vector<procfs::TcpSocket> out;
  for (const bool v6 : {false, true}) {
    const auto text = slurp(m_root / "net" / (v6 ? "tcp6" : "tcp"));
    if (!text) continue;
    auto r = procfs::parse_proc_net_tcp(*text, v6);
    if (r) out.insert(out.end(), r->begin(), r->end());
  }
  return out;
}

std::map<uint64_t, int64_t> ProcessTable::socket_owners(const std::set<uint64_t>& inodes) const {
  std::map<uint64_t, int64_t> out;
  if (inodes.empty()) return out;
  std::error_code ec;
  for (fs::directory_iterator it(m_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fec;
    for (fs::directory_iterator fd(it->path() / "fd", fec), fend; !fec && fd != fend; fd.increment(fec)) {
      std::error_code lec;
      const std::string target = fs::read_symlink(fd->path(), lec).string();
      if (lec || target.rfind("socket:[", 0) != 0) continue;
      const uint64_t inode = std::strtoull(target.c_str() + 8, nullptr, 10);
      if (inodes.count(inode) && !out.count(inode)) out[inode] = std::stoll(name);
    }
    if (out.size() == inodes.size()) break;
  }
  return out;
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
  const auto comm = slurp(m_root / std::to_string(pid) / "comm");
  return comm && (*comm == "binwatch\n" || *comm == "binwatch");
}

}  // namespace binwatch::watch
