#pragma once
// `binwatch sysctl-check`: settings the incident posts warn about, each with the reason. It
// explains; it never prints a list of values to apply blindly.
#include <optional>
#include <string>
#include <vector>

#include "binwatch/net/net_policy.h"
#include "binwatch/net/net_watch.h"
#include "binwatch/net/procfs_reader.h"

namespace binwatch::net {

struct SysctlFinding {
  Severity severity = Severity::Info;
  std::string id;       // "tcp-tw-recycle", ...
  std::string setting;  // "net.ipv4.tcp_tw_recycle" or a listener
  std::string value;    // current value as text ("absent" when the kernel lacks it)
  std::string reason;   // why it matters, and what to weigh before changing it
};

std::vector<SysctlFinding> check_sysctls(const ProcSnapshot& snapshot,
                                         const std::optional<std::vector<Listener>>& listeners,
                                         const ListenPolicy& listen = {});

}  // namespace binwatch::net
