#pragma once
// Alert receivers as configured in binwatch.toml, one [[alerts.receiver]] table each:
//
//   [[alerts.receiver]]
//   name = "oncall"             # required, unique; [A-Za-z0-9_.-], at most 64 characters
//   type = "pagerduty"          # "log" | "webhook" | "alertmanager" | "pagerduty" | "exec"
//   url = "https://events.pagerduty.com"   # webhook: the URL to POST to (required);
//                               # alertmanager: base URL, /api/v2/alerts is appended (required);
//                               # pagerduty: base URL, /v2/enqueue is appended (default above)
//   routing_key_file = "/etc/binwatch/pagerduty.key"  # pagerduty only, required; never logged
//   command = "/usr/local/bin/page-me"  # exec only, required; run without a shell
//   args = ["--team", "dba"]    # exec only; the notification JSON arrives on standard input
//   timeout_ms = 10000          # per HTTP request or command run (100..600000)
//   rate_limit = 10             # at most this many messages per window (1..10000) ...
//   window_s = 60               # ... of this many seconds (1..86400); a storm folds into digests
//   group_wait_s = 0            # hold a first message this long to fold companions (0..3600)
//   generator_url = "http://db1:9874/api/v1/alerts"   # alertmanager only: generatorURL
//   active_for_s = 86400        # alertmanager only: a firing alert is sent with endsAt this far
//                               # ahead (60..2592000), so Alertmanager does not resolve it on its
//                               # own after its resolve_timeout; binwatch's resolve (delivered
//                               # through the outbox, at least once) ends it; reminders renew it
//
// Keys that do not belong to the receiver's type are errors, like unknown keys, so a typo or a
// leftover never silently does nothing.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace binwatch::alerts {

enum class ReceiverType { Log, Webhook, Alertmanager, PagerDuty, Exec };
std::string_view receiver_type_name(ReceiverType t);  // "log", "webhook", ...

struct ReceiverConfig {
  std::string name;
  ReceiverType type = ReceiverType::Log;
  std::string url;               // see above; PagerDuty defaults to kPagerDutyDefaultUrl
  std::string routing_key_file;  // PagerDuty
  std::string command;           // exec
  std::vector<std::string> args;
  std::string generator_url;     // Alertmanager's generatorURL (else annotation "generator_url")
  uint32_t timeout_ms = 10000;
  uint32_t rate_limit = 10;
  uint32_t window_s = 60;
  uint32_t group_wait_s = 0;
  uint32_t active_for_s = 86400;  // Alertmanager: endsAt of a firing alert = sent + this
};

inline constexpr std::string_view kPagerDutyDefaultUrl = "https://events.pagerduty.com";

// Checks every entry of the [[alerts.receiver]] array; throws watch::ConfigError
// ("binwatch.toml:12: alerts.receiver[1].rate_limit: must be between 1 and 10000 (got 0)") for
// wrong types, ranges, missing or unknown keys and duplicate names. `key_prefix` names the array
// in the messages. Pure: does not read routing_key_file or look for the command.
std::vector<ReceiverConfig> parse_receivers(const toml::array& receivers, std::string_view origin,
                                            std::string_view key_prefix = "alerts.receiver");

}  // namespace binwatch::alerts
