// libFuzzer target for the pure /proc parsers and the inet_diag decoder: the first byte picks the
// parser, the rest is its input. Any result is fine; crashes, UB and leaks are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "binwatch/procfs/counters.h"
#include "binwatch/procfs/inet_diag.h"
#include "binwatch/procfs/modules.h"
#include "binwatch/procfs/process.h"
#include "binwatch/procfs/route.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace binwatch::procfs;
  switch (data[0] % 13) {
    case 0: (void)parse_snmp_pairs(text); break;
    case 1: (void)parse_name_value_lines(text, "vmstat."); break;
    case 2: (void)parse_meminfo(text); break;
    case 3: (void)parse_sockstat(text, "sockstat."); break;
    case 4: (void)parse_net_dev(text); break;
    case 5: (void)parse_conntrack_stat(text); break;
    case 6: (void)parse_modules(text); break;
    case 7: (void)parse_single_integer(text); (void)normalize_sysctl_text(text); break;
    case 8: (void)parse_inet_diag(binwatch::as_bytes(text)); break;
    case 9: {
      auto r = parse_route(text);
      if (r.ok()) (void)default_route_interface(*r);
      break;
    }
    case 10: (void)parse_proc_stat(text); (void)parse_status_uid(text); (void)parse_boot_time(text); break;
    case 11:
    case 12: {
      auto r = parse_proc_net_tcp(text, data[0] % 13 == 12);
      if (r.ok()) {
        for (const auto& s : *r) (void)address_text(s), (void)is_loopback(s, false);
        if (auto peer = parse_session_host(text.substr(0, text.find('\n')))) {
          (void)client_socket_inode(*r, *peer, 3306);
          (void)find_tcp_socket(*r, peer->address, peer->port, "127.0.0.1", 9874);
        }
      }
      break;
    }
  }
  return 0;
}
