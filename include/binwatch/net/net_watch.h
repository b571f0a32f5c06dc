#pragma once
// Counter watchers: rates with nstat semantics, learned baselines and the rules of a NetPolicy.
// decide() is pure: the caller passes the time (a fake clock in tests) and gets back findings and
// the next state. `binwatch netstat` prints the findings; the daemon (watch/net_monitor.h)
// exports them in /metrics, where the alert engine raises them.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/net/net_policy.h"
#include "binwatch/procfs/counters.h"
#include "binwatch/procfs/inet_diag.h"

namespace binwatch::net {

struct Listener {
  procfs::DiagSocket socket;
  std::string name;              // "127.0.0.1:3306"
  std::optional<int> pid;        // owning process when /proc/PID/fd is readable
  std::string process;           // its comm
};

struct Observation {
  double time = 0;  // seconds on a monotonic clock
  procfs::CounterMap values;
  std::optional<bool> conntrack_active;  // nullopt: unknown
  std::string conntrack_evidence;
  // Interface of the default route (what "@default-route" in a counter name stands for);
  // nullopt: no default route, or /proc/net/route not read.
  std::optional<std::string> default_route_interface;
  std::optional<std::vector<Listener>> listeners;  // nullopt: not sampled
};

// nstat semantics: a counter lower than last time was reset (reboot, module reload, interface
// re-created), and its increase is its new value (it restarted from 0), never a negative rate.
struct CounterRate {
  int64_t value = 0;
  int64_t delta = 0;
  double rate = 0;
  bool reset = false;
};
std::map<std::string, CounterRate, std::less<>> compute_rates(const procfs::CounterMap& previous,
                                                               const procfs::CounterMap& current,
                                                               double seconds);

// EWMA of a rate and of its absolute deviation.
struct Baseline {
  double mean = 0;
  double deviation = 0;
  unsigned samples = 0;
  void update(double x, double alpha);
};

struct WatchState {
  std::optional<double> last_time;
  procfs::CounterMap last_values;
  std::map<std::string, CounterRate, std::less<>> rates;  // of the last decide()
  std::map<std::string, Baseline, std::less<>> baselines; // by rule id
  std::optional<bool> conntrack_was_active;
  std::optional<bool> conntrack_at_start;  // the first known conntrack_active
};

struct Finding {
  Severity severity = Severity::Warning;
  std::string rule_id;
  std::string counter;   // counter(s), gauge or listener the finding is about
  double value = 0;      // the rate, ratio or fill that fired
  std::string message;
};

struct Decision {
  std::vector<Finding> findings;
  WatchState next;
};

Decision decide(const NetPolicy& policy, const Observation& observation, const WatchState& state);

// The rates of this decision for the counters the policy's rate and ratio rules read
// ("@default-route" resolved for the observation): what the daemon exports as binwatch_net_rate.
// Their number is bounded by the policy (a '*' pattern matches one kernel MIB's few fields), not
// by the host's interfaces or sockets. Empty on the first sample.
std::map<std::string, double, std::less<>> watched_rates(const NetPolicy& policy, const Observation& observation,
                                                         const Decision& decision);

// Listener findings alone (also used by `binwatch netstat` and sysctl-check): queue fill, backlog
// capped by somaxconn, known silent defaults.
std::vector<Finding> check_listeners(const ListenPolicy& policy, const std::vector<Listener>& listeners,
                                     std::optional<int64_t> somaxconn);

}  // namespace binwatch::net
