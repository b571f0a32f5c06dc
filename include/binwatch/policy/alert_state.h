#pragma once
// Everything the alert policy remembers between two decide() calls: the alerts (pending, firing,
// acknowledged), their acknowledgements and escalation progress, and per (rule, subject) the
// band hysteresis and last counter values. The daemon persists it (JSON, atomically) with the
// outbox, so a restart loses no acknowledgement and pages nobody twice.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "binwatch/alerts/notification.h"
#include "binwatch/policy/alert_policy.h"  // PolicyError

namespace binwatch::policy {

struct Acknowledgement {
  std::string by;
  std::string reason;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  // The band the alert was in when acknowledged: a worse band is not covered.
  std::string band;
  unsigned band_rank = 0;
  bool operator==(const Acknowledgement&) const = default;
};

enum class AlertPhase { Pending, Firing };

struct Alert {
  // Identity
  std::string id;                 // alert_id(rule, subject, severity)
  std::string rule;
  std::string subject;
  alerts::Severity severity = alerts::Severity::Warning;

  AlertPhase phase = AlertPhase::Pending;
  std::string band;               // current band (index band_rank in the rule's bands)
  unsigned band_rank = 0;
  double value = 0;               // last evaluated value (seconds, ratio, rate, increase)
  std::optional<double> free_ratio;  // time_to_full: avail / size when known
  std::map<std::string, std::string> labels;  // of the observation that decided it
  int64_t pending_since_ms = 0;
  int64_t firing_since_ms = 0;    // 0 while pending
  std::optional<int64_t> clear_since_ms;  // firing, but the condition is gone since then

  std::optional<Acknowledgement> ack;

  // Paging
  bool owed = false;              // a Trigger is due (sent as soon as it is neither acknowledged
  std::string owed_reason;        // nor shadowed by a worse alert of the same rule and subject)
  bool shadowed = false;          // a higher severity of the same rule and subject is firing
  unsigned tier = 0;              // highest escalation tier reached
  int64_t ladder_base_ms = 0;     // tier t is due at ladder_base + tiers[t].after
  int64_t last_page_ms = 0;       // last Trigger or Reminder (reminders count from here)
  unsigned generation = 0;        // acknowledgements that ended without a resolution
  unsigned page_band_rank = 0;    // band of the last Trigger
  std::string dedup_key;          // of the last Trigger
  std::vector<std::string> open_keys;  // every dedup_key triggered: all get Acknowledge/Resolve
  std::vector<std::string> paged;      // receivers paged so far: they get Acknowledge/Resolve
  bool operator==(const Alert&) const = default;
};

// "pending", "firing" or "acknowledged" (the state label of binwatch_alerts{...}).
std::string_view alert_status(const Alert& a);

// Per (rule, subject) memory that is not an alert.
struct Track {
  uint32_t active_bands = 0;      // bit i: band i is active (value hysteresis)
  std::optional<double> counter;  // counter rules: the last cumulative value ...
  int64_t counter_ms = 0;         // ... and when it was observed
  int64_t seen_ms = 0;            // last time the subject was observed
  bool operator==(const Track&) const = default;
};

struct AlertState {
  std::map<std::string, Alert> alerts;                           // by alert id
  std::map<std::pair<std::string, std::string>, Track> tracks;   // by (rule, subject)
  uint64_t next_sequence = 1;     // makes notification ids unique
  bool operator==(const AlertState&) const = default;
};

// The stable short id of an identity: the first 12 hex digits of FNV-1a 64 over
// rule, subject and severity name separated by 0x1f.
std::string alert_id(std::string_view rule, std::string_view subject, alerts::Severity severity);

// JSON (format version 1). Non-finite numbers are written as "+Inf", "-Inf", "NaN".
nlohmann::json alert_state_to_json(const AlertState& state);
// Throws PolicyError naming the element at fault ("alert state: alerts[3].ack.expires_ms: ...").
AlertState alert_state_from_json(const nlohmann::json& j);

}  // namespace binwatch::policy
