#pragma once
// Reads processes and TCP sockets from a procfs root ("/proc"; a snapshot folder in tests): the
// I/O half of finding the local client process of a MySQL session. Parsing is in
// binwatch/procfs/process.h. Processes that end meanwhile simply are not found.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "binwatch/procfs/process.h"

namespace binwatch::watch {

class ProcessTable {
 public:
  explicit ProcessTable(std::filesystem::path root = "/proc") : m_root(std::move(root)) {}

  [[nodiscard]] std::optional<procfs::ProcStat> stat(int64_t pid) const;
  // The real uid of `pid` (ROOT/PID/status "Uid:", world-readable), nullopt when unknown.
  [[nodiscard]] std::optional<uint32_t> uid(int64_t pid) const;
  // The boot time in seconds since the epoch (ROOT/stat "btime"), nullopt when unknown.
  [[nodiscard]] std::optional<int64_t> boot_time() const;
  // ROOT/net/tcp and ROOT/net/tcp6 (of the reader's network namespace when ROOT is /proc).
  [[nodiscard]] std::vector<procfs::TcpSocket> tcp_sockets() const;
  // Which process holds each socket inode (one walk over ROOT/*/fd); inodes not found are absent.
  [[nodiscard]] std::map<uint64_t, int64_t> socket_owners(const std::set<uint64_t>& inodes) const;
  // Is `pid` running a binwatch executable? Its exe link names a file "binwatch" or the same file
  // as this process's; when the link cannot be read (another user's process), its comm is "binwatch".
  [[nodiscard]] bool is_binwatch(int64_t pid) const;

 private:
  std::filesystem::path m_root;
};

}  // namespace binwatch::watch
