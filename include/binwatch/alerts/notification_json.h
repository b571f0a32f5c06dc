#pragma once
// The JSON form of a Notification: the body of a webhook, what an exec receiver reads on standard
// input, and how the outbox stores a message. Field names are the struct's; kind and severity are
// their names ("trigger", "critical"); times are unix seconds.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "binwatch/alerts/notification.h"

namespace binwatch::alerts {

nlohmann::json notification_to_json(const Notification& n);
// Throws std::runtime_error naming the missing or malformed field. Unknown fields are ignored.
Notification notification_from_json(const nlohmann::json& j);

// 1700000000 -> "2023-11-14T22:13:20Z" (UTC, RFC 3339, as Alertmanager and PagerDuty take it).
std::string format_rfc3339(int64_t unix_seconds);

}  // namespace binwatch::alerts
