// binwatch alerts / ack / unack: clients of the daemon's alert API (GET /api/v1/alerts, token-guarded
// POST /api/v1/alerts/{id}/ack|unack). The daemon owns the alert state; these only ask it.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "binwatch/policy/duration.h"
#include "binwatch/watch/alert_engine.h"
#include "commands.h"

namespace binwatch::cli {

namespace {

using nlohmann::json;

struct ApiOptions {
  std::string url = "http://127.0.0.1:9874";
  std::string token_file = "/etc/binwatch/api.token";
};

void add_api_options(CLI::App* cmd, ApiOptions& o, bool with_token) {
  cmd->add_option("--url", o.url, "The daemon's HTTP address")->capture_default_str();
  if (with_token)
    cmd->add_option("--token-file", o.token_file,
                    "File holding the API token (alerts.token_file of the daemon); BINWATCH_API_TOKEN wins")
        ->capture_default_str();
}

std::string base_of(const std::string& url) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// Prints the daemon's answer; exit 0 on 2xx, 2 when unreachable, 1 when refused.
int report_answer(const char* what, const std::string& base, const httplib::Result& res, bool as_json) {
  if (!res) {
    std::cerr << "binwatch " << what << ": cannot reach " << base << " (" << httplib::to_string(res.error())
              << "); is `binwatch watch` running?\n";
    return 2;
  }
  const json body = json::parse(res->body, nullptr, false);
  if (res->status / 100 != 2) {
    std::cerr << "binwatch " << what << ": HTTP " << res->status << ": "
              << (body.is_object() && body.contains("error") ? body["error"].get<std::string>() : res->body) << "\n";
    return 1;
  }
  if (as_json || body.is_discarded()) std::cout << res->body;
  return 0;
}

std::string format_ms(int64_t ms) { return policy::format_duration_ms(ms < 0 ? 0 : ms); }

int print_alerts(const ApiOptions& o, bool as_json) {
  const std::string base = base_of(o.url);
  httplib::Client client(base);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  auto res = client.Get("/api/v1/alerts");
  if (as_json || !res || res->status != 200) return report_answer("alerts", base, res, true);
  const json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) return report_answer("alerts", base, res, true);
  const int64_t now = j.value("now_ms", int64_t{0});
  if (j["alerts"].empty()) std::cout << "no alerts\n";
  for (const auto& a : j["alerts"]) {
    std::cout << a.value("id", "") << "  " << a.value("severity", "") << "  " << a.value("state", "") << "  "
              << a.value("rule", "") << "  " << a.value("subject", "");
    if (!a.value("band", "").empty()) std::cout << "  (" << a.value("band", "") << ")";
    if (a.value("firing_since_ms", int64_t{0}) > 0)
      std::cout << "  firing for " << format_ms(now - a.value("firing_since_ms", int64_t{0}));
    std::cout << "  tier " << a.value("tier", 0u);
    if (a.value("shadowed", false)) std::cout << "  (shadowed by a higher severity: pages nobody meanwhile)";
    std::cout << "\n";
    if (a.contains("ack"))
      std::cout << "    acknowledged by " << a["ack"].value("by", "") << ": " << a["ack"].value("reason", "")
                << " (expires in " << format_ms(a["ack"].value("expires_ms", int64_t{0}) - now) << ", covers band "
                << a["ack"].value("band", "") << " and milder)\n";
  }
  const auto& ob = j["outbox"];
  if (ob.is_object()) {
    std::cout << "outbox: " << ob.value("pending", size_t{0}) << " pending";
    if (ob.contains("dead_letters")) std::cout << ", " << ob["dead_letters"].size() << " dead letter(s)";
    std::cout << "\n";
  }
  return 0;
}

std::string default_user() {
  for (const char* v : {"SUDO_USER", "USER", "LOGNAME"})
    if (const char* s = std::getenv(v); s && *s) return s;
  return "uid-" + std::to_string(::getuid());
}

int mutate(const ApiOptions& o, const std::string& id, const json& body, const char* action, bool as_json) {
  std::string token;
  if (const char* t = std::getenv("BINWATCH_API_TOKEN"); t && *t) token = t;
  else {
    try {
      token = watch::read_token_file(o.token_file);
    } catch (const std::exception& e) {
      std::cerr << "binwatch " << action << ": " << e.what() << " (--token-file or BINWATCH_API_TOKEN)\n";
      return 2;
    }
  }
  const std::string base = base_of(o.url);
  httplib::Client client(base);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  httplib::Headers headers{{"Authorization", "Bearer " + token}};
  auto res = client.Post(("/api/v1/alerts/" + id + "/" + action).c_str(), headers, body.dump(), "application/json");
  const int rc = report_answer(action, base, res, as_json);
  if (rc == 0 && !as_json) {
    const json a = json::parse(res->body, nullptr, false);
    std::cout << id << ": " << (a.is_object() ? a.value("state", "") : std::string()) << "\n";
  }
  return rc;
}

}  // namespace

Subcommand add_alerts_command(CLI::App& app) {
  auto o = std::make_shared<ApiOptions>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("alerts", "Lists the daemon's alerts (pending, firing, acknowledged) and its outbox.\n"
                                               "Exit 0: listed; 2: daemon unreachable.");
  add_api_options(cmd, *o, false);
  cmd->add_flag("--json", *as_json, "Print the API document as it is");
  return {cmd, [o, as_json] { return print_alerts(*o, *as_json); }};
}

Subcommand add_ack_command(CLI::App& app) {
  struct Args {
    ApiOptions api;
    std::string id, ttl = "30m", reason, by = default_user();
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "ack", "Acknowledges one alert (one rule, subject and severity, in its current band or milder) until the TTL.\n"
             "Another subject, a higher severity or a worse band still pages; so does this one after the TTL.");
  cmd->add_option("id", a->id, "Alert id (binwatch alerts)")->required();
  cmd->add_option("--ttl", a->ttl, "How long, e.g. 30m, 2h (the policy's max_ttl is the limit)")->capture_default_str();
  cmd->add_option("--reason", a->reason, "Why (required; shown to everyone paged)")->required();
  cmd->add_option("--by", a->by, "Who acknowledges (default: the login name)")->capture_default_str();
  add_api_options(cmd, a->api, true);
  cmd->add_flag("--json", a->json, "Print the alert as the API returns it");
  return {cmd, [a] {
            if (!policy::parse_duration_ms(a->ttl)) {
              std::cerr << "binwatch ack: --ttl: not a duration (e.g. 30m, 2h): " << a->ttl << "\n";
              return 2;
            }
            return mutate(a->api, a->id, {{"ttl", a->ttl}, {"reason", a->reason}, {"by", a->by}}, "ack", a->json);
          }};
}

Subcommand add_unack_command(CLI::App& app) {
  struct Args {
    ApiOptions api;
    std::string id, by = default_user();
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("unack", "Withdraws an acknowledgement: a firing alert pages again at once.");
  cmd->add_option("id", a->id, "Alert id (binwatch alerts)")->required();
  cmd->add_option("--by", a->by, "Who withdraws it (default: the login name)")->capture_default_str();
  add_api_options(cmd, a->api, true);
  cmd->add_flag("--json", a->json, "Print the alert as the API returns it");
  return {cmd, [a] { return mutate(a->api, a->id, {{"by", a->by}}, "unack", a->json); }};
}

}  // namespace binwatch::cli
