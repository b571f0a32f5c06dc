#pragma once
// What one send to one receiver carries, how its result is classified, and the storm control that
// decides how many sends a receiver gets. All pure (no I/O, no clock): the outbox feeds them the
// time and the notifiers perform the sends.
//
// Storm control, per receiver: at most `rate_limit` sends in any `window_s` (a sliding window of
// send times, retries included: that is what the receiver sees). When more messages are ready
// than the window still allows, they are not sent one by one but folded into one digest
// ("37 alerts: 30 trigger, 7 resolve; top: ..."), so a storm of 500 conditions is one message,
// never hundreds. Alertmanager takes an array of alerts, so its ready messages always go as one
// batched POST (not a digest: every alert keeps its own labels).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/alerts/notification.h"

namespace binwatch::alerts {

// One send: one message, a digest of several, or (Alertmanager) a batch of several.
struct Delivery {
  std::string receiver;
  std::vector<Notification> notifications;  // in enqueue order, never empty
  bool digest = false;  // several folded into one message by the rate limit
};

// "37 alerts: 30 trigger, 7 resolve; top: [emergency] binlog_ttf /var/lib/mysql (<10m): ...; ..."
// The top three by severity (then newest first); kinds in NotificationKind order.
std::string digest_summary(std::span<const Notification> notifications);
// The highest severity among them.
Severity max_severity(std::span<const Notification> notifications);
// The webhook / exec body: one message is its notification_to_json(); a digest (or batch) is
// {"digest": true, "receiver", "count", "counts": {"trigger": 30, ...}, "severity", "summary",
//  "notifications": [...]}.
nlohmann::json delivery_to_json(const Delivery& d);

enum class SendOutcome {
  Delivered,  // 2xx, exit status 0
  Retry,      // 408, 429, 5xx, timeout, connection refused or reset, command timed out
  Permanent,  // any other 4xx, a command that cannot start or exits 65 (EX_DATAERR)
};
std::string_view send_outcome_name(SendOutcome o);  // "delivered", "retry", "permanent"

struct SendResult {
  SendOutcome outcome = SendOutcome::Delivered;
  std::string reason;  // "HTTP 429: slow down", "connection refused", ... (empty when delivered)
  std::optional<std::chrono::milliseconds> retry_after;  // the receiver's Retry-After, if any
};

// Classifies an HTTP answer. `body` is quoted (shortened) in the reason; `retry_after` is the raw
// Retry-After header when present; `now_unix_s` resolves an HTTP-date in it.
SendResult classify_http_status(int status, std::string_view body, std::optional<std::string_view> retry_after,
                                int64_t now_unix_s);
// Retry-After: delta-seconds ("120") or an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"); a date
// in the past is 0. nullopt when it is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, int64_t now_unix_s);

// Sliding window of send times for one receiver.
class RateWindow {
 public:
  RateWindow(uint32_t limit, int64_t window_ms) : m_limit(limit), m_window_ms(window_ms) {}
  // Sends still allowed at `now_ms`.
  [[nodiscard]] size_t available(int64_t now_ms) const;
  // When the next send becomes allowed (now_ms when one is allowed now).
  [[nodiscard]] int64_t next_free_ms(int64_t now_ms) const;
  void record(int64_t now_ms);

 private:
  uint32_t m_limit;
  int64_t m_window_ms;
  std::deque<int64_t> m_sends;  // at most m_limit, oldest first
};

// Most messages in one digest or one Alertmanager POST; more wait for the next send.
inline constexpr size_t kMaxPerSend = 1000;

// The sends for `ready` messages (enqueue order) when the window allows `budget` more: ranges
// [first, first + count) of the ready list. Fewer ready than budget (and not batching): one send
// each. Otherwise chunks of up to kMaxPerSend, at most `budget` of them, each one digest (or one
// Alertmanager batch). Messages left out stay queued for the next free send.
std::vector<std::pair<size_t, size_t>> plan_sends(size_t ready, size_t budget, bool batches_natively);

}  // namespace binwatch::alerts
