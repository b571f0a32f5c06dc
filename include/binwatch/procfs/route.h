#pragma once
// /proc/net/route: the IPv4 routes of the main table in the reader's network namespace
// (net/ipv4/fib_trie.c fib_route_seq_show, unchanged in layout since 2.6). A header line names the
// columns, then one line per route, tab-separated and padded with spaces to 127 characters:
// | column      | format | meaning                                                      |
// |-------------|--------|--------------------------------------------------------------|
// | Iface       | text   | output interface ("*" for a route without one)               |
// | Destination | %08X   | network, raw big-endian word (so byte order looks reversed)  |
// | Gateway     | %08X   | next hop, same encoding                                      |
// | Flags       | %04X   | RTF_UP 0x1, RTF_GATEWAY 0x2, RTF_HOST 0x4, RTF_REJECT 0x200  |
// | RefCnt, Use | %d %u  | always 0 since 2.6                                           |
// | Metric      | %d     | priority: the lowest wins among equal prefixes               |
// | Mask        | %08X   | netmask, same encoding as Destination                        |
// | MTU, Window, IRTT | %d %u %u | per-route metrics                                   |
// Columns are found by their header name, so extra columns are tolerated. Only the main table
// is listed: routes of policy-routing tables (ip rule) do not appear here.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/procfs/parse_result.h"

namespace binwatch::procfs {

struct Route {
  std::string interface;
  uint32_t destination = 0;  // as printed (raw network-order word)
  uint32_t gateway = 0;
  uint32_t mask = 0;
  uint32_t flags = 0;
  int64_t metric = 0;
};

inline constexpr uint32_t kRouteUp = 0x0001;
inline constexpr uint32_t kRouteReject = 0x0200;

ParseResult<std::vector<Route>> parse_route(std::string_view text);

// The interface of the default route (destination and mask 0, up, not a reject route) with the
// lowest metric; the first listed among equal metrics. nullopt when there is none.
std::optional<std::string> default_route_interface(const std::vector<Route>& routes);

}  // namespace binwatch::procfs
