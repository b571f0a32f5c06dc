#pragma once
// Notifiers: the I/O that performs one Delivery to one receiver and classifies the result
// (delivered / retry / permanent). They keep no queue and never retry themselves: the outbox does.
//
//   log           one spdlog line (level from the severity); always delivered
//   webhook       POST url, delivery_to_json() as the body
//   alertmanager  POST url/api/v2/alerts, alertmanager_alerts(): one array for the whole batch
//   pagerduty     POST url/v2/enqueue, pagerduty_event(); a digest of resolves and acknowledgements
//                 only (nothing to page for) goes to url/v2/change/enqueue as a change event
//   exec          runs command + args (no shell, own process group), delivery_to_json() on standard
//                 input; exit 0 delivered, 65 (EX_DATAERR) permanent, could not start permanent,
//                 other statuses, signals and the timeout (the group is killed) retried
//
// HTTP: cpp-httplib, connect/read/write timeouts of timeout_ms each; 2xx delivered; 408, 429 and
// 5xx retried (Retry-After kept); other statuses permanent; no answer at all (refused, reset,
// timed out, TLS) retried.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "binwatch/alerts/delivery.h"
#include "binwatch/alerts/receiver_config.h"

namespace binwatch::alerts {

class Notifier {
 public:
  explicit Notifier(ReceiverConfig config) : m_config(std::move(config)) {}
  virtual ~Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  [[nodiscard]] const ReceiverConfig& config() const { return m_config; }
  // Several ready messages go as one request (Alertmanager) rather than one digest.
  [[nodiscard]] virtual bool batches_natively() const { return false; }
  // One attempt. Never throws; a SIGPIPE from a vanished peer or command is absorbed (blocked on
  // this thread for the call) instead of killing the daemon.
  SendResult send(const Delivery& delivery);

 protected:
  virtual SendResult do_send(const Delivery& delivery) = 0;

 private:
  ReceiverConfig m_config;
};

// Builds the notifier of a receiver. Throws std::runtime_error naming the file when a PagerDuty
// routing key file cannot be read or is empty (the key itself never appears in a message).
std::unique_ptr<Notifier> make_notifier(const ReceiverConfig& config);

// Alertmanager API v2 body: [{labels{alertname=rule, rule, subject, severity, band, alert_id, and
// the notification's labels (names made valid)}, annotations{summary, kind, ...}, startsAt,
// endsAt (Resolve only: ends_at), generatorURL}], one element per notification.
// Firing alerts carry endsAt = sent + active_for_s (Alertmanager would otherwise resolve them after
// its resolve_timeout, as binwatch sends an alert once plus reminders); resolves carry their end.
nlohmann::json alertmanager_alerts(const Delivery& delivery, const std::string& generator_url,
                                   uint32_t active_for_s = 86400);

// PagerDuty Events API v2 event for a delivery: event_action trigger (trigger, reminder,
// escalation), acknowledge or resolve; dedup_key = the notification's, or default_dedup_key();
// payload{summary, source, severity (info, warning, critical; emergency -> critical), timestamp,
// component = subject, group = rule, class = band, custom_details}. A digest is one trigger with
// the digest summary and every message in custom_details, deduplicated on the set of ids.
nlohmann::json pagerduty_event(const Delivery& delivery, const std::string& routing_key, const std::string& source);

// "binwatch-" + 16 hex digits of FNV-1a over (rule, subject, severity, band): stable across
// restarts and builds, new when the severity or the band changes.
std::string default_dedup_key(const Notification& n);

}  // namespace binwatch::alerts
