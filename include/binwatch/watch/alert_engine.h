#pragma once
// The daemon's alerting: the pure policy (binwatch/policy/alert_decision.h) evaluated on the
// control plane over every metric the daemon exports, its state persisted atomically in the state
// folder (alerts.json), and what it decides handed to the persisted outbox (outbox.journal)
// whose worker delivers it. The data plane never waits on any of it.
//
// Crash safety. A tick or an acknowledgement first enqueues its notifications (durable when
// enqueue returns), then writes the new state (write, fsync, rename). A kill between the two
// re-decides the same pages after the restart: same dedup_key, so at worst a harmless repeat; a
// page is never lost. An acknowledgement is answered only after its state is on disk, so an ack
// the operator saw succeed survives kill -9.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/policy/alert_decision.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::alerts {
class Outbox;
}

namespace binwatch::watch {

class MetricsWriter;

// Prometheus text (what /metrics serves) as policy observations: one per sample; subject = the
// label that says what the sample is about (mount, schema.table, replica, bucket, counter, kind, file, type),
// else the metric name. Comment lines and malformed lines are skipped.
std::vector<policy::Observation> observations_from_exposition(std::string_view text);

class AlertEngine {
 public:
  // Loads the policy (file or built-in), the saved state and the outbox; throws naming the file
  // at fault. `generator_url` goes into Alertmanager alerts and webhooks as where to look.
  AlertEngine(const AlertsSettings& settings, const std::filesystem::path& state_dir, std::string generator_url);
  ~AlertEngine();
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  void start();  // the outbox's delivery thread
  void stop();

  // One evaluation over the daemon's current metrics.
  void evaluate(std::string_view exposition, int64_t now_ms);

  struct Answer {
    int status = 200;  // HTTP status: 200, 400 (bad request), 404 (unknown alert), 409/422 (refused)
    nlohmann::json body;
  };
  Answer ack(std::string_view alert_id, std::optional<int64_t> ttl_ms, std::string_view by, std::string_view reason,
             int64_t now_ms);
  Answer unack(std::string_view alert_id, std::string_view by, int64_t now_ms);

  // GET /api/v1/alerts: every alert (pending, firing, acknowledged) and the outbox's status.
  [[nodiscard]] nlohmann::json alerts_json(int64_t now_ms) const;
  // binwatch_alerts{rule,subject,severity,state} and the outbox's counters.
  void write_metrics(MetricsWriter& w) const;

 private:
  void commit(policy::AlertState next, const std::vector<alerts::Notification>& notifications);
  Answer apply(policy::AckOutcome outcome, std::string_view alert_id);

  policy::AlertPolicy m_policy;
  std::filesystem::path m_state_file;
  std::unique_ptr<alerts::Outbox> m_outbox;
  mutable std::mutex m_mutex;  // the state and its file
  policy::AlertState m_state;
  uint64_t m_evaluations = 0;
  uint64_t m_state_write_errors = 0;
};

// Reads a bearer token file (first line, trimmed); throws naming the file when it is missing,
// empty, or readable by every user (mode & 0004).
std::string read_token_file(const std::string& path);
// Constant-time comparison of an Authorization header with "Bearer <token>".
bool bearer_matches(std::string_view authorization_header, std::string_view token);

}  // namespace binwatch::watch
