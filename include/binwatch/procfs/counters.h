#pragma once
// Parsers for the /proc files that are lists of named integers. Every parser returns a flat map,
// named the way nstat(8) names them where nstat reads the file (so `nstat -az` output and binwatch
// agree) and with a dotted prefix elsewhere:
//
// | file                         | names                              | kind                      |
// |------------------------------|------------------------------------|---------------------------|
// | /proc/net/netstat, snmp      | TcpExtPAWSEstab, TcpRetransSegs    | counters (a few gauges)   |
// | /proc/net/snmp6              | Ip6InReceives, Udp6InDatagrams     | counters                  |
// | /proc/vmstat                 | vmstat.pswpin, vmstat.nr_free_pages| counters, nr_* gauges     |
// | /proc/meminfo                | meminfo.MemAvailable (bytes)       | gauges                    |
// | /proc/net/sockstat, sockstat6| sockstat.TCP.tw, sockstat6.TCP6.inuse | gauges                 |
// | /proc/net/dev                | dev.eth0.rx_bytes, dev.eth0.tx_drop| counters                  |
// | /proc/net/stat/nf_conntrack  | conntrack.stat.drop (summed over CPUs; entries is a gauge) |   |
// | nf_conntrack_{count,max}, sysctls | conntrack.count, sysctl.net.core.somaxconn | gauges      |
//
// Field sets differ between kernels (TCPACKSkippedPAWS appeared in 4.0, tcp_tw_recycle went away
// in 4.12, ...): whatever a file has is returned and nothing is required, except that a header
// and its value line must agree.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "binwatch/procfs/parse_result.h"

namespace binwatch::procfs {

using CounterMap = std::map<std::string, int64_t, std::less<>>;

// /proc/net/netstat and /proc/net/snmp: pairs of "Prefix: Name Name ..." / "Prefix: 1 2 ..." lines
// (linux net/ipv4/proc.c, snmp_seq_show and netstat_seq_show). Values are signed: Tcp MaxConn is -1.
ParseResult<CounterMap> parse_snmp_pairs(std::string_view text);

// "name value" per line: /proc/net/snmp6 (net/ipv6/proc.c) and /proc/vmstat (mm/vmstat.c).
// `prefix` is prepended to each name ("" for snmp6, "vmstat." for vmstat).
ParseResult<CounterMap> parse_name_value_lines(std::string_view text, std::string_view prefix);

// /proc/meminfo (fs/proc/meminfo.c): "Name:   123 kB"; kB values are returned in bytes, values
// without a unit (HugePages_Total) as they are. Names get the "meminfo." prefix.
ParseResult<CounterMap> parse_meminfo(std::string_view text);

// /proc/net/sockstat and sockstat6 (net/ipv4/proc.c sockstat_seq_show):
// "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1". `prefix` is "sockstat." or "sockstat6.".
ParseResult<CounterMap> parse_sockstat(std::string_view text, std::string_view prefix);

// /proc/net/dev (net/core/net-procfs.c dev_seq_show): two header lines naming the receive and
// transmit columns, then "  eth0: 1 2 ...". Column names come from the header, so a kernel with
// other columns still parses. Names: dev.<iface>.rx_<col> / dev.<iface>.tx_<col>.
ParseResult<CounterMap> parse_net_dev(std::string_view text);

// /proc/net/stat/nf_conntrack (net/netfilter/nf_conntrack_standalone.c ct_cpu_seq_show): a header
// of column names, then one line of hexadecimal values per possible CPU. Values are summed over the
// CPUs, except `entries` (the namespace's table size, repeated on each line). Names:
// conntrack.stat.<col>.
ParseResult<CounterMap> parse_conntrack_stat(std::string_view text);

// A one-integer file (nf_conntrack_count, nf_conntrack_max, most sysctls). Surrounding white
// space is ignored; anything else is an error.
ParseResult<int64_t> parse_single_integer(std::string_view text);

// A sysctl value as text, white space collapsed ("32768\t60999\n" -> "32768 60999").
std::string normalize_sysctl_text(std::string_view text);

// Gauges are levels (sockets in TIME_WAIT, table size, bytes available); everything else is a
// monotonically increasing counter whose rate is what matters.
bool is_gauge(std::string_view name);

}  // namespace binwatch::procfs
