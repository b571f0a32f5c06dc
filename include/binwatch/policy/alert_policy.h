#pragma once
// The alert policy (issue 5): data from policies/alerts.toml (compiled in as the default; that
// file documents every key) that the pure decide(), ack() and unack() of alert_decision.h apply.
//
// A rule watches one metric and applies to every subject of it (a mount, a table "schema.table",
// a counter, a replica). Its bands, mildest first, each carry a severity: a subject's current
// band is the worst band whose condition holds, and the alert identity is (rule, subject,
// severity). Several bands may share a severity (a time-to-full rule may have "<4h" and "<1h"
// both at warning): the band then only changes the alert's dedup_key, and an acknowledgement of
// a milder band does not cover a worse one.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/alerts/notification.h"

namespace binwatch::policy {

using alerts::Severity;

// A policy error located in its file ("alerts.toml:12: rule[2].band[1].below: must be ...").
class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class RuleKind {
  Threshold,         // a gauge above or below the band values
  TimeToFull,        // seconds until a partition is full, below the band values; or free space
                     // (avail / size) under a band's free_below fraction
  RateOverBaseline,  // a rate divided by its baseline (another observation of the same subject)
  CounterRate,       // per-second rate of a cumulative counter, from successive observations
  Integrity,         // a counter that must never increase: any increase fires at once
};
std::string_view rule_kind_name(RuleKind k);  // "threshold", "time_to_full", ...

enum class Direction { Above, Below };

struct Band {
  std::string name;                  // "<4h", ">10x"; generated when the file has none
  Severity severity = Severity::Warning;
  double value = 0;                  // fires beyond this (seconds for time_to_full)
  double clear = 0;                  // hysteresis: stays until the value is back past this
  std::optional<double> free_below;  // time_to_full: also fires when avail / size < this
  std::optional<double> free_clear;  // ... and stays until avail / size >= this
};

struct Rule {
  std::string name;                  // unique in the policy; part of the alert identity
  RuleKind kind = RuleKind::Threshold;
  std::string metric;
  std::map<std::string, std::string> match;   // observations must carry these labels
  std::map<std::string, std::string> prefer;  // of a subject's matching observations, use those
                                              // with these labels when there are any
  std::vector<std::string> subjects;          // only these subjects ("prefix*" allowed); empty: all
  Direction direction = Direction::Above;
  std::vector<Band> bands;                    // mildest first; severities never decrease
  int64_t for_ms = 0;                         // condition must hold this long before firing
  int64_t clear_for_ms = 0;                   // and be gone this long before resolving
  // time_to_full: the free-space condition reads these metrics for the same subject.
  std::string avail_metric, size_metric;
  // rate_over_baseline
  std::string baseline_metric;                // default: metric
  std::map<std::string, std::string> baseline_match;
  double min_value = 0;                       // rates below this never fire (no 0 -> 1 surges)
  std::string ladder = "default";
  std::string summary;                        // template: {rule} {subject} {severity} {band} {value}
  std::string runbook;
};

struct Tier {
  int64_t after_ms = 0;                       // unacknowledged this long since it fired
  std::vector<std::string> receivers;         // receiver names, as delivery configures them
};

struct Ladder {
  std::string name;
  int64_t repeat_ms = 0;                      // reminder interval while unacknowledged; 0: none
  std::vector<Tier> tiers;                    // first tier after = 0; afters increase
};

struct AckPolicy {
  int64_t default_ttl_ms = 30 * 60'000;
  int64_t max_ttl_ms = 12 * 3'600'000;        // a longer request is an error, not clamped
};

struct AlertPolicy {
  AckPolicy ack;
  std::vector<Ladder> ladders;
  std::vector<Rule> rules;
  // Integrity rules resolve this long after the last increase unless clear_for says otherwise.
  static constexpr int64_t kIntegrityClearForMs = 10 * 60'000;

  [[nodiscard]] const Rule* rule(std::string_view name) const;
  [[nodiscard]] const Ladder* ladder(std::string_view name) const;
};

// Parses TOML text; throws PolicyError "origin:line: key: what" on syntax, types, ranges,
// inconsistent bands, unknown ladders and unknown keys (a misspelt key must not silently
// disable a rule).
AlertPolicy parse_alert_policy(std::string_view toml_text, std::string_view origin);
AlertPolicy load_alert_policy(const std::string& path);
// policies/alerts.toml as compiled into the binary.
std::string_view default_alert_policy_toml();
const AlertPolicy& default_alert_policy();

}  // namespace binwatch::policy
