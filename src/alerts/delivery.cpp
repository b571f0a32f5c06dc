#include "binwatch/alerts/delivery.h"

#include <algorithm>
#include <ctime>

#include "binwatch/alerts/notification_json.h"

namespace binwatch::alerts {

using nlohmann::json;

namespace {

constexpr NotificationKind kKinds[] = {NotificationKind::Trigger, NotificationKind::Reminder,
                                       NotificationKind::Escalation, NotificationKind::Acknowledge,
                                       NotificationKind::Resolve};

std::string shorten(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

Severity max_severity(std::span<const Notification> ns) {
  Severity top = Severity::Info;
  for (const auto& n : ns) top = std::max(top, n.severity);
  return top;
}

std::string digest_summary(std::span<const Notification> ns) {
  std::string out = std::to_string(ns.size()) + (ns.size() == 1 ? " alert: " : " alerts: ");
  bool first = true;
  for (auto kind : kKinds) {
    const auto count = std::count_if(ns.begin(), ns.end(), [&](const Notification& n) { return n.kind == kind; });
    if (count == 0) continue;
    out += (first ? "" : ", ") + std::to_string(count) + " " + std::string(notification_kind_name(kind));
    first = false;
  }
  std::vector<const Notification*> order;
  for (const auto& n : ns) order.push_back(&n);
  std::stable_sort(order.begin(), order.end(), [](const Notification* a, const Notification* b) {
    if (a->severity != b->severity) return a->severity > b->severity;
    return a->created_at > b->created_at;
  });
  out += "; top: ";
  const size_t shown = std::min<size_t>(3, order.size());
  for (size_t i = 0; i < shown; ++i) {
    const Notification& n = *order[i];
    if (i) out += "; ";
    out += "[" + std::string(severity_name(n.severity)) + "] " + n.rule + " " + n.subject;
    if (!n.band.empty()) out += " (" + n.band + ")";
    if (n.kind != NotificationKind::Trigger) out += " " + std::string(notification_kind_name(n.kind));
    if (!n.summary.empty()) out += ": " + shorten(n.summary, 120);
  }
  if (order.size() > shown) out += "; +" + std::to_string(order.size() - shown) + " more";
  return out;
}

json delivery_to_json(const Delivery& d) {
  if (d.notifications.size() == 1 && !d.digest) return notification_to_json(d.notifications.front());
  json counts = json::object();
  json items = json::array();
  for (const auto& n : d.notifications) {
    items.push_back(notification_to_json(n));
    counts[std::string(notification_kind_name(n.kind))] = counts.value(std::string(notification_kind_name(n.kind)), 0) + 1;
  }
  return {{"digest", true},
          {"receiver", d.receiver},
          {"count", d.notifications.size()},
          {"counts", counts},
          {"severity", severity_name(max_severity(d.notifications))},
          {"summary", digest_summary(d.notifications)},
          {"notifications", items}};
}

std::string_view send_outcome_name(SendOutcome o) {
  switch (o) {
    case SendOutcome::Delivered: return "delivered";
    case SendOutcome::Retry: return "retry";
    case SendOutcome::Permanent: return "permanent";
  }
  return "unknown";
}

SendResult classify_http_status(int status, std::string_view body, std::optional<std::string_view> retry_after,
                                int64_t now_unix_s) {
  SendResult r;
  if (status >= 200 && status < 300) return r;
  r.reason = "HTTP " + std::to_string(status);
  if (!body.empty()) r.reason += ": " + shorten(body, 200);
  if (status == 408 || status == 429 || status >= 500) {
    r.outcome = SendOutcome::Retry;
    if (retry_after) r.retry_after = parse_retry_after(*retry_after, now_unix_s);
  } else {
    r.outcome = SendOutcome::Permanent;  // 4xx: the message itself is refused; 1xx/3xx: not followed
  }
  return r;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, int64_t now_unix_s) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds(int64_t{999999999} * 1000);
    return std::chrono::milliseconds(std::stoll(std::string(value)) * 1000);
  }
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const int64_t at = timegm(&tm);
  return std::chrono::milliseconds(std::max<int64_t>(0, at - now_unix_s) * 1000);
}

size_t RateWindow::available(int64_t now_ms) const {
  const auto recent = std::count_if(m_sends.begin(), m_sends.end(), [&](int64_t t) { return t > now_ms - m_window_ms; });
  return m_limit > static_cast<size_t>(recent) ? m_limit - static_cast<size_t>(recent) : 0;
}

int64_t RateWindow::next_free_ms(int64_t now_ms) const {
  if (available(now_ms) > 0) return now_ms;
  // Full: the oldest send of the window leaves it first.
  const auto oldest = std::find_if(m_sends.begin(), m_sends.end(), [&](int64_t t) { return t > now_ms - m_window_ms; });
  return (oldest == m_sends.end() ? now_ms : *oldest) + m_window_ms;  // end: a limit of 0
}

void RateWindow::record(int64_t now_ms) {
  m_sends.push_back(now_ms);
  while (m_sends.size() > m_limit) m_sends.pop_front();
}

std::vector<std::pair<size_t, size_t>> plan_sends(size_t ready, size_t budget, bool batches_natively) {
  std::vector<std::pair<size_t, size_t>> out;
  if (ready == 0 || budget == 0) return out;
  if (!batches_natively && ready <= budget) {
    for (size_t i = 0; i < ready; ++i) out.emplace_back(i, 1);
    return out;
  }
  for (size_t first = 0; first < ready && out.size() < budget; first += kMaxPerSend)
    out.emplace_back(first, std::min(kMaxPerSend, ready - first));
  return out;
}

}  // namespace binwatch::alerts
