#pragma once
// Rendering of `binwatch netstat`: rows chosen from an observation and a decision (watched
// counters first, zeros hidden unless asked), as a terminal table or one JSON line per sample.
// Pure: no clock, no terminal queries (colour is a parameter).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/net/net_policy.h"
#include "binwatch/net/net_watch.h"

namespace binwatch::net {

struct NetstatRow {
  std::string name;
  int64_t value = 0;
  std::optional<CounterRate> rate;  // counters after the first sample
  bool gauge = false;
  bool watched = false;      // named by a policy rule
  bool out_of_band = false;  // a rule over it fired in this sample
};

// The rows of one sample. With `all`: every counter and gauge. Otherwise only what is happening:
// a row a finding of this sample is about (out of band, shown even at rate 0: a ratio rule can
// fire because one side stopped), a counter whose value changed since the previous sample, and a
// watched counter or gauge that is not 0 and has no rate (gauges; a counter's first sample, whose
// rate is unknown rather than 0). A watched counter whose rate is 0 is hidden like the others.
// Order: watched rows (named by a rule, "@default-route" resolved) in policy order, then the
// others by falling rate. listen.* values are shown in the listener table instead.
std::vector<NetstatRow> netstat_rows(const NetPolicy& policy, const Observation& observation,
                                     const Decision& decision, bool all);

struct ViewInfo {
  unsigned sample = 0;
  double interval = 1;
  std::string proc_root;
  std::string listener_note;  // why listeners are not shown
  bool color = false;
  bool all = false;
};

std::string render_netstat_table(const std::vector<NetstatRow>& rows, const Observation& observation,
                                 const Decision& decision, const ViewInfo& info);
// One JSON object per sample, on one line: sample, time, interval, proc_root,
// default_route_interface (null when none), counters (exactly the rows of the table, same
// selection and order: {"NAME": {value, delta?, rate?, reset?, gauge?, watched?, out_of_band?}}),
// findings (all of them) and listeners (every sampled listener, idle ones too).
std::string render_netstat_json(const std::vector<NetstatRow>& rows, const Observation& observation,
                                const Decision& decision, const ViewInfo& info);

// "1s", "500ms", "2.5", "1m" -> seconds; nullopt if malformed or not positive.
std::optional<double> parse_interval(std::string_view text);

}  // namespace binwatch::net
