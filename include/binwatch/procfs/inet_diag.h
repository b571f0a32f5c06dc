#pragma once
// Decoder of NETLINK_SOCK_DIAG replies for TCP sockets (linux include/uapi/linux/inet_diag.h,
// net/ipv4/inet_diag.c; what `ss -lnt` reads). Pure: the bytes of one recv() in, sockets out.
//
// Each netlink message: nlmsghdr {u32 len, u16 type, u16 flags, u32 seq, u32 pid} (host order),
// payload, padded to 4 bytes. type 3 = NLMSG_DONE, 2 = NLMSG_ERROR {s32 -errno, nlmsghdr},
// SOCK_DIAG_BY_FAMILY (20) = one socket:
//
// | offset | field          | notes                                                  |
// |--------|----------------|--------------------------------------------------------|
// | 0      | u8 family      | AF_INET 2, AF_INET6 10                                 |
// | 1      | u8 state       | 10 = TCP_LISTEN                                        |
// | 2      | u8 timer, u8 retrans |                                                  |
// | 4      | be16 sport, be16 dport |                                                |
// | 8      | be32 src[4]    | IPv4 uses src[0]                                       |
// | 24     | be32 dst[4]    |                                                        |
// | 40     | u32 if, u32 cookie[2] |                                                 |
// | 52     | u32 expires    |                                                        |
// | 56     | u32 rqueue     | listener: current accept queue (sk_ack_backlog)        |
// | 60     | u32 wqueue     | listener: backlog (sk_max_ack_backlog = min(listen() arg, somaxconn)) |
// | 64     | u32 uid, u32 inode | inode matches /proc/PID/fd -> socket:[inode]       |
// | 72     | rtattrs        | ignored                                                |
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/byte_cursor.h"
#include "binwatch/procfs/parse_result.h"

namespace binwatch::procfs {

struct DiagSocket {
  int family = 0;  // 4 or 6
  int state = 0;
  std::string local_address;  // "127.0.0.1", "::1", "*" for any
  uint16_t local_port = 0;
  uint32_t rqueue = 0;
  uint32_t wqueue = 0;
  uint32_t uid = 0;
  uint64_t inode = 0;
};

struct DiagBatch {
  std::vector<DiagSocket> sockets;
  bool done = false;          // NLMSG_DONE seen: the dump is complete
  std::optional<int> error;   // NLMSG_ERROR with a non-zero errno (positive)
};

// "line" in a ParseError is the message index (1-based), "column" the byte offset in the buffer.
ParseResult<DiagBatch> parse_inet_diag(Bytes buffer);

// "address:port" the way ss prints it: 127.0.0.1:3306, [::1]:3306, *:3306.
std::string endpoint_name(const DiagSocket& s);

}  // namespace binwatch::procfs
