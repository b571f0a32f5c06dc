#pragma once
// Which mount a path lives on and how full it is (the partitions the server writes to).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace binwatch::watch {

// The mount point holding `path` (longest matching mount point of /proc/self/mountinfo after
// resolving symlinks; the nearest existing parent when the path does not exist). "/" as fallback.
std::string mount_point_of(const std::string& path);

struct DiskUsage {
  uint64_t size = 0;   // f_blocks * f_frsize
  uint64_t avail = 0;  // f_bavail * f_frsize (what an unprivileged writer such as mysqld gets)
  uint64_t used = 0;   // (f_blocks - f_bfree) * f_frsize
};
std::optional<DiskUsage> disk_usage(const std::string& path);

// One partition to watch: its mount point, what the server keeps there, its reserve.
struct MountTarget {
  std::string mount;
  std::vector<std::string> roles;  // "binlog", "datadir", "tmpdir", "relaylog", ...
  std::optional<uint64_t> reserve;
  bool holds_binlog = false;
};

struct RolePath {
  std::string role, path;
};
// Groups role paths by mount point (roles merged, order of first appearance); a later entry
// with a reserve sets its mount's reserve.
std::vector<MountTarget> group_by_mount(const std::vector<RolePath>& paths,
                                        const std::vector<std::optional<uint64_t>>& reserves);

}  // namespace binwatch::watch
