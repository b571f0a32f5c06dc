#pragma once
// The network and host counters beside the binlog (issue 8) inside the daemon: the sampler thread
// takes a /proc sample every net.interval_ms, the pure net::decide() applies policies/net.toml,
// and the findings and raw values are exported in /metrics (where the alert policy's
// "net-counters" rule sees them) and /api/v1/status. Control plane only; a failing sample is
// reported, never thrown.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/net/net_policy.h"
#include "binwatch/net/net_watch.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

class MetricsWriter;

class NetMonitor {
 public:
  // Loads the policy (net.policy or the compiled-in one); throws naming the file.
  explicit NetMonitor(NetSettings settings);
  // One sample at `now` (monotonic seconds).
  void sample(double now);
  // binwatch_net_up, binwatch_net_finding_severity{net_rule,counter} (1 info, 2 warning,
  // 3 critical), binwatch_net_value{name} (every counter and gauge of the sample),
  // binwatch_net_rate{name} (per second, only the counters the policy's rate and ratio rules
  // read, from the second sample on: net::watched_rates()).
  void write_metrics(MetricsWriter& w) const;
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] uint32_t interval_ms() const { return m_settings.interval_ms; }

 private:
  NetSettings m_settings;
  net::NetPolicy m_policy;
  net::WatchState m_state;  // sampler thread only
  mutable std::mutex m_mutex;  // guards the published results below
  std::vector<net::Finding> m_findings;
  procfs::CounterMap m_values;
  std::map<std::string, double, std::less<>> m_rates;
  std::string m_error;
  std::string m_route_error;  // said once per distinct reason (sampling thread only)
  uint64_t m_samples = 0;
};

}  // namespace binwatch::watch
