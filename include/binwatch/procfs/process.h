#pragma once
// Per-process and socket tables of procfs, as binwatch needs them to find the local client process
// of a MySQL session (throttle: sessions launched through `binwatch run`).
//
// /proc/PID/stat (fs/proc/array.c do_task_stat), one line:
//   "1234 (mariadb) S 1200 1234 1100 34816 1234 4194304 ... 22:starttime ..."
// | field | name      | meaning                                             |
// |-------|-----------|-----------------------------------------------------|
// | 1     | pid       |                                                     |
// | 2     | (comm)    | executable name, up to 15 bytes, may hold ' ' and ')': the last ')' ends it |
// | 3     | state     | R S D T t Z X ...                                   |
// | 4     | ppid      | parent                                              |
// | 5     | pgrp      | process group                                       |
// | 22    | starttime | clock ticks after boot: with pid, names one process across pid reuse |
//
// /proc/net/tcp and /proc/net/tcp6 (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c):
//   "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
//   "   0: 0100007F:0CEA 0100007F:D2F4 01 00000000:00000000 00:00000000 00000000  0 0 41254 1 ..."
// | field | meaning                                                                          |
// |-------|----------------------------------------------------------------------------------|
// | local_address, rem_address | address as the kernel's 32-bit words printed %08X in host byte order (4 words for v6), ':' port %04X |
// | st    | TCP state, 01 = ESTABLISHED                                                      |
// | uid   | the effective uid of the socket's creator (8th field)                             |
// | inode | the socket's inode: /proc/PID/fd/N links to "socket:[inode]"                     |
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/procfs/parse_result.h"

namespace binwatch::procfs {

struct ProcStat {
  int64_t pid = 0;
  std::string comm;
  char state = '?';
  int64_t ppid = 0;
  int64_t pgrp = 0;
  uint64_t start_time = 0;  // clock ticks after boot
};

ParseResult<ProcStat> parse_proc_stat(std::string_view text);

struct TcpSocket {
  bool v6 = false;
  std::array<uint8_t, 16> local{}, remote{};  // network byte order; v4 in the first 4 bytes
  uint16_t local_port = 0, remote_port = 0;
  uint8_t state = 0;  // 1 = ESTABLISHED
  uint32_t uid = 0;    // of the process that created the socket
  uint64_t inode = 0;
};

// `v6`: the text is /proc/net/tcp6. The header line is skipped.
ParseResult<std::vector<TcpSocket>> parse_proc_net_tcp(std::string_view text, bool v6);

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback(const TcpSocket& s, bool local_side = true);
// The address of one side as text ("127.0.0.1", "::1", "::ffff:127.0.0.1" as "127.0.0.1").
std::string address_text(const TcpSocket& s, bool local_side = true);

// A MySQL session's HOST column "ADDR:PORT" (TCP; "localhost" alone is a unix socket): nullopt
// when there is no numeric port after the last ':'.
struct SessionEndpoint {
  std::string address;  // "127.0.0.1", "::1", "localhost" (a name when the server resolves names)
  uint16_t port = 0;
};
std::optional<SessionEndpoint> parse_session_host(std::string_view host);

// The inode of the ESTABLISHED client socket of a session seen by the server as `peer`, connected
// to the server's `server_port`: the local side is the peer (same address, or loopback for
// "localhost"), the remote port the server's; and the server's side of that connection is in
// `sockets` too (local port `server_port`, remote the peer), its local address the client
// socket's remote address (so a connection from the same local port to another server on the
// same port does not match). 0 when none is in `sockets` (a server in another network namespace).
uint64_t client_socket_inode(const std::vector<TcpSocket>& sockets, const SessionEndpoint& peer, uint16_t server_port);

// The ESTABLISHED socket whose local side is `local_addr`:`local_port` and whose remote side is
// `remote_addr`:`remote_port` ("::ffff:127.0.0.1" is "127.0.0.1"; an empty remote_addr: any), or null.
const TcpSocket* find_tcp_socket(const std::vector<TcpSocket>& sockets, std::string_view local_addr,
                                 uint16_t local_port, std::string_view remote_addr, uint16_t remote_port);

// /proc/PID/status "Uid:\tREAL\tEFFECTIVE\tSAVED\tFS": the real uid; nullopt when there is no such line.
std::optional<uint32_t> parse_status_uid(std::string_view text);
// /proc/stat "btime N": the boot time in seconds since the epoch; nullopt when absent.
std::optional<int64_t> parse_boot_time(std::string_view text);

// When the process started, in seconds since the epoch: btime + starttime / clock ticks per second.
double start_unix_s(const ProcStat& s, int64_t boot_time_s, long ticks_per_s);
// Did the process start no later than `by_unix_s` (+ `tolerance_s`, for the whole seconds of btime
// and processlist TIME)? E.g. a session's client must have started before the session did.
bool started_by(const ProcStat& s, int64_t boot_time_s, long ticks_per_s, double by_unix_s, double tolerance_s = 2.0);

}  // namespace binwatch::procfs
