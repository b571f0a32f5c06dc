// Log, webhook, Alertmanager and PagerDuty notifiers (exec: exec_notifier.cpp).
#include "binwatch/alerts/notifier.h"

#include "binwatch/atomic_file.h"

#include <pthread.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "binwatch/alerts/notification_json.h"
#include "exec_notifier.h"

namespace binwatch::alerts {

using nlohmann::json;

namespace {

// Blocks SIGPIPE on this thread for one send and swallows one raised meanwhile, so a receiver
// that closes its socket or a command that exits before reading its input costs an EPIPE, not
// the daemon.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
  }
  ~SigpipeGuard() {
    if (!m_was_pending) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&m_set, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t m_set{}, m_old{};
  bool m_was_pending = false;
};

std::string describe_http_error(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect (refused or unreachable)";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no answer (read failed or timed out)";
    case httplib::Error::Write: return "sending the request failed";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLServerVerification: return "TLS certificate not trusted";
    default: return "request failed (" + httplib::to_string(e) + ")";
  }
}

// POSTs a JSON body to scheme://host[:port]/path and classifies the answer.
SendResult post_json(const std::string& url, const std::string& body, uint32_t timeout_ms) {
  const auto scheme_end = url.find("://");
  const auto path_begin = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  const std::string origin = url.substr(0, path_begin);
  const std::string path = path_begin == std::string::npos ? "/" : url.substr(path_begin);
  SendResult r;
  try {
    httplib::Client client(origin);
    // The URL is not quoted: webhook URLs often carry a token.
    if (!client.is_valid()) return {SendOutcome::Permanent, "unusable URL (scheme, host or port)", std::nullopt};
    const auto timeout = std::chrono::milliseconds(timeout_ms);
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    const auto res = client.Post(path, body, "application/json");
    if (!res) return {SendOutcome::Retry, describe_http_error(res.error()), std::nullopt};
    const std::string retry_after = res->get_header_value("Retry-After");  // owned: classify takes a view
    r = classify_http_status(res->status, res->body,
                             res->has_header("Retry-After") ? std::optional<std::string_view>(retry_after) : std::nullopt,
                             static_cast<int64_t>(std::time(nullptr)));
  } catch (const std::exception& e) {
    return {SendOutcome::Retry, std::string("request failed: ") + e.what(), std::nullopt};
  }
  return r;
}

// base URL + suffix, unless the base already ends with it.
std::string endpoint(const std::string& base, std::string_view suffix) {
  if (base.ends_with(suffix)) return base;
  return (base.ends_with('/') ? base.substr(0, base.size() - 1) : base) + std::string(suffix);
}

bool firing(NotificationKind k) {
  return k == NotificationKind::Trigger || k == NotificationKind::Reminder || k == NotificationKind::Escalation;
}

std::string pagerduty_severity(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical:
    case Severity::Emergency: return "critical";
  }
  return "critical";
}

uint64_t fnv1a(std::string_view text, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Alertmanager label names: [a-zA-Z_][a-zA-Z0-9_]*.
std::string label_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || (out.front() >= '0' && out.front() <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "binwatch";
  return buf;
}

class LogNotifier final : public Notifier {
 public:
  using Notifier::Notifier;

 protected:
  SendResult do_send(const Delivery& d) override {
    const Severity top = max_severity(d.notifications);
    const auto level = top >= Severity::Critical ? spdlog::level::err
                       : top == Severity::Warning ? spdlog::level::warn
                                                  : spdlog::level::info;
    if (d.digest || d.notifications.size() > 1) {
      spdlog::log(level, "alert digest for {}: {}", config().name, digest_summary(d.notifications));
      for (const auto& n : d.notifications) spdlog::debug("  {}", notification_to_json(n).dump());
      return {};
    }
    const Notification& n = d.notifications.front();
    spdlog::log(n.kind == NotificationKind::Resolve ? spdlog::level::info : level,
                "alert {} [{}] {} {}{}: {} (alert {}, message {})", notification_kind_name(n.kind),
                severity_name(n.severity), n.rule, n.subject, n.band.empty() ? "" : " (" + n.band + ")", n.summary,
                n.alert_id, n.id);
    return {};
  }
};

class WebhookNotifier final : public Notifier {
 public:
  using Notifier::Notifier;

 protected:
  SendResult do_send(const Delivery& d) override {
    return post_json(config().url, delivery_to_json(d).dump(), config().timeout_ms);
  }
};

class AlertmanagerNotifier final : public Notifier {
 public:
  using Notifier::Notifier;
  [[nodiscard]] bool batches_natively() const override { return true; }

 protected:
  SendResult do_send(const Delivery& d) override {
    return post_json(endpoint(config().url, "/api/v2/alerts"), alertmanager_alerts(d, config().generator_url, config().active_for_s).dump(),
                     config().timeout_ms);
  }
};

class PagerDutyNotifier final : public Notifier {
 public:
  PagerDutyNotifier(const ReceiverConfig& config, std::string routing_key)
      : Notifier(config), m_routing_key(std::move(routing_key)), m_source(host_name()) {}

 protected:
  SendResult do_send(const Delivery& d) override {
    const json event = pagerduty_event(d, m_routing_key, m_source);
    const bool change = !event.contains("event_action");
    return post_json(endpoint(config().url, change ? "/v2/change/enqueue" : "/v2/enqueue"), event.dump(),
                     config().timeout_ms);
  }

 private:
  std::string m_routing_key;
  std::string m_source;
};

std::string read_routing_key(const ReceiverConfig& c) {
  const auto text = read_whole_file(c.routing_key_file);
  if (!text) {
    throw std::runtime_error(c.routing_key_file + ": cannot read the PagerDuty routing key of receiver \"" + c.name +
                             "\"");
  }
  std::string key = *text;
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) key.erase(key.begin());
  if (key.empty() || key.find_first_of(" \t\r\n") != std::string::npos) {
    throw std::runtime_error(c.routing_key_file + ": must hold one PagerDuty routing key (receiver \"" + c.name +
                             "\")");
  }
  return key;
}

}  // namespace

SendResult Notifier::send(const Delivery& delivery) {
  SigpipeGuard guard;
  try {
    return do_send(delivery);
  } catch (const std::exception& e) {
    return {SendOutcome::Retry, std::string("send failed: ") + e.what(), std::nullopt};
  }
}

std::unique_ptr<Notifier> make_notifier(const ReceiverConfig& config) {
  switch (config.type) {
    case ReceiverType::Log: return std::make_unique<LogNotifier>(config);
    case ReceiverType::Webhook: return std::make_unique<WebhookNotifier>(config);
    case ReceiverType::Alertmanager: return std::make_unique<AlertmanagerNotifier>(config);
    case ReceiverType::PagerDuty: return std::make_unique<PagerDutyNotifier>(config, read_routing_key(config));
    case ReceiverType::Exec: return make_exec_notifier(config);
  }
  throw std::logic_error("unknown receiver type");
}

std::string default_dedup_key(const Notification& n) {
  uint64_t h = fnv1a(n.rule);
  for (std::string_view part : {std::string_view(n.subject), severity_name(n.severity), std::string_view(n.band)}) {
    h = fnv1a("\x1f", h);
    h = fnv1a(part, h);
  }
  return "binwatch-" + hex16(h);
}

json alertmanager_alerts(const Delivery& d, const std::string& generator_url, uint32_t active_for_s) {
  json alerts = json::array();
  for (const auto& n : d.notifications) {
    json labels = json::object();
    for (const auto& [k, v] : n.labels) {
      if (!v.empty()) labels[label_name(k)] = v;
    }
    labels["alertname"] = n.rule;
    labels["rule"] = n.rule;
    labels["subject"] = n.subject;
    labels["severity"] = severity_name(n.severity);
    if (!n.band.empty()) labels["band"] = n.band;
    if (!n.alert_id.empty()) labels["alert_id"] = n.alert_id;
    json annotations = json::object();
    for (const auto& [k, v] : n.annotations) annotations[k] = v;
    if (!n.summary.empty()) annotations["summary"] = n.summary;
    annotations["kind"] = notification_kind_name(n.kind);
    if (n.tier > 0) annotations["tier"] = std::to_string(n.tier);
    json alert = {{"labels", labels}, {"annotations", annotations}};
    const int64_t start = n.starts_at ? n.starts_at : n.created_at;
    if (start) alert["startsAt"] = format_rfc3339(start);
    if (n.kind == NotificationKind::Resolve) {
      const int64_t end = n.ends_at ? n.ends_at : n.created_at ? n.created_at : std::time(nullptr);
      alert["endsAt"] = format_rfc3339(end);
    } else {
      // Still active (an acknowledged alert too): say until when, or Alertmanager resolves it
      // after its resolve_timeout.
      const int64_t sent = n.created_at ? n.created_at : std::time(nullptr);
      alert["endsAt"] = format_rfc3339(sent + int64_t{active_for_s});
    }
    const auto url = n.annotations.find("generator_url");
    if (url != n.annotations.end() && !url->second.empty()) alert["generatorURL"] = url->second;
    else if (!generator_url.empty()) alert["generatorURL"] = generator_url;
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

json pagerduty_event(const Delivery& d, const std::string& routing_key, const std::string& source) {
  const Notification& first = d.notifications.front();
  auto host = [&](const Notification& n) {
    const auto h = n.labels.find("host");
    return h != n.labels.end() && !h->second.empty() ? h->second : source;
  };
  auto timestamp = [](const Notification& n) {
    return format_rfc3339(n.created_at ? n.created_at : static_cast<int64_t>(std::time(nullptr)));
  };
  if (d.digest || d.notifications.size() > 1) {
    json details = json::array();
    bool any_firing = false;
    std::string ids;
    for (const auto& n : d.notifications) {
      any_firing = any_firing || firing(n.kind);
      ids += n.receiver + "\x1f" + n.id + "\x1e";
      details.push_back({{"kind", notification_kind_name(n.kind)}, {"severity", severity_name(n.severity)},
                         {"rule", n.rule}, {"subject", n.subject}, {"band", n.band}, {"summary", n.summary},
                         {"alert_id", n.alert_id},
                         {"dedup_key", n.dedup_key.empty() ? default_dedup_key(n) : n.dedup_key}});
    }
    const json body = delivery_to_json(d);
    json payload = {{"summary", digest_summary(d.notifications).substr(0, 1024)},
                    {"source", host(first)},
                    {"timestamp", timestamp(d.notifications.back())},
                    {"custom_details", {{"count", d.notifications.size()}, {"counts", body.at("counts")},
                                        {"messages", details}}}};
    // Nothing to page for (only resolves and acknowledgements): a change event, no incident.
    if (!any_firing) return {{"routing_key", routing_key}, {"payload", payload}};
    payload["severity"] = pagerduty_severity(max_severity(d.notifications));
    payload["component"] = "binwatch";
    payload["group"] = "digest";
    return {{"routing_key", routing_key}, {"event_action", "trigger"},
            {"dedup_key", "binwatch-digest-" + hex16(fnv1a(ids))}, {"payload", payload}};
  }
  const Notification& n = first;
  std::string action = "trigger";
  if (n.kind == NotificationKind::Acknowledge) action = "acknowledge";
  if (n.kind == NotificationKind::Resolve) action = "resolve";
  json details = {{"kind", notification_kind_name(n.kind)}, {"severity", severity_name(n.severity)},
                  {"alert_id", n.alert_id}, {"tier", n.tier}, {"message_id", n.id}};
  if (!n.band.empty()) details["band"] = n.band;
  if (n.starts_at) details["starts_at"] = format_rfc3339(n.starts_at);
  for (const auto& [k, v] : n.labels) details["label." + k] = v;
  for (const auto& [k, v] : n.annotations) details[k] = v;
  const std::string summary = n.summary.empty() ? n.rule + " " + n.subject : n.summary;
  json payload = {{"summary", summary.substr(0, 1024)},
                  {"source", host(n)},
                  {"severity", pagerduty_severity(n.severity)},
                  {"timestamp", timestamp(n)},
                  {"component", n.subject},
                  {"group", n.rule},
                  {"custom_details", details}};
  if (!n.band.empty()) payload["class"] = n.band;
  std::string dedup = n.dedup_key.empty() ? default_dedup_key(n) : n.dedup_key;
  if (dedup.size() > 255) dedup = "binwatch-" + hex16(fnv1a(dedup));  // the API's limit
  return {{"routing_key", routing_key}, {"event_action", action}, {"dedup_key", dedup}, {"payload", payload}};
}

}  // namespace binwatch::alerts
