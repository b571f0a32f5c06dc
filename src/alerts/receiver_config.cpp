// [[alerts.receiver]] -> ReceiverConfig, with FILE:LINE: key: messages like watch_config.cpp.
#include "binwatch/alerts/receiver_config.h"

#include <set>

#include "binwatch/watch/watch_config.h"

namespace binwatch::alerts {
namespace {

// One receiver table: typed getters that remember which keys were read, so whatever is left
// over afterwards is an unknown (or misplaced) key.
class Entry {
 public:
  Entry(std::string origin, std::string prefix, const toml::table& t)
      : m_origin(std::move(origin)), m_prefix(std::move(prefix)), m_table(t) {}

  [[noreturn]] void fail(const toml::node* at, std::string_view key, const std::string& what) const {
    std::string where = m_origin;
    if (!at) at = &m_table;
    if (at->source().begin.line) where += ":" + std::to_string(at->source().begin.line);
    throw watch::ConfigError(where + ": " + m_prefix + std::string(key) + ": " + what);
  }

  const toml::node* node(std::string_view key) {
    m_read.insert(std::string(key));
    return m_table.get(key);
  }

  std::string text(std::string_view key) {
    const toml::node* n = node(key);
    if (!n) return {};
    auto s = n->value_exact<std::string>();
    if (!s) fail(n, key, "must be a string");
    if (s->empty()) fail(n, key, "must not be empty");
    return *s;
  }

  uint32_t number(std::string_view key, uint32_t fallback, int64_t lo, int64_t hi) {
    const toml::node* n = node(key);
    if (!n) return fallback;
    auto i = n->value_exact<int64_t>();
    if (!i) fail(n, key, "must be an integer");
    if (*i < lo || *i > hi) {
      fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                       std::to_string(*i) + ")");
    }
    return static_cast<uint32_t>(*i);
  }

  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = node(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) fail(n, key, "must be an array of strings");
    for (const auto& e : *a) {
      auto s = e.value_exact<std::string>();
      if (!s) fail(&e, key, "must be an array of strings");
      out.push_back(*s);
    }
    return out;
  }

  // Keys present but never read: unknown, or not meant for this receiver type.
  void reject_unread(std::string_view type_name, const std::set<std::string_view>& known) const {
    for (const auto& [k, v] : m_table) {
      if (m_read.contains(std::string(k.str()))) continue;
      if (known.contains(k.str()))
        fail(&v, k.str(), "does not apply to type \"" + std::string(type_name) + "\"");
      std::string list;
      for (auto a : known) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(&v, k.str(), "unknown key (allowed here: " + list + ")");
    }
  }

 private:
  std::string m_origin;
  std::string m_prefix;
  const toml::table& m_table;
  std::set<std::string> m_read;
};

const std::set<std::string_view> kKnownKeys = {
    "name",       "type",     "url",      "routing_key_file", "command",      "args",
    "timeout_ms", "rate_limit", "window_s", "group_wait_s",   "generator_url", "active_for_s"};

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool http_url(const std::string& s) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (s.size() > scheme.size() && s.starts_with(scheme)) return true;
  }
  return false;
}

}  // namespace

std::string_view receiver_type_name(ReceiverType t) {
  switch (t) {
    case ReceiverType::Log: return "log";
    case ReceiverType::Webhook: return "webhook";
    case ReceiverType::Alertmanager: return "alertmanager";
    case ReceiverType::PagerDuty: return "pagerduty";
    case ReceiverType::Exec: return "exec";
  }
  return "unknown";
}

std::vector<ReceiverConfig> parse_receivers(const toml::array& receivers, std::string_view origin,
                                            std::string_view key_prefix) {
  std::vector<ReceiverConfig> out;
  std::set<std::string> names;
  for (size_t i = 0; i < receivers.size(); ++i) {
    const std::string prefix = std::string(key_prefix) + "[" + std::to_string(i) + "].";
    const toml::node& n = *receivers.get(i);
    const toml::table* t = n.as_table();
    if (!t) {
      Entry(std::string(origin), prefix, toml::table{})
          .fail(&n, "", "entries must be tables ([[" + std::string(key_prefix) + "]])");
    }
    Entry e(std::string(origin), prefix, *t);
    ReceiverConfig r;
    r.name = e.text("name");
    if (r.name.empty()) e.fail(nullptr, "name", "is required");
    if (!valid_name(r.name)) e.fail(t->get("name"), "name", "use letters, digits, '_', '.', '-' (at most 64)");
    if (!names.insert(r.name).second) e.fail(t->get("name"), "name", "duplicate receiver \"" + r.name + "\"");

    const std::string type = e.text("type");
    bool found = false;
    for (ReceiverType candidate : {ReceiverType::Log, ReceiverType::Webhook, ReceiverType::Alertmanager,
                                   ReceiverType::PagerDuty, ReceiverType::Exec}) {
      if (type == receiver_type_name(candidate)) {
        r.type = candidate;
        found = true;
      }
    }
    if (!found) {
      e.fail(t->get("type"), "type",
             "must be \"log\", \"webhook\", \"alertmanager\", \"pagerduty\" or \"exec\" (got \"" + type + "\")");
    }

    r.timeout_ms = e.number("timeout_ms", r.timeout_ms, 100, 600000);
    r.rate_limit = e.number("rate_limit", r.rate_limit, 1, 10000);
    r.window_s = e.number("window_s", r.window_s, 1, 86400);
    r.group_wait_s = e.number("group_wait_s", r.group_wait_s, 0, 3600);

    switch (r.type) {
      case ReceiverType::Log: break;
      case ReceiverType::Webhook:
      case ReceiverType::Alertmanager:
        r.url = e.text("url");
        if (r.type == ReceiverType::Alertmanager) {
          r.generator_url = e.text("generator_url");
          r.active_for_s = e.number("active_for_s", r.active_for_s, 60, 2592000);
        }
        if (r.url.empty()) e.fail(nullptr, "url", "is required for type \"" + type + "\"");
        break;
      case ReceiverType::PagerDuty:
        r.url = e.text("url");
        if (r.url.empty()) r.url = kPagerDutyDefaultUrl;
        r.routing_key_file = e.text("routing_key_file");
        if (r.routing_key_file.empty())
          e.fail(nullptr, "routing_key_file", "is required for type \"pagerduty\" (a file holding the routing key)");
        break;
      case ReceiverType::Exec:
        r.command = e.text("command");
        if (r.command.empty()) e.fail(nullptr, "command", "is required for type \"exec\"");
        r.args = e.strings("args");
        break;
    }
    if (!r.url.empty() && !http_url(r.url))
      e.fail(t->get("url"), "url", "must start with http:// or https:// (got \"" + r.url + "\")");
    e.reject_unread(type, kKnownKeys);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace binwatch::alerts
