#pragma once
// The network and host counter policy: data (policies/net.toml, compiled in as the default) that
// the pure decide() in binwatch/net/net_watch.h applies. Counter names are those of
// binwatch/procfs/counters.h; a name ending in '*' matches every counter with that prefix
// (TcpExtTCPACKSkipped*). A rule whose counters are absent on this kernel does nothing.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::net {

enum class Severity { Info, Warning, Critical };
std::string_view severity_name(Severity s);

// Sum of the rates of `counters`: fires on an absolute rate, or on a ratio over the learned
// baseline of that sum once the baseline has `min_samples` samples.
struct RateRule {
  std::string id;
  std::vector<std::string> counters;
  std::optional<double> warn_per_sec, crit_per_sec;
  std::optional<double> over_baseline;   // fire when rate > over_baseline * baseline mean ...
  double min_rate_for_baseline = 1;      // ... and rate >= this (no 0 -> 1 "infinite" ratios)
  std::string message;
};

// rate(numerator) / rate(denominator) must stay inside [min, max] while the denominator's rate is
// at least min_denominator_rate (retransmits over segments sent, bytes out over bytes in).
struct RatioRule {
  std::string id;
  std::vector<std::string> numerator, denominator;
  std::optional<double> min, max;
  double min_denominator_rate = 1;
  Severity severity = Severity::Warning;
  std::string message;
};

// value / limit of two gauges (conntrack.count / conntrack.max, TIME_WAIT sockets over
// tcp_max_tw_buckets). With below = true the rule fires when the ratio falls *under* the
// thresholds (MemAvailable / MemTotal).
struct FillRule {
  std::string id;
  std::string value, limit;
  std::optional<double> warn, crit;
  bool below = false;
  std::string message;
};

struct BaselinePolicy {
  double alpha = 0.05;              // EWMA weight of a new in-band sample
  double out_of_band_alpha = 0.005; // weight while the rule fires: a storm is learned slowly
  unsigned min_samples = 30;
};

struct ListenPolicy {
  double queue_fill_warn = 0.8;   // accept queue / backlog
  double queue_fill_crit = 1.0;
  bool flag_capped = true;        // backlog == net.core.somaxconn: the app asked for more
  std::vector<long> silent_defaults = {511};  // nginx, redis tcp-backlog
};

// When is connection tracking on this host a finding? `iptables -t nat -L` (or any NAT or
// stateful rule) loads nf_conntrack silently, and its default table is small for a busy host.
enum class ConntrackAllowed {
  Yes,               // true: never (the host routes, NATs or firewalls statefully)
  No,                // false: always (conntrack-present; conntrack-appeared on the transition)
  IfPresentAtStart,  // "if-present-at-start": a host that had it when watching started keeps it;
                     // on one that had none, its appearance is conntrack-appeared, then -present
};
inline constexpr std::string_view kConntrackIfPresentAtStart = "if-present-at-start";

struct ConntrackPolicy {
  ConntrackAllowed allowed = ConntrackAllowed::IfPresentAtStart;
};

struct NetPolicy {
  BaselinePolicy baseline;
  ListenPolicy listen;
  ConntrackPolicy conntrack;
  std::vector<RateRule> rates;
  std::vector<RatioRule> ratios;
  std::vector<FillRule> fills;
};

// Parses the TOML text; throws std::runtime_error naming `origin` and the problem (unknown keys
// are errors too: a misspelt threshold must not silently disable a rule).
NetPolicy parse_net_policy(std::string_view toml_text, std::string_view origin);
// policies/net.toml as compiled into the binary.
std::string_view default_net_policy_toml();
NetPolicy default_net_policy();

// Does `pattern` (exact, or prefix ending in '*') match `name`?
bool counter_matches(std::string_view pattern, std::string_view name);

// "@default-route" in a counter name stands for the interface of the IPv4 default route of the
// procfs root (/proc/net/route; the lowest metric when there are several), so the default policy
// does not assume an interface name: "dev.@default-route.tx_bytes". Returns the name with the
// interface substituted, the name unchanged when it has no placeholder, and nullopt when it has
// one and there is no default route (the rule then does nothing, as for an absent counter).
inline constexpr std::string_view kDefaultRouteToken = "@default-route";
std::optional<std::string> resolve_counter_pattern(std::string_view pattern,
                                                   const std::optional<std::string>& default_route_interface);

// The counter patterns of each rule, placeholders resolved (unresolvable ones left out), in
// policy order: rate rules (counters), ratio rules (numerator then denominator), fill rules
// (value, limit). `rates` is true for rate and ratio rules, whose counters are read as rates.
struct RulePatterns {
  std::string rule_id;
  std::vector<std::string> patterns;
  bool rates = false;
};
std::vector<RulePatterns> watched_patterns(const NetPolicy& policy,
                                           const std::optional<std::string>& default_route_interface);

}  // namespace binwatch::net
