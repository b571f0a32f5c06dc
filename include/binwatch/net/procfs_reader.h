#pragma once
// Reads the network and memory counters binwatch watches from a procfs root ("/proc", a
// "/proc/PID" of a process in another network namespace, or a snapshot folder under
// fixtures/procfs/) and flattens them into one map (names in binwatch/procfs/counters.h).
//
// /proc/net is per network namespace: /proc/PID/net shows PID's namespace. /proc/sys is the
// namespace of the process that opens it, and a /proc/PID root has no sys/ folder: sysctls are
// then absent (listed in `missing`), which every consumer treats as unknown.
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "binwatch/procfs/counters.h"
#include "binwatch/procfs/modules.h"
#include "binwatch/procfs/route.h"

namespace binwatch::net {

// A required file is unreadable, or a file does not parse. what() names the file.
class ProcfsError : public std::runtime_error {
 public:
  ProcfsError(std::filesystem::path file, const std::string& detail)
      : std::runtime_error(file.string() + ": " + detail), m_file(std::move(file)) {}
  [[nodiscard]] const std::filesystem::path& file() const { return m_file; }

 private:
  std::filesystem::path m_file;
};

struct ProcSnapshot {
  procfs::CounterMap values;                       // counters and gauges, flattened
  std::map<std::string, std::string> sysctl_text;  // every sysctl read, as normalized text
  std::vector<procfs::KernelModule> modules;
  bool modules_file = false;     // /proc/modules exists (kernel with module support)
  bool conntrack_sysctls = false;  // net/netfilter/nf_conntrack_count readable
  std::vector<procfs::Route> routes;  // net/route (IPv4, main table); empty when absent
  std::optional<std::string> default_route_interface;  // of `routes`: "@default-route" in a policy
  std::vector<std::string> missing;  // optional files that were absent (relative to the root)
  // net/route could not be parsed: "FILE:LINE:COL: ..." (only `@default-route` is then unknown;
  // the rest of the sample stands).
  std::optional<std::string> route_error;
};

// The sysctls read (dotted names, as `sysctl` prints them).
const std::vector<std::string>& watched_sysctls();

class ProcfsReader {
 public:
  explicit ProcfsReader(std::filesystem::path root = "/proc") : m_root(std::move(root)) {}
  [[nodiscard]] const std::filesystem::path& root() const { return m_root; }
  // Throws ProcfsError when net/snmp or net/netstat cannot be read or any file but net/route
  // fails to parse (a bad net/route only leaves the default route unknown: `route_error`).
  [[nodiscard]] ProcSnapshot read() const;

 private:
  std::filesystem::path m_root;
};

// Is connection tracking in use? With module support: nf_conntrack is in /proc/modules. Built in
// (no /proc/modules, or the sysctls exist without the module): the table is non-empty. `why` says
// which evidence was used.
bool conntrack_active(const ProcSnapshot& s, std::string* why = nullptr);

}  // namespace binwatch::net
