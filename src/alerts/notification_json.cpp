#include "binwatch/alerts/notification_json.h"

#include <ctime>
#include <stdexcept>

namespace binwatch::alerts {

using nlohmann::json;

json notification_to_json(const Notification& n) {
  return {{"id", n.id},
          {"receiver", n.receiver},
          {"kind", notification_kind_name(n.kind)},
          {"alert_id", n.alert_id},
          {"dedup_key", n.dedup_key},
          {"rule", n.rule},
          {"subject", n.subject},
          {"severity", severity_name(n.severity)},
          {"band", n.band},
          {"summary", n.summary},
          {"labels", n.labels},
          {"annotations", n.annotations},
          {"tier", n.tier},
          {"starts_at", n.starts_at},
          {"ends_at", n.ends_at},
          {"created_at", n.created_at}};
}

Notification notification_from_json(const json& j) {
  auto field = [&](const char* key) -> const json& {
    if (!j.is_object() || !j.contains(key)) throw std::runtime_error(std::string("notification: missing \"") + key + "\"");
    return j.at(key);
  };
  Notification n;
  try {
    n.id = field("id").get<std::string>();
    n.receiver = field("receiver").get<std::string>();
    const auto kind = field("kind").get<std::string>();
    bool known = false;
    for (auto k : {NotificationKind::Trigger, NotificationKind::Reminder, NotificationKind::Escalation,
                   NotificationKind::Acknowledge, NotificationKind::Resolve}) {
      if (kind == notification_kind_name(k)) {
        n.kind = k;
        known = true;
      }
    }
    if (!known) throw std::runtime_error("notification: unknown kind \"" + kind + "\"");
    if (!parse_severity(field("severity").get<std::string>(), n.severity))
      throw std::runtime_error("notification: unknown severity " + field("severity").dump());
    n.alert_id = field("alert_id").get<std::string>();
    n.dedup_key = field("dedup_key").get<std::string>();
    n.rule = field("rule").get<std::string>();
    n.subject = field("subject").get<std::string>();
    n.band = field("band").get<std::string>();
    n.summary = field("summary").get<std::string>();
    n.labels = field("labels").get<std::map<std::string, std::string>>();
    n.annotations = field("annotations").get<std::map<std::string, std::string>>();
    n.tier = field("tier").get<unsigned>();
    n.starts_at = field("starts_at").get<int64_t>();
    n.ends_at = field("ends_at").get<int64_t>();
    n.created_at = field("created_at").get<int64_t>();
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("notification: ") + e.what());
  }
  return n;
}

std::string format_rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace binwatch::alerts
