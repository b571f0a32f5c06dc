// NETLINK_SOCK_DIAG reply decoder; byte layout and sources in include/binwatch/procfs/inet_diag.h.
#include "binwatch/procfs/inet_diag.h"

#include <arpa/inet.h>

#include <bit>
#include <cstring>

namespace binwatch::procfs {

// Netlink headers are in host byte order; ByteCursor reads little-endian.
static_assert(std::endian::native == std::endian::little,
              "parse_inet_diag reads netlink host-order fields as little-endian");

namespace {

constexpr uint16_t kNlmsgError = 2;
constexpr uint16_t kNlmsgDone = 3;
constexpr uint16_t kSockDiagByFamily = 20;
constexpr size_t kNlmsgHeader = 16;
constexpr size_t kInetDiagMsg = 72;

size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

std::string format_address(int family, const std::byte* raw) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) {
    uint32_t a = 0;
    std::memcpy(&a, raw, 4);
    if (a == 0) return "*";
    ::inet_ntop(AF_INET, raw, buf, sizeof buf);
  } else {
    static const std::byte kZero[16] = {};
    if (std::memcmp(raw, kZero, 16) == 0) return "*";
    ::inet_ntop(AF_INET6, raw, buf, sizeof buf);
  }
  return buf;
}

}  // namespace

ParseResult<DiagBatch> parse_inet_diag(Bytes buffer) {
  DiagBatch out;
  size_t pos = 0;
  size_t index = 0;
  while (pos < buffer.size()) {
    ++index;
    ByteCursor header(buffer.subspan(pos));
    uint32_t len = 0, seq = 0, pid = 0;
    uint16_t type = 0, flags = 0;
    if (!header.u32le(len) || !header.u16le(type) || !header.u16le(flags) || !header.u32le(seq) ||
        !header.u32le(pid)) {
      return ParseError{index, pos, "truncated netlink header"};
    }
    if (len < kNlmsgHeader || len > buffer.size() - pos) {
      return ParseError{index, pos, "netlink message length " + std::to_string(len) +
                                        " outside the " + std::to_string(buffer.size() - pos) +
                                        " bytes left"};
    }
    ByteCursor body(buffer.subspan(pos + kNlmsgHeader, len - kNlmsgHeader));
    if (type == kNlmsgDone) {
      out.done = true;
      return out;
    }
    if (type == kNlmsgError) {
      uint32_t err = 0;
      if (!body.u32le(err)) return ParseError{index, pos, "truncated NLMSG_ERROR"};
      const int e = -static_cast<int32_t>(err);
      if (e != 0) out.error = e;
      out.done = true;
      return out;
    }
    if (type == kSockDiagByFamily) {
      if (body.remaining() < kInetDiagMsg) {
        return ParseError{index, pos, "inet_diag_msg shorter than 72 bytes"};
      }
      const Bytes m = body.rest();
      DiagSocket s;
      const auto fam = std::to_integer<uint8_t>(m[0]);
      if (fam != AF_INET && fam != AF_INET6) {
        return ParseError{index, pos, "unknown address family " + std::to_string(fam)};
      }
      s.family = fam == AF_INET ? 4 : 6;
      s.state = std::to_integer<uint8_t>(m[1]);
      ByteCursor c(m.subspan(4));
      uint64_t sport = 0;
      if (!c.uint_be(2, sport)) return ParseError{index, pos, "truncated port"};
      s.local_port = static_cast<uint16_t>(sport);
      s.local_address = format_address(s.family, m.data() + 8);
      ByteCursor q(m.subspan(56));
      uint32_t inode = 0;
      if (!q.u32le(s.rqueue) || !q.u32le(s.wqueue) || !q.u32le(s.uid) || !q.u32le(inode)) {
        return ParseError{index, pos, "truncated queue fields"};
      }
      s.inode = inode;
      out.sockets.push_back(std::move(s));
    }
    pos += align4(len);
  }
  return out;
}

std::string endpoint_name(const DiagSocket& s) {
  if (s.family == 6 && s.local_address != "*") {
    return "[" + s.local_address + "]:" + std::to_string(s.local_port);
  }
  return s.local_address + ":" + std::to_string(s.local_port);
}

}  // namespace binwatch::procfs
