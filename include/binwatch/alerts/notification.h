#pragma once
// The hand-over between the alert policy (policies/: pure decisions over alerts, acknowledgements
// and the escalation ladder) and delivery (src/alerts/: the persisted outbox and the notifiers).
// The policy decides *what* to tell *which receiver*; the outbox makes sure it arrives (at least
// once, retried, rate-limited, grouped) without the policy knowing how.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace binwatch::alerts {

enum class Severity { Info, Warning, Critical, Emergency };
std::string_view severity_name(Severity s);           // "info", "warning", "critical", "emergency"
bool parse_severity(std::string_view text, Severity& out);

enum class NotificationKind {
  Trigger,      // a new alert identity fired (or an acknowledgement stopped covering it)
  Reminder,     // still firing, unacknowledged, repeat interval elapsed
  Escalation,   // moved up a tier of the ladder (sent to that tier's receivers)
  Acknowledge,  // someone acknowledged it (PagerDuty "acknowledge"; others: an informational note)
  Resolve,      // the condition cleared
};
std::string_view notification_kind_name(NotificationKind k);  // "trigger", "reminder", ...

struct Notification {
  std::string id;         // unique per message: the outbox's idempotency key
  std::string receiver;   // receiver name as configured
  NotificationKind kind = NotificationKind::Trigger;
  // The alert identity is (rule, subject, severity). alert_id is a stable short id of it
  // (what `binwatch ack ID` takes); dedup_key is the PagerDuty dedup_key / Alertmanager
  // fingerprint input: it also changes when the time-to-full band changes, so a worsened alert
  // can never be absorbed by an acknowledged incident.
  std::string alert_id;
  std::string dedup_key;
  std::string rule;
  std::string subject;    // what it is about: a mount, a table, a counter, a replica
  Severity severity = Severity::Warning;
  std::string band;       // e.g. "<1h" for time-to-full rules; empty when the rule has no bands
  std::string summary;    // one human line
  std::map<std::string, std::string> labels;       // extra labels (mount, schema, table, host, ...)
  std::map<std::string, std::string> annotations;  // description, runbook, value, ...
  unsigned tier = 0;      // escalation tier that caused it (0 = first)
  int64_t starts_at = 0;  // unix seconds the alert identity started firing
  int64_t ends_at = 0;    // unix seconds it resolved (Resolve only), else 0
  int64_t created_at = 0; // unix seconds the policy decided this message
};

}  // namespace binwatch::alerts
