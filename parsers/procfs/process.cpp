// /proc/PID/stat and /proc/net/tcp{,6} parsers; layouts in include/binwatch/procfs/process.h.
#include "binwatch/procfs/process.h"

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "text_util.h"

namespace binwatch::procfs {

namespace {

bool to_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool hex_u32(std::string_view s, uint32_t& out) {
  if (s.size() != 8) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "0100007F:0CEA": the words are the kernel's in-memory address words printed as host integers,
// so copying each parsed word back in host order restores network byte order.
bool parse_endpoint(std::string_view f, bool v6, std::array<uint8_t, 16>& addr, uint16_t& port) {
  const size_t colon = f.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view a = f.substr(0, colon), p = f.substr(colon + 1);
  const size_t words = v6 ? 4 : 1;
  if (a.size() != words * 8) return false;
  for (size_t i = 0; i < words; ++i) {
    uint32_t w = 0;
    if (!hex_u32(a.substr(i * 8, 8), w)) return false;
    std::memcpy(addr.data() + i * 4, &w, 4);
  }
  uint32_t pv = 0;
  if (p.size() != 4) return false;
  auto r = std::from_chars(p.data(), p.data() + p.size(), pv, 16);
  if (r.ec != std::errc() || r.ptr != p.data() + p.size()) return false;
  port = static_cast<uint16_t>(pv);
  return true;
}

bool v4_mapped(const std::array<uint8_t, 16>& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kPrefix, 12) == 0;
}

}  // namespace

ParseResult<ProcStat> parse_proc_stat(std::string_view text) {
  ProcStat s;
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return ParseError{1, 1, "expected 'pid (comm) state ...'"};
  if (!detail::to_int64(detail::trim(text.substr(0, open)), s.pid) || s.pid <= 0)
    return ParseError{1, 1, "pid is not a positive integer"};
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  const auto f = detail::split_fields(text.substr(close + 1));
  // After comm: state(3) ppid(4) pgrp(5) ... starttime(22), i.e. f[0] .. f[19].
  if (f.size() < 20) return ParseError{1, close + 2, "expected at least 22 fields, found " + std::to_string(f.size() + 2)};
  const size_t base = close + 1;
  if (f[0].text.size() != 1) return ParseError{1, base + f[0].column, "state is not one letter"};
  s.state = f[0].text[0];
  if (!detail::to_int64(f[1].text, s.ppid) || s.ppid < 0) return ParseError{1, base + f[1].column, "ppid is not an integer"};
  if (!detail::to_int64(f[2].text, s.pgrp) || s.pgrp < 0) return ParseError{1, base + f[2].column, "pgrp is not an integer"};
  if (!to_u64(f[19].text, s.start_time)) return ParseError{1, base + f[19].column, "starttime is not an integer"};
  return s;
}

ParseResult<std::vector<TcpSocket>> parse_proc_net_tcp(std::string_view text, bool v6) {
  std::vector<TcpSocket> out;
  for (const auto& line : detail::split_lines(text)) {
    const auto f = detail::split_fields(line.text);
    if (f.empty()) continue;
    if (line.number == 1 && f[0].text == "sl") continue;
    if (f.size() < 10) return ParseError{line.number, 1, "expected at least 10 fields, found " + std::to_string(f.size())};
    TcpSocket s;
    s.v6 = v6;
    if (!parse_endpoint(f[1].text, v6, s.local, s.local_port))
      return ParseError{line.number, f[1].column, "local_address is not ADDR:PORT in hex"};
    if (!parse_endpoint(f[2].text, v6, s.remote, s.remote_port))
      return ParseError{line.number, f[2].column, "rem_address is not ADDR:PORT in hex"};
    int64_t st = 0;
    if (!detail::hex_to_int64(f[3].text, st) || st < 0 || st > 255) return ParseError{line.number, f[3].column, "st is not a hex byte"};
    s.state = static_cast<uint8_t>(st);
    uint64_t uid = 0;
    if (!to_u64(f[7].text, uid) || uid > UINT32_MAX) return ParseError{line.number, f[7].column, "uid is not an integer"};
    s.uid = static_cast<uint32_t>(uid);
    if (!to_u64(f[9].text, s.inode)) return ParseError{line.number, f[9].column, "inode is not an integer"};
    out.push_back(s);
  }
  return out;
}

bool is_loopback(const TcpSocket& s, bool local_side) {
  const auto& a = local_side ? s.local : s.remote;
  if (!s.v6) return a[0] == 127;
  if (v4_mapped(a)) return a[12] == 127;
  static constexpr uint8_t kOne[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(a.data(), kOne, 16) == 0;
}

std::string address_text(const TcpSocket& s, bool local_side) {
  const auto& a = local_side ? s.local : s.remote;
  char buf[INET6_ADDRSTRLEN] = {};
  if (!s.v6) return ::inet_ntop(AF_INET, a.data(), buf, sizeof buf) ? buf : "";
  if (v4_mapped(a)) return ::inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf) ? buf : "";
  return ::inet_ntop(AF_INET6, a.data(), buf, sizeof buf) ? buf : "";
}

std::optional<SessionEndpoint> parse_session_host(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view p = host.substr(colon + 1);
  uint32_t port = 0;
  auto r = std::from_chars(p.data(), p.data() + p.size(), port);
  if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || port == 0 || port > 65535) return std::nullopt;
  SessionEndpoint e;
  e.address = std::string(host.substr(0, colon));
  if (e.address.size() > 2 && e.address.front() == '[' && e.address.back() == ']')
    e.address = e.address.substr(1, e.address.size() - 2);
  e.port = static_cast<uint16_t>(port);
  return e;
}

namespace {

std::string unmapped(std::string_view addr) {
  if (addr.rfind("::ffff:", 0) == 0 && addr.find('.') != std::string_view::npos) addr.remove_prefix(7);
  return std::string(addr);
}

}  // namespace

uint64_t client_socket_inode(const std::vector<TcpSocket>& sockets, const SessionEndpoint& peer, uint16_t server_port) {
  constexpr uint8_t kEstablished = 1;
  const std::string addr = unmapped(peer.address);
  for (const auto& s : sockets) {
    if (s.state != kEstablished || s.local_port != peer.port || s.remote_port != server_port || s.inode == 0) continue;
    const bool same = addr == "localhost" ? is_loopback(s, true) : address_text(s, true) == addr;
    if (!same) continue;
    // The server's end of this very connection: local = the client's remote, remote = the client's local.
    const std::string client_local = address_text(s, true), client_remote = address_text(s, false);
    const bool server_side = std::any_of(sockets.begin(), sockets.end(), [&](const TcpSocket& t) {
      return t.state == kEstablished && &t != &s && t.local_port == server_port && t.remote_port == s.local_port &&
             address_text(t, true) == client_remote && address_text(t, false) == client_local;
    });
    if (server_side) return s.inode;
  }
  return 0;
}

const TcpSocket* find_tcp_socket(const std::vector<TcpSocket>& sockets, std::string_view local_addr,
                                 uint16_t local_port, std::string_view remote_addr, uint16_t remote_port) {
  constexpr uint8_t kEstablished = 1;
  const std::string local = unmapped(local_addr), remote = unmapped(remote_addr);
  for (const auto& s : sockets) {
    if (s.state != kEstablished || s.local_port != local_port || s.remote_port != remote_port) continue;
    if (address_text(s, true) != local) continue;
    if (!remote.empty() && address_text(s, false) != remote) continue;
    return &s;
  }
  return nullptr;
}

std::optional<uint32_t> parse_status_uid(std::string_view text) {
  for (const auto& line : detail::split_lines(text)) {
    if (line.text.rfind("Uid:", 0) != 0) continue;
    const auto f = detail::split_fields(line.text.substr(4));
    uint64_t uid = 0;
    if (f.empty() || !to_u64(f[0].text, uid) || uid > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(uid);
  }
  return std::nullopt;
}

std::optional<int64_t> parse_boot_time(std::string_view text) {
  for (const auto& line : detail::split_lines(text)) {
    const auto f = detail::split_fields(line.text);
    if (f.size() < 2 || f[0].text != "btime") continue;
    int64_t t = 0;
    if (!detail::to_int64(f[1].text, t) || t <= 0) return std::nullopt;
    return t;
  }
  return std::nullopt;
}

double start_unix_s(const ProcStat& s, int64_t boot_time_s, long ticks_per_s) {
  return static_cast<double>(boot_time_s) +
         static_cast<double>(s.start_time) / static_cast<double>(ticks_per_s > 0 ? ticks_per_s : 100);
}

bool started_by(const ProcStat& s, int64_t boot_time_s, long ticks_per_s, double by_unix_s, double tolerance_s) {
  return start_unix_s(s, boot_time_s, ticks_per_s) <= by_unix_s + tolerance_s;
}

}  // namespace binwatch::procfs
