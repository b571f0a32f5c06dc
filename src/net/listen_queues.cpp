// NETLINK_SOCK_DIAG dump of TCP listeners (IPv4 and IPv6); the reply bytes are decoded by the
// pure parser in parsers/procfs/inet_diag.cpp.
#include "binwatch/net/listen_queues.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "binwatch/procfs/inet_diag.h"

namespace binwatch::net {

namespace {

constexpr int kTcpListen = 10;

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return m_fd; }

 private:
  int m_fd;
};

void dump_family(int family, std::vector<Listener>& out) {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (fd.get() < 0) throw SockDiagError(std::string("socket(NETLINK_SOCK_DIAG): ") + std::strerror(errno));
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = static_cast<uint8_t>(family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << kTcpListen;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    throw SockDiagError(std::string("sendto(NETLINK_SOCK_DIAG): ") + std::strerror(errno));
  }
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SockDiagError(std::string("recv(NETLINK_SOCK_DIAG): ") + std::strerror(errno));
    }
    if (n == 0) return;
    auto batch = procfs::parse_inet_diag(Bytes(buf.data(), static_cast<size_t>(n)));
    if (!batch.ok()) throw SockDiagError("sock_diag reply: " + procfs::to_string(batch.error()));
    for (auto& s : batch->sockets) {
      if (s.state != kTcpListen) continue;
      Listener l;
      l.name = procfs::endpoint_name(s);
      l.socket = std::move(s);
      out.push_back(std::move(l));
    }
    if (batch->error) {
      // EAFNOSUPPORT / ENOENT for a family the kernel lacks (no IPv6): nothing to list.
      if (*batch->error == ENOENT || *batch->error == EAFNOSUPPORT) return;
      throw SockDiagError(std::string("sock_diag: ") + std::strerror(*batch->error));
    }
    if (batch->done) return;
  }
}

}  // namespace

std::vector<Listener> read_listeners() {
  std::vector<Listener> out;
  dump_family(AF_INET, out);
  dump_family(AF_INET6, out);
  return out;
}

std::map<uint64_t, int64_t> socket_owners(const std::set<uint64_t>& inodes, const std::filesystem::path& proc_root) {
  namespace fs = std::filesystem;
  std::map<uint64_t, int64_t> out;
  if (inodes.empty()) return out;
  std::error_code ec;
  for (fs::directory_iterator it(proc_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.size() > 10 || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int64_t pid = std::stoll(name);
    std::error_code fec;
    for (fs::directory_iterator fd(it->path() / "fd", fec), fend; !fec && fd != fend; fd.increment(fec)) {
      std::error_code lec;
      const std::string target = fs::read_symlink(fd->path(), lec).string();
      if (lec || !target.starts_with("socket:[")) continue;
      const uint64_t inode = std::strtoull(target.c_str() + 8, nullptr, 10);
      if (!inodes.contains(inode)) continue;
      out.emplace(inode, pid);  // the first found keeps it
    }
    if (out.size() == inodes.size()) break;
  }
  return out;
}

void attach_owners(std::vector<Listener>& listeners, const std::filesystem::path& proc_root) {
  std::set<uint64_t> inodes;
  for (const auto& l : listeners) {
    if (l.socket.inode != 0) inodes.insert(l.socket.inode);
  }
  const auto owners = socket_owners(inodes, proc_root);
  for (auto& l : listeners) {
    const auto owner = owners.find(l.socket.inode);
    if (l.socket.inode == 0 || owner == owners.end() || l.pid) continue;
    l.pid = static_cast<int>(owner->second);
    std::ifstream comm(proc_root / std::to_string(owner->second) / "comm");
    std::getline(comm, l.process);
  }
}

}  // namespace binwatch::net
