#include "binwatch/watch/alert_engine.h"

#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "binwatch/alerts/notifier.h"
#include "binwatch/alerts/outbox.h"
#include "binwatch/atomic_file.h"
#include "binwatch/policy/alert_state.h"
#include "binwatch/policy/duration.h"
#include "binwatch/watch/json_number.h"
#include "binwatch/watch/metrics_writer.h"

namespace binwatch::watch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Parses one exposition sample line: name{a="x",b="y"} value. False on anything else.
bool parse_sample(std::string_view line, policy::Observation& o) {
  size_t i = 0;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
  if (i == 0) return false;
  o.metric = std::string(line.substr(0, i));
  o.labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return false;
      o.labels[std::move(key)] = std::move(value);
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;
  }
  while (i < line.size() && line[i] == ' ') ++i;
  const std::string v(line.substr(i, line.find(' ', i) == std::string_view::npos ? std::string_view::npos
                                                                                   : line.find(' ', i) - i));
  if (v.empty()) return false;
  if (v == "+Inf") o.value = std::numeric_limits<double>::infinity();
  else if (v == "-Inf") o.value = -std::numeric_limits<double>::infinity();
  else if (v == "NaN") o.value = std::numeric_limits<double>::quiet_NaN();
  else {
    try {
      size_t used = 0;
      o.value = std::stod(v, &used);
      if (used != v.size()) return false;
    } catch (const std::exception&) {
      return false;
    }
  }
  return true;
}

std::string subject_of(const policy::Observation& o) {
  auto has = [&](const char* k) { return o.labels.count(k) != 0; };
  if (has("schema") && has("table")) return o.labels.at("schema") + "." + o.labels.at("table");
  for (const char* k : {"mount", "replica", "net_rule", "bucket", "counter", "kind", "file", "type"})
    if (has(k)) return o.labels.at(k);
  return o.metric;
}

json alert_view(const policy::Alert& a) {
  json j{{"id", a.id},
         {"rule", a.rule},
         {"subject", a.subject},
         {"severity", std::string(alerts::severity_name(a.severity))},
         {"state", std::string(policy::alert_status(a))},
         {"band", a.band},
         {"value", finite_or_null(a.value)},
         {"labels", a.labels},
         {"pending_since_ms", a.pending_since_ms},
         {"firing_since_ms", a.firing_since_ms},
         {"tier", a.tier},
         {"dedup_key", a.dedup_key},
         {"paged", a.paged},
         // A higher severity of the same rule and subject is firing: this one pages nobody until
         // that one resolves (then it pages, unless it was acknowledged meanwhile).
         {"shadowed", a.shadowed}};
  if (a.ack) {
    j["ack"] = {{"by", a.ack->by},
                {"reason", a.ack->reason},
                {"created_ms", a.ack->created_ms},
                {"expires_ms", a.ack->expires_ms},
                {"band", a.ack->band}};
  }
  return j;
}

}  // namespace

std::vector<policy::Observation> observations_from_exposition(std::string_view text) {
  std::vector<policy::Observation> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    policy::Observation o;
    if (!parse_sample(line, o)) continue;
    o.subject = subject_of(o);
    out.push_back(std::move(o));
  }
  return out;
}

AlertEngine::AlertEngine(const AlertsSettings& settings, const fs::path& state_dir, std::string generator_url)
    : m_policy(settings.policy_file.empty() ? policy::default_alert_policy()
                                            : policy::load_alert_policy(settings.policy_file)),
      m_state_file(state_dir / "alerts.json") {
  // Receivers: the configured ones, plus "log" when not configured (the default ladders use it).
  std::vector<alerts::ReceiverConfig> receivers = settings.receivers;
  std::set<std::string> names;
  for (const auto& r : receivers) names.insert(r.name);
  if (!names.count("log")) {
    alerts::ReceiverConfig log;
    log.name = "log";
    log.type = alerts::ReceiverType::Log;
    log.rate_limit = 100;
    receivers.push_back(log);
    names.insert("log");
  }
  std::set<std::string> missing;
  for (const auto& l : m_policy.ladders)
    for (const auto& t : l.tiers)
      for (const auto& r : t.receivers)
        if (!names.count(r)) missing.insert(r);
  for (const auto& r : missing)
    spdlog::warn("alerts: the policy pages receiver \"{}\", which [[alerts.receiver]] does not define: its pages "
                 "are dead-lettered (visible in /api/v1/alerts)",
                 r);
  // An alert reaches Alertmanager with endsAt = sent + active_for_s and is sent again only by a
  // reminder (unacknowledged, every `repeat`) or a new page (after an acknowledgement ends): say
  // when the policy leaves an active alert unsent for longer, as Alertmanager would resolve it.
  for (const auto& r : receivers) {
    if (r.type != alerts::ReceiverType::Alertmanager) continue;
    const int64_t active_ms = int64_t{r.active_for_s} * 1000;
    for (const auto& l : m_policy.ladders) {
      if (l.repeat_ms == 0 || l.repeat_ms >= active_ms)
        spdlog::warn("alerts: receiver \"{}\" (alertmanager, active_for_s = {}): ladder \"{}\" {}, so an alert "
                     "firing longer than {} s is resolved by Alertmanager on its own; set repeat below it",
                     r.name, r.active_for_s, l.name,
                     l.repeat_ms == 0 ? "sends no reminders" : "reminds only every " + policy::format_duration_ms(l.repeat_ms),
                     r.active_for_s);
    }
    if (m_policy.ack.max_ttl_ms >= active_ms)
      spdlog::warn("alerts: receiver \"{}\" (alertmanager, active_for_s = {}): acknowledgements may last {}, so an "
                   "acknowledged alert can be resolved by Alertmanager on its own; raise active_for_s above [ack] "
                   "max_ttl",
                   r.name, r.active_for_s, policy::format_duration_ms(m_policy.ack.max_ttl_ms));
  }
  std::vector<std::unique_ptr<alerts::Notifier>> notifiers;
  for (auto& r : receivers) {
    if (r.type == alerts::ReceiverType::Alertmanager && r.generator_url.empty()) r.generator_url = generator_url;
    notifiers.push_back(alerts::make_notifier(r));
  }

  std::error_code ec;
  if (fs::exists(m_state_file, ec)) {
    const auto text = read_whole_file(m_state_file);
    try {
      if (!text) throw std::runtime_error("cannot open it");
      m_state = policy::alert_state_from_json(json::parse(*text));
    } catch (const std::exception& e) {
      throw std::runtime_error(m_state_file.string() + ": cannot read the alert state: " + e.what() +
                               " (move it away to start with no alerts and no acknowledgements)");
    }
    spdlog::info("alerts: {} alert(s) restored from {}", m_state.alerts.size(), m_state_file.string());
  }
  m_outbox = std::make_unique<alerts::Outbox>(alerts::outbox_path(state_dir), std::move(notifiers));
  for (const auto& w : m_outbox->warnings()) spdlog::warn("alerts: {}", w);
}

AlertEngine::~AlertEngine() { stop(); }

void AlertEngine::start() { m_outbox->start(); }
void AlertEngine::stop() {
  if (m_outbox) m_outbox->stop();
}

void AlertEngine::commit(policy::AlertState next, const std::vector<alerts::Notification>& notifications) {
  // Caller holds m_mutex. Pages first (durable), then the state.
  if (!notifications.empty()) m_outbox->enqueue(notifications);
  write_file_atomically(m_state_file, policy::alert_state_to_json(next).dump() + "\n", 0600);
  m_state = std::move(next);
}

void AlertEngine::evaluate(std::string_view exposition, int64_t now_ms) {
  const auto observations = observations_from_exposition(exposition);
  std::lock_guard lock(m_mutex);
  auto decision = policy::decide(m_policy, observations, m_state, now_ms);
  ++m_evaluations;
  if (decision.notifications.empty() && decision.state == m_state) return;
  for (const auto& n : decision.notifications)
    spdlog::info("alerts: {} {} [{}] {} {} -> {}", alerts::notification_kind_name(n.kind), n.alert_id,
                 alerts::severity_name(n.severity), n.rule, n.subject, n.receiver);
  try {
    commit(std::move(decision.state), decision.notifications);
  } catch (const std::exception& e) {
    // Nothing is lost: the next tick decides again from the last saved state.
    ++m_state_write_errors;
    spdlog::error("alerts: {}", e.what());
  }
}

AlertEngine::Answer AlertEngine::apply(policy::AckOutcome out, std::string_view alert_id) {
  // Caller holds m_mutex.
  if (!out.ok()) {
    const int status = out.error->kind == policy::AckError::Kind::UnknownAlert ? 404 : 422;
    return {status, {{"error", out.error->message}, {"alert_id", std::string(alert_id)}}};
  }
  try {
    commit(std::move(out.state), out.notifications);
  } catch (const std::exception& e) {
    return {500, {{"error", std::string("the change was not saved: ") + e.what()}}};
  }
  return {200, alert_view(m_state.alerts.at(std::string(alert_id)))};
}

AlertEngine::Answer AlertEngine::ack(std::string_view alert_id, std::optional<int64_t> ttl_ms, std::string_view by,
                                     std::string_view reason, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  auto answer = apply(policy::ack(m_policy, m_state, alert_id, ttl_ms, by, reason, now_ms), alert_id);
  if (answer.status == 200) spdlog::info("alerts: {} acknowledged by {} ({})", alert_id, by, reason);
  return answer;
}

AlertEngine::Answer AlertEngine::unack(std::string_view alert_id, std::string_view by, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  auto answer = apply(policy::unack(m_policy, m_state, alert_id, by, now_ms), alert_id);
  if (answer.status == 200) spdlog::info("alerts: acknowledgement of {} withdrawn by {}", alert_id, by);
  return answer;
}

json AlertEngine::alerts_json(int64_t now_ms) const {
  json list = json::array();
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, a] : m_state.alerts) list.push_back(alert_view(a));
  }
  return {{"now_ms", now_ms}, {"alerts", list}, {"outbox", alerts::to_json(m_outbox->status())}};
}

void AlertEngine::write_metrics(MetricsWriter& w) const {
  w.family("binwatch_alerts", "gauge", "Alerts by identity and state (pending, firing, acknowledged): 1 while present");
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, a] : m_state.alerts)
      w.sample("binwatch_alerts",
               {{"rule", a.rule}, {"subject", a.subject}, {"severity", std::string(alerts::severity_name(a.severity))},
                {"state", std::string(policy::alert_status(a))}},
               1);
    w.family("binwatch_alert_state_write_errors_total", "counter", "Alert state writes that failed");
    w.sample("binwatch_alert_state_write_errors_total", static_cast<double>(m_state_write_errors));
  }
  const auto st = m_outbox->status();
  w.family("binwatch_alert_outbox_pending", "gauge", "Notifications waiting in the outbox, by receiver");
  w.family("binwatch_alert_notifications_delivered_total", "counter", "Notifications delivered, by receiver");
  w.family("binwatch_alert_notifications_dead_total", "counter", "Notifications given up on, by receiver");
  for (const auto& r : st.receivers) {
    w.sample("binwatch_alert_outbox_pending", {{"receiver", r.name}}, static_cast<double>(r.pending));
    w.sample("binwatch_alert_notifications_delivered_total", {{"receiver", r.name}}, static_cast<double>(r.delivered));
    w.sample("binwatch_alert_notifications_dead_total", {{"receiver", r.name}}, static_cast<double>(r.dead));
  }
}

std::string read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": cannot read the API token file");
  if (st.st_mode & S_IROTH)
    throw std::runtime_error(path + ": the API token file is readable by every user (chmod 0600 or 0640)");
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.erase(0, 1);
  if (token.size() < 16) throw std::runtime_error(path + ": the API token must be at least 16 characters");
  return token;
}

bool bearer_matches(std::string_view header, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (token.empty() || header.size() != kPrefix.size() + token.size() || header.substr(0, kPrefix.size()) != kPrefix)
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(header[kPrefix.size() + i] ^ token[i]);
  return diff == 0;
}

}  // namespace binwatch::watch
