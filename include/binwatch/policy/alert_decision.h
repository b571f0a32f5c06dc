#pragma once
// The pure alert decisions: observations, the state and the time in; the next state and the
// notifications to enqueue out. No clock, no I/O: the caller passes `now` (unix milliseconds),
// persists the state and hands the notifications to the outbox, atomically together.
//
// What an acknowledgement covers, and nothing more: one alert id (rule, subject, severity), in
// the band it was in when acknowledged or a milder one, until it expires. Another subject or a
// higher severity is another alert id and pages on its own; a worse band pages at once (Trigger,
// new dedup_key); an expiry while the alert is active pages again one tier higher. Every
// acknowledgement that ends without a resolution bumps the alert's generation, which is part of
// the dedup_key, so the page cannot be absorbed by the incident that acknowledgement closed
// (PagerDuty keeps an acknowledged incident quiet for every trigger with its dedup_key).
//
// Within one rule and subject, a firing higher severity shadows the lower ones: they stay in the
// state (visible, keep their acknowledgements) but do not page; what they owe is paged when the
// higher one resolves. Across subjects nothing ever shadows anything.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/alerts/notification.h"
#include "binwatch/policy/alert_policy.h"
#include "binwatch/policy/alert_state.h"

namespace binwatch::net {
struct Finding;
}

namespace binwatch::policy {

// One metric sample. The daemon maps its metrics to observations: subject = the label that says
// what the sample is about (mount; "schema.table"; bucket; replica; for a metric without such a
// label, the metric name); labels = all the sample's labels (rules match on them).
struct Observation {
  std::string metric;
  std::string subject;
  double value = 0;
  std::map<std::string, std::string> labels;
};

struct AlertDecision {
  AlertState state;
  std::vector<alerts::Notification> notifications;
};

// One evaluation tick. Every observation the daemon has should be passed each time: a subject
// without an observation counts as "condition gone" (its alerts resolve after clear_for), as in
// Prometheus. Alerts of rules no longer in the policy resolve. Linear in observations + alerts.
AlertDecision decide(const AlertPolicy& policy, const std::vector<Observation>& observations,
                     const AlertState& state, int64_t now_ms);

struct AckError {
  enum class Kind { UnknownAlert, NotAcknowledged, BadTtl, TtlTooLong, MissingBy, MissingReason };
  Kind kind = Kind::UnknownAlert;
  std::string alert_id;
  std::string message;  // one line naming the alert id and the field at fault
};

struct AckOutcome {
  std::optional<AckError> error;  // set: nothing changed, state is the input state
  AlertState state;
  std::vector<alerts::Notification> notifications;  // Acknowledge (ack) or Trigger (unack)
  [[nodiscard]] bool ok() const { return !error; }
};

// Acknowledges one alert (pending or firing) for ttl (default: policy.ack.default_ttl_ms). A ttl
// over policy.ack.max_ttl_ms is refused, not clamped. Acknowledging again replaces the
// acknowledgement and rebinds it to the current band. Everyone paged so far gets Acknowledge.
AckOutcome ack(const AlertPolicy& policy, const AlertState& state, std::string_view alert_id,
               std::optional<int64_t> ttl_ms, std::string_view by, std::string_view reason, int64_t now_ms);

// Withdraws an acknowledgement: a firing alert pages again at once (Trigger, new dedup_key).
AckOutcome unack(const AlertPolicy& policy, const AlertState& state, std::string_view alert_id,
                 std::string_view by, int64_t now_ms);

// The net watcher's findings as observations for the "net-counters" rule of the default policy:
// metric binwatch_net_finding_severity, subject = the net rule id, value 1 info, 2 warning,
// 3 critical, label counter = what the finding is about.
std::vector<Observation> observations_from_net_findings(const std::vector<net::Finding>& findings);

}  // namespace binwatch::policy
