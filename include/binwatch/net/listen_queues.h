#pragma once
// Listening TCP sockets with their accept queues, over NETLINK_SOCK_DIAG in the caller's network
// namespace (what `ss -lnt` shows: Recv-Q = current accept queue, Send-Q = backlog), and their
// owning processes from /proc/PID/fd (socket:[inode]) when readable.
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "binwatch/net/net_watch.h"

namespace binwatch::net {

class SockDiagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws SockDiagError when the netlink socket cannot be used (no CONFIG_INET_DIAG, seccomp, ...).
std::vector<Listener> read_listeners();

// The process holding each of these socket inodes, from `proc_root`/PID/fd (socket:[inode]): the
// first found when several share one (/proc lists pids in ascending order); sockets whose owner is in another PID namespace or whose fd
// folder is unreadable are left out. Stops early once every inode is found.
std::map<uint64_t, int64_t> socket_owners(const std::set<uint64_t>& inodes,
                                          const std::filesystem::path& proc_root = "/proc");

// Fills pid/process of each listener from `proc_root`/PID/fd (socket_owners); sockets whose owner
// is in another PID namespace or unreadable stay without one.
void attach_owners(std::vector<Listener>& listeners, const std::filesystem::path& proc_root = "/proc");

}  // namespace binwatch::net
