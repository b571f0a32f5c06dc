#include "binwatch/alerts/notification.h"

namespace binwatch::alerts {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical: return "critical";
    case Severity::Emergency: return "emergency";
  }
  return "unknown";
}

bool parse_severity(std::string_view text, Severity& out) {
  for (Severity s : {Severity::Info, Severity::Warning, Severity::Critical, Severity::Emergency}) {
    if (text == severity_name(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

std::string_view notification_kind_name(NotificationKind k) {
  switch (k) {
    case NotificationKind::Trigger: return "trigger";
    case NotificationKind::Reminder: return "reminder";
    case NotificationKind::Escalation: return "escalation";
    case NotificationKind::Acknowledge: return "acknowledge";
    case NotificationKind::Resolve: return "resolve";
  }
  return "unknown";
}

}  // namespace binwatch::alerts
