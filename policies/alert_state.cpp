// AlertState <-> JSON. The daemon writes this file atomically with the outbox; a reader that
// finds something it does not understand says where, instead of starting with no alerts (which
// would forget acknowledgements and re-page everyone).
#include "binwatch/policy/alert_state.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "binwatch/policy/fnv1a.h"

namespace binwatch::policy {

using nlohmann::json;

std::string alert_id(std::string_view rule, std::string_view subject, alerts::Severity severity) {
  uint64_t h = fnv1a64(rule);
  h = fnv1a64("\x1f", h);
  h = fnv1a64(subject, h);
  h = fnv1a64("\x1f", h);
  h = fnv1a64(alerts::severity_name(severity), h);
  return hex_prefix(h, 12);
}

std::string_view alert_status(const Alert& a) {
  if (a.ack) return "acknowledged";
  return a.phase == AlertPhase::Firing ? "firing" : "pending";
}

namespace {

constexpr int kFormatVersion = 1;

json number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return v;
}

// Reads fields of one JSON object; errors name the path from the document's root.
class Fields {
 public:
  Fields(const json& j, std::string path) : m_j(j), m_path(std::move(path)) {
    if (!m_j.is_object()) fail("", "must be an object");
  }

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    std::string where = m_path;
    if (!key.empty()) where += (where.empty() ? "" : ".") + std::string(key);
    throw PolicyError("alert state: " + (where.empty() ? std::string("document") : where) + ": " + what);
  }

  const json* find(std::string_view key) const {
    auto it = m_j.find(key);
    return it == m_j.end() || it->is_null() ? nullptr : &*it;
  }
  const json& need(std::string_view key) const {
    const json* v = find(key);
    if (!v) fail(key, "is missing");
    return *v;
  }

  std::string text(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_string()) fail(key, "must be a string");
    return v.get<std::string>();
  }
  int64_t integer(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_number_integer()) fail(key, "must be an integer");
    return v.get<int64_t>();
  }
  unsigned count(std::string_view key) const {
    const int64_t v = integer(key);
    if (v < 0 || v > std::numeric_limits<unsigned>::max()) fail(key, "must be a small non-negative integer");
    return static_cast<unsigned>(v);
  }
  bool flag(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_boolean()) fail(key, "must be true or false");
    return v.get<bool>();
  }
  double real(std::string_view key) const { return real_of(need(key), key); }
  std::optional<double> optional_real(std::string_view key) const {
    const json* v = find(key);
    return v ? std::optional<double>(real_of(*v, key)) : std::nullopt;
  }
  std::optional<int64_t> optional_integer(std::string_view key) const {
    return find(key) ? std::optional<int64_t>(integer(key)) : std::nullopt;
  }
  std::vector<std::string> strings(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_array()) fail(key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.is_string()) fail(key, "must be an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::string> labels(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_object()) fail(key, "must be an object of strings");
    std::map<std::string, std::string> out;
    for (const auto& [k, e] : v.items()) {
      if (!e.is_string()) fail(std::string(key) + "." + k, "must be a string");
      out.emplace(k, e.get<std::string>());
    }
    return out;
  }
  // Calls f(Fields) for each object of the array at key.
  template <typename F>
  void each(std::string_view key, F f) const {
    const json& v = need(key);
    if (!v.is_array()) fail(key, "must be an array");
    for (size_t i = 0; i < v.size(); ++i) {
      f(Fields(v[i], m_path + (m_path.empty() ? "" : ".") + std::string(key) + "[" + std::to_string(i) + "]"));
    }
  }
  Fields sub(std::string_view key) const {
    return Fields(need(key), m_path + (m_path.empty() ? "" : ".") + std::string(key));
  }

 private:
  double real_of(const json& v, std::string_view key) const {
    if (v.is_number()) return v.get<double>();
    if (v == "+Inf") return std::numeric_limits<double>::infinity();
    if (v == "-Inf") return -std::numeric_limits<double>::infinity();
    if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
    fail(key, "must be a number (or \"+Inf\", \"-Inf\", \"NaN\")");
  }

  const json& m_j;
  std::string m_path;
};

json ack_to_json(const Acknowledgement& a) {
  return {{"by", a.by},           {"reason", a.reason}, {"created_ms", a.created_ms},
          {"expires_ms", a.expires_ms}, {"band", a.band}, {"band_rank", a.band_rank}};
}

Acknowledgement ack_from_json(const Fields& f) {
  Acknowledgement a;
  a.by = f.text("by");
  a.reason = f.text("reason");
  a.created_ms = f.integer("created_ms");
  a.expires_ms = f.integer("expires_ms");
  a.band = f.text("band");
  a.band_rank = f.count("band_rank");
  return a;
}

json alert_to_json(const Alert& a) {
  json j = {{"id", a.id},
            {"rule", a.rule},
            {"subject", a.subject},
            {"severity", alerts::severity_name(a.severity)},
            {"phase", a.phase == AlertPhase::Firing ? "firing" : "pending"},
            {"band", a.band},
            {"band_rank", a.band_rank},
            {"value", number(a.value)},
            {"free_ratio", a.free_ratio ? number(*a.free_ratio) : json(nullptr)},
            {"labels", a.labels},
            {"pending_since_ms", a.pending_since_ms},
            {"firing_since_ms", a.firing_since_ms},
            {"clear_since_ms", a.clear_since_ms ? json(*a.clear_since_ms) : json(nullptr)},
            {"ack", a.ack ? ack_to_json(*a.ack) : json(nullptr)},
            {"owed", a.owed},
            {"owed_reason", a.owed_reason},
            {"shadowed", a.shadowed},
            {"tier", a.tier},
            {"ladder_base_ms", a.ladder_base_ms},
            {"last_page_ms", a.last_page_ms},
            {"generation", a.generation},
            {"page_band_rank", a.page_band_rank},
            {"dedup_key", a.dedup_key},
            {"open_keys", a.open_keys},
            {"paged", a.paged}};
  return j;
}

Alert alert_from_json(const Fields& f) {
  Alert a;
  a.id = f.text("id");
  a.rule = f.text("rule");
  a.subject = f.text("subject");
  if (!alerts::parse_severity(f.text("severity"), a.severity)) f.fail("severity", "unknown severity");
  const std::string phase = f.text("phase");
  if (phase == "firing") a.phase = AlertPhase::Firing;
  else if (phase == "pending") a.phase = AlertPhase::Pending;
  else f.fail("phase", "must be \"pending\" or \"firing\"");
  if (a.id != alert_id(a.rule, a.subject, a.severity)) f.fail("id", "does not match rule, subject and severity");
  a.band = f.text("band");
  a.band_rank = f.count("band_rank");
  a.value = f.real("value");
  a.free_ratio = f.optional_real("free_ratio");
  a.labels = f.labels("labels");
  a.pending_since_ms = f.integer("pending_since_ms");
  a.firing_since_ms = f.integer("firing_since_ms");
  a.clear_since_ms = f.optional_integer("clear_since_ms");
  if (f.find("ack")) a.ack = ack_from_json(f.sub("ack"));
  a.owed = f.flag("owed");
  a.owed_reason = f.text("owed_reason");
  a.shadowed = f.flag("shadowed");
  a.tier = f.count("tier");
  a.ladder_base_ms = f.integer("ladder_base_ms");
  a.last_page_ms = f.integer("last_page_ms");
  a.generation = f.count("generation");
  a.page_band_rank = f.count("page_band_rank");
  a.dedup_key = f.text("dedup_key");
  a.open_keys = f.strings("open_keys");
  a.paged = f.strings("paged");
  return a;
}

}  // namespace

json alert_state_to_json(const AlertState& s) {
  json alerts = json::array();
  for (const auto& [id, a] : s.alerts) alerts.push_back(alert_to_json(a));
  json tracks = json::array();
  for (const auto& [key, t] : s.tracks) {
    tracks.push_back({{"rule", key.first},
                      {"subject", key.second},
                      {"active_bands", t.active_bands},
                      {"counter", t.counter ? number(*t.counter) : json(nullptr)},
                      {"counter_ms", t.counter_ms},
                      {"seen_ms", t.seen_ms}});
  }
  return {{"version", kFormatVersion}, {"next_sequence", s.next_sequence}, {"alerts", alerts}, {"tracks", tracks}};
}

AlertState alert_state_from_json(const json& j) {
  const Fields root(j, "");
  if (root.integer("version") != kFormatVersion)
    root.fail("version", "is " + root.need("version").dump() + "; this binwatch reads version " +
                             std::to_string(kFormatVersion));
  AlertState s;
  const json& seq = root.need("next_sequence");
  if (!seq.is_number_unsigned()) root.fail("next_sequence", "must be a non-negative integer");
  s.next_sequence = seq.get<uint64_t>();
  root.each("alerts", [&](const Fields& f) {
    Alert a = alert_from_json(f);
    const std::string id = a.id;
    if (!s.alerts.emplace(id, std::move(a)).second) f.fail("id", "duplicate alert id " + id);
  });
  root.each("tracks", [&](const Fields& f) {
    Track t;
    const int64_t mask = f.integer("active_bands");
    if (mask < 0 || mask > std::numeric_limits<uint32_t>::max()) f.fail("active_bands", "must be a 32-bit mask");
    t.active_bands = static_cast<uint32_t>(mask);
    t.counter = f.optional_real("counter");
    t.counter_ms = f.integer("counter_ms");
    t.seen_ms = f.integer("seen_ms");
    if (!s.tracks.emplace(std::pair{f.text("rule"), f.text("subject")}, t).second)
      f.fail("subject", "duplicate track");
  });
  return s;
}

}  // namespace binwatch::policy
