#include "binwatch/policy/throttle_policy.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

#include "binwatch/policy/default_throttle_policy.h"
#include "binwatch/policy/duration.h"

namespace binwatch::policy {

namespace {

[[noreturn]] void fail(const toml::node* node, std::string_view key, std::string_view what) {
  std::ostringstream os;
  os << "throttle policy: " << key;
  if (node) os << " (line " << node->source().begin.line << ")";
  os << ": " << what;
  throw std::invalid_argument(os.str());
}

void check_keys(const toml::table& t, std::string_view where, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
      fail(&v, std::string(where) + std::string(k.str()), "unknown key");
  }
}

// A duration as "30m" or a number of seconds; nullopt when absent.
std::optional<double> read_seconds(const toml::table& t, std::string_view key, std::string_view where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const std::string name = std::string(where) + std::string(key);
  if (auto s = n->value_exact<std::string>()) {
    auto ms = parse_duration_ms(*s);
    if (!ms) fail(n, name, "not a duration (\"90s\", \"30m\", \"4h\"): " + *s);
    if (*ms > int64_t{366} * 86400 * 1000) fail(n, name, "longer than a year: " + *s);
    return static_cast<double>(*ms) / 1000.0;
  }
  // Bounded (a year) so that milliseconds always fit in int64.
  constexpr double kMax = 366.0 * 86400;
  if (auto i = n->value_exact<int64_t>(); i && *i >= 0 && static_cast<double>(*i) <= kMax) return static_cast<double>(*i);
  if (auto d = n->value_exact<double>(); d && *d >= 0 && *d <= kMax) return *d;
  fail(n, name, "expected a duration such as \"30m\" or seconds from 0 to a year");
}

std::optional<double> read_number(const toml::table& t, std::string_view key, std::string_view where, double lo,
                                  double hi) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  std::optional<double> v;
  if (auto i = n->value_exact<int64_t>()) v = static_cast<double>(*i);
  else if (auto d = n->value_exact<double>()) v = *d;
  if (!v || *v < lo || *v > hi) {
    std::ostringstream os;
    os << "expected a number from " << lo << " to " << hi;
    fail(n, std::string(where) + std::string(key), os.str());
  }
  return v;
}

std::string read_string(const toml::table& t, std::string_view key, std::string_view where) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto s = n->value_exact<std::string>();
  if (!s) fail(n, std::string(where) + std::string(key), "expected a string");
  return *s;
}

bool read_bool(const toml::table& t, std::string_view key, std::string_view where, bool dflt) {
  const toml::node* n = t.get(key);
  if (!n) return dflt;
  auto b = n->value_exact<bool>();
  if (!b) fail(n, std::string(where) + std::string(key), "expected true or false");
  return *b;
}

std::vector<std::string> read_strings(const toml::table& t, std::string_view key, std::string_view where,
                                      std::vector<std::string> dflt) {
  const toml::node* n = t.get(key);
  if (!n) return dflt;
  const auto* arr = n->as_array();
  if (!arr) fail(n, std::string(where) + std::string(key), "expected an array of strings");
  std::vector<std::string> out;
  for (const auto& e : *arr) {
    auto s = e.value_exact<std::string>();
    if (!s) fail(&e, std::string(where) + std::string(key), "expected an array of strings");
    out.push_back(*s);
  }
  return out;
}

const toml::table* read_table(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  const auto* tab = n->as_table();
  if (!tab) fail(n, key, "expected a table");
  return tab;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string fmt_seconds(double s) {
  if (!std::isfinite(s)) return "never";
  return format_duration_ms(static_cast<int64_t>(std::llround(std::max(0.0, s))) * 1000);
}

std::string fmt_number(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

// One condition of a level, evaluated.
struct Hit {
  std::string metric;
  double value = 0, threshold = 0;
  std::string text;
};

std::optional<Hit> entry_hit(const ThrottleLevel& l, const ThrottleInputs& in) {
  // The order says which reason wins when several hold: the partition first (it is what fills).
  if (l.time_to_full_below_s && in.time_to_full_s && *in.time_to_full_s < *l.time_to_full_below_s)
    return Hit{"time_to_full", *in.time_to_full_s, *l.time_to_full_below_s,
               "partition " + (in.mount.empty() ? std::string("of the binlog") : in.mount) + " fills in " +
                   fmt_seconds(*in.time_to_full_s) + " (" + l.name + " below " + fmt_seconds(*l.time_to_full_below_s) + ")"};
  if (l.free_below_percent && in.free_percent && *in.free_percent < *l.free_below_percent) {
    const std::string& mount = in.free_mount.empty() ? in.mount : in.free_mount;
    return Hit{"free_percent", *in.free_percent, *l.free_below_percent,
               "partition " + (mount.empty() ? std::string("of the binlog") : mount) + " has " +
                   fmt_number(*in.free_percent) + "% free (" + l.name + " below " + fmt_number(*l.free_below_percent) + "%)"};
  }
  if (l.replica_lag_above_s && in.replica_lag_s && *in.replica_lag_s > *l.replica_lag_above_s)
    return Hit{"replica_lag", *in.replica_lag_s, *l.replica_lag_above_s,
               "a replica is " + fmt_number(*in.replica_lag_s) + " s behind (" + l.name + " above " +
                   fmt_number(*l.replica_lag_above_s) + " s)"};
  return std::nullopt;
}

// Has the projection recovered past every release threshold of level l? A missing input is no
// evidence against recovery (a replica that is not measured does not hold a level up).
bool released(const ThrottleLevel& l, const ThrottleInputs& in) {
  if (l.time_to_full_below_s && in.time_to_full_s) {
    const double r = l.release_time_to_full_above_s.value_or(*l.time_to_full_below_s);
    if (!(*in.time_to_full_s > r)) return false;
  }
  if (l.free_below_percent && in.free_percent) {
    const double r = l.release_free_above_percent.value_or(*l.free_below_percent);
    if (!(*in.free_percent > r)) return false;
  }
  if (l.replica_lag_above_s && in.replica_lag_s) {
    const double r = l.release_replica_lag_below_s.value_or(*l.replica_lag_above_s);
    if (!(*in.replica_lag_s < r)) return false;
  }
  return true;
}

std::string release_text(const ThrottleLevel& l) {
  std::vector<std::string> parts;
  if (l.time_to_full_below_s)
    parts.push_back("time to full above " + fmt_seconds(l.release_time_to_full_above_s.value_or(*l.time_to_full_below_s)));
  if (l.free_below_percent)
    parts.push_back("free above " + fmt_number(l.release_free_above_percent.value_or(*l.free_below_percent)) + "%");
  if (l.replica_lag_above_s)
    parts.push_back("replica lag below " + fmt_number(l.release_replica_lag_below_s.value_or(*l.replica_lag_above_s)) + " s");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? (i + 1 == parts.size() ? " and " : ", ") : "") + parts[i];
  return out;
}

std::string inputs_text(const ThrottleInputs& in) {
  std::vector<std::string> parts;
  if (in.time_to_full_s) parts.push_back("fills in " + fmt_seconds(*in.time_to_full_s));
  if (in.free_percent) parts.push_back(fmt_number(*in.free_percent) + "% free");
  if (in.replica_lag_s) parts.push_back("replica lag " + fmt_number(*in.replica_lag_s) + " s");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out.empty() ? "no figures" : out;
}

CooperativeAction parse_cooperative(const toml::table& t, std::string_view where) {
  const std::string s = read_string(t, "cooperative", where);
  if (s.empty() || s == "allow") return CooperativeAction::Allow;
  if (s == "throttle") return CooperativeAction::Throttle;
  if (s == "pause") return CooperativeAction::Pause;
  if (s == "stop") return CooperativeAction::Stop;
  fail(t.get("cooperative"), std::string(where) + "cooperative", "expected allow, throttle, pause or stop: " + s);
}

SessionAction parse_sessions(const toml::table& t, std::string_view where) {
  const std::string s = read_string(t, "sessions", where);
  if (s.empty() || s == "none") return SessionAction::None;
  if (s == "resource_group") return SessionAction::ResourceGroup;
  if (s == "kill_query") return SessionAction::KillQuery;
  if (s == "kill_connection") return SessionAction::KillConnection;
  fail(t.get("sessions"), std::string(where) + "sessions",
       "expected none, resource_group, kill_query or kill_connection: " + s);
}

}  // namespace

std::string_view to_string(CooperativeAction a) {
  switch (a) {
    case CooperativeAction::Allow: return "allow";
    case CooperativeAction::Throttle: return "throttle";
    case CooperativeAction::Pause: return "pause";
    case CooperativeAction::Stop: return "stop";
  }
  return "?";
}

std::string_view to_string(SessionAction a) {
  switch (a) {
    case SessionAction::None: return "none";
    case SessionAction::ResourceGroup: return "resource_group";
    case SessionAction::KillQuery: return "kill_query";
    case SessionAction::KillConnection: return "kill_connection";
  }
  return "?";
}

std::optional<int> ThrottlePolicy::level_number(std::string_view name) const {
  if (name == "ok") return 0;
  for (size_t i = 0; i < levels.size(); ++i)
    if (levels[i].name == name) return static_cast<int>(i + 1);
  return std::nullopt;
}

std::string ThrottlePolicy::level_name(int level) const {
  if (level <= 0 || static_cast<size_t>(level) > levels.size()) return "ok";
  return levels[static_cast<size_t>(level - 1)].name;
}

ThrottlePolicy parse_throttle_policy(std::string_view text) {
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "throttle policy: " << e.description() << " (line " << e.source().begin.line << ")";
    throw std::invalid_argument(os.str());
  }
  check_keys(t, "", {"hold", "level", "bulk", "apps", "flags", "sessions"});
  ThrottlePolicy p;
  if (auto h = read_seconds(t, "hold", "")) p.hold_ms = static_cast<int64_t>(*h * 1000);

  if (const toml::node* n = t.get("level")) {
    const auto* arr = n->as_array();
    if (!arr) fail(n, "level", "expected [[level]] tables");
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto* lt = (*arr)[i].as_table();
      const std::string where = "level[" + std::to_string(i) + "].";
      if (!lt) fail(&(*arr)[i], where, "expected a table");
      check_keys(*lt, where,
                 {"name", "time_to_full_below", "free_below_percent", "replica_lag_above", "release_time_to_full_above",
                  "release_free_above_percent", "release_replica_lag_below", "cooperative", "ratio", "sessions",
                  "resource_group"});
      ThrottleLevel l;
      l.name = read_string(*lt, "name", where);
      if (l.name.empty() || l.name == "ok") fail(lt, where + "name", "every level needs a name other than \"ok\"");
      if (p.level_number(l.name)) fail(lt->get("name"), where + "name", "duplicate level name " + l.name);
      l.time_to_full_below_s = read_seconds(*lt, "time_to_full_below", where);
      l.free_below_percent = read_number(*lt, "free_below_percent", where, 0, 100);
      l.replica_lag_above_s = read_seconds(*lt, "replica_lag_above", where);
      l.release_time_to_full_above_s = read_seconds(*lt, "release_time_to_full_above", where);
      l.release_free_above_percent = read_number(*lt, "release_free_above_percent", where, 0, 100);
      l.release_replica_lag_below_s = read_seconds(*lt, "release_replica_lag_below", where);
      if (!l.time_to_full_below_s && !l.free_below_percent && !l.replica_lag_above_s)
        fail(lt, where + "name", "level " + l.name + " has no entry condition (time_to_full_below, free_below_percent, replica_lag_above)");
      if (l.release_time_to_full_above_s && l.time_to_full_below_s && *l.release_time_to_full_above_s < *l.time_to_full_below_s)
        fail(lt->get("release_time_to_full_above"), where + "release_time_to_full_above", "must be >= time_to_full_below");
      if (l.release_free_above_percent && l.free_below_percent && *l.release_free_above_percent < *l.free_below_percent)
        fail(lt->get("release_free_above_percent"), where + "release_free_above_percent", "must be >= free_below_percent");
      if (l.release_replica_lag_below_s && l.replica_lag_above_s && *l.release_replica_lag_below_s > *l.replica_lag_above_s)
        fail(lt->get("release_replica_lag_below"), where + "release_replica_lag_below", "must be <= replica_lag_above");
      l.cooperative = parse_cooperative(*lt, where);
      if (auto r = read_number(*lt, "ratio", where, 0, 1)) l.ratio = *r;
      if (l.cooperative == CooperativeAction::Throttle && !(l.ratio > 0))
        fail(lt, where + "ratio", "cooperative = \"throttle\" needs a ratio in (0, 1]");
      if (l.cooperative == CooperativeAction::Pause || l.cooperative == CooperativeAction::Stop) l.ratio = 1.0;
      l.sessions = parse_sessions(*lt, where);
      l.resource_group = read_string(*lt, "resource_group", where);
      if (l.sessions == SessionAction::ResourceGroup && l.resource_group.empty())
        fail(lt, where + "resource_group", "sessions = \"resource_group\" needs resource_group = \"NAME\"");
      p.levels.push_back(std::move(l));
    }
  }

  if (const toml::node* n = t.get("bulk")) {
    const auto* arr = n->as_array();
    if (!arr) fail(n, "bulk", "expected [[bulk]] tables");
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto* bt = (*arr)[i].as_table();
      const std::string where = "bulk[" + std::to_string(i) + "].";
      if (!bt) fail(&(*arr)[i], where, "expected a table");
      check_keys(*bt, where,
                 {"name", "user", "host", "schema", "program_name", "statement", "tag", "binwatch_run",
                  "min_rows_modified", "min_transaction"});
      BulkRule r;
      r.name = read_string(*bt, "name", where);
      if (r.name.empty()) r.name = "bulk-" + std::to_string(i + 1);
      r.user = read_string(*bt, "user", where);
      r.host = read_string(*bt, "host", where);
      r.schema = read_string(*bt, "schema", where);
      r.program_name = read_string(*bt, "program_name", where);
      r.statement = read_string(*bt, "statement", where);
      if (!r.statement.empty()) {
        try {
          std::regex re(r.statement, std::regex::ECMAScript | std::regex::icase);
        } catch (const std::regex_error& e) {
          fail(bt->get("statement"), where + "statement", std::string("not a regular expression: ") + e.what());
        }
      }
      r.tag = read_bool(*bt, "tag", where, false);
      r.binwatch_run = read_bool(*bt, "binwatch_run", where, false);
      if (auto m = read_number(*bt, "min_rows_modified", where, 0, 1e18)) r.min_rows_modified = static_cast<uint64_t>(*m);
      r.min_transaction_s = read_seconds(*bt, "min_transaction", where);
      if (r.user.empty() && r.host.empty() && r.schema.empty() && r.program_name.empty() && r.statement.empty() &&
          !r.tag && !r.binwatch_run && !r.min_rows_modified && !r.min_transaction_s)
        fail(bt, where + "name", "rule " + r.name + " matches nothing: give at least one condition");
      p.bulk.push_back(std::move(r));
    }
  }
  if (const auto* apps = read_table(t, "apps")) {
    check_keys(*apps, "apps.", {"forbidden"});
    p.forbidden_apps = read_strings(*apps, "forbidden", "apps.", {});
  }
  if (const auto* flags = read_table(t, "flags")) {
    check_keys(*flags, "flags.", {"ghost_throttle_at", "pt_osc_pause_at", "pt_archiver_sentinel_at"});
    p.ghost_throttle_at = read_string(*flags, "ghost_throttle_at", "flags.");
    p.pt_osc_pause_at = read_string(*flags, "pt_osc_pause_at", "flags.");
    p.pt_archiver_sentinel_at = read_string(*flags, "pt_archiver_sentinel_at", "flags.");
    for (const auto* k : {"ghost_throttle_at", "pt_osc_pause_at", "pt_archiver_sentinel_at"}) {
      const std::string v = read_string(*flags, k, "flags.");
      if (!v.empty() && (!p.level_number(v) || v == "ok"))
        fail(flags->get(k), std::string("flags.") + k, "no level named " + v);
    }
  }
  if (const auto* s = read_table(t, "sessions")) {
    check_keys(*s, "sessions.", {"enforce", "cooldown", "max_actions", "protected_users"});
    p.enforce = read_bool(*s, "enforce", "sessions.", false);
    if (auto c = read_seconds(*s, "cooldown", "sessions.")) p.cooldown_ms = static_cast<int64_t>(*c * 1000);
    if (auto m = read_number(*s, "max_actions", "sessions.", 1, 1000)) p.max_actions = static_cast<uint32_t>(*m);
    p.protected_users = read_strings(*s, "protected_users", "sessions.", p.protected_users);
  }
  return p;
}

std::string_view default_throttle_policy_toml() { return kDefaultThrottlePolicyToml; }

const ThrottlePolicy& default_throttle_policy() {
  static const ThrottlePolicy p = parse_throttle_policy(kDefaultThrottlePolicyToml);
  return p;
}

void add_partition(ThrottleInputs& in, std::string_view mount, double time_to_full_s, double free_percent) {
  if (!in.time_to_full_s || time_to_full_s < *in.time_to_full_s) {
    in.time_to_full_s = time_to_full_s;
    in.mount = std::string(mount);
  }
  if (!in.free_percent || free_percent < *in.free_percent) {
    in.free_percent = free_percent;
    in.free_mount = std::string(mount);
  }
}

LevelDecision decide_level(const ThrottlePolicy& policy, const ThrottleInputs& in, const LevelState& prev,
                           int64_t now_ms) {
  LevelDecision d;
  d.next = prev;
  d.from = prev.level;
  const int n = static_cast<int>(policy.levels.size());
  const int cur = std::clamp(prev.level, 0, n);
  d.next.level = cur;

  int raw = 0;
  std::optional<Hit> raw_hit;
  for (int l = n; l >= 1; --l) {
    if (auto h = entry_hit(policy.levels[static_cast<size_t>(l - 1)], in)) {
      raw = l;
      raw_hit = h;
      break;
    }
  }

  if (raw > cur) {
    d.next.level = raw;
    d.next.since_ms = now_ms;
    d.next.recovering_since_ms.reset();
    d.next.recovering_to = 0;
  } else {
    // The highest level whose release thresholds are not passed yet (never below raw).
    int target = raw;
    for (int l = cur; l > raw; --l) {
      if (!released(policy.levels[static_cast<size_t>(l - 1)], in)) {
        target = l;
        break;
      }
    }
    if (target < cur) {
      if (!prev.recovering_since_ms) d.next.recovering_since_ms = now_ms;
      d.next.recovering_to = target;
      if (now_ms - *d.next.recovering_since_ms >= policy.hold_ms) {
        d.next.level = target;
        d.next.since_ms = now_ms;
        d.next.recovering_since_ms.reset();
        d.next.recovering_to = 0;
      }
    } else {
      d.next.recovering_since_ms.reset();
      d.next.recovering_to = 0;
    }
  }
  d.changed = d.next.level != cur;

  const int lvl = d.next.level;
  if (lvl == 0) {
    d.reason = "ok: " + inputs_text(in);
    return d;
  }
  const ThrottleLevel& L = policy.levels[static_cast<size_t>(lvl - 1)];
  if (raw == lvl && raw_hit) {
    d.reason = raw_hit->text;
    d.metric = raw_hit->metric;
    d.value = raw_hit->value;
    d.threshold = raw_hit->threshold;
  } else {
    // Held by hysteresis: say what must happen for it to drop.
    d.reason = "holding " + L.name + " until " + release_text(L) + " for " + format_duration_ms(policy.hold_ms) +
               " (now: " + inputs_text(in) + ")";
    if (d.next.recovering_since_ms)
      d.reason += "; recovering for " + format_duration_ms(now_ms - *d.next.recovering_since_ms);
    if (L.time_to_full_below_s && in.time_to_full_s) {
      d.metric = "time_to_full";
      d.value = *in.time_to_full_s;
      d.threshold = L.release_time_to_full_above_s.value_or(*L.time_to_full_below_s);
    } else if (L.free_below_percent && in.free_percent) {
      d.metric = "free_percent";
      d.value = *in.free_percent;
      d.threshold = L.release_free_above_percent.value_or(*L.free_below_percent);
    } else if (L.replica_lag_above_s && in.replica_lag_s) {
      d.metric = "replica_lag";
      d.value = *in.replica_lag_s;
      d.threshold = L.release_replica_lag_below_s.value_or(*L.replica_lag_above_s);
    }
  }
  return d;
}

CheckAnswer check_app(const ThrottlePolicy& policy, const LevelDecision& current, bool have_metric,
                      std::string_view app, const std::vector<AppThrottle>& app_throttles, double refuse_draw,
                      int64_t now_ms) {
  CheckAnswer a;
  a.level = policy.level_name(current.next.level);
  a.value = current.value;
  a.threshold = current.threshold;
  for (const auto& f : policy.forbidden_apps) {
    if (glob_match(f, app)) {
      a.status = 417;
      a.action = CooperativeAction::Pause;
      a.ratio = 1;
      a.message = "app " + std::string(app) + " is forbidden by the throttle policy (apps.forbidden)";
      return a;
    }
  }
  if (!have_metric) {
    a.status = 404;
    a.action = CooperativeAction::Pause;
    a.ratio = 1;
    a.message = "no metric yet: binwatch has not projected the binlog partition";
    return a;
  }
  // The level's answer.
  const int lvl = current.next.level;
  if (lvl > 0) {
    const ThrottleLevel& L = policy.levels[static_cast<size_t>(lvl - 1)];
    a.action = L.cooperative;
    a.ratio = L.cooperative == CooperativeAction::Allow ? 0 : L.ratio;
    a.message = current.reason;
  } else {
    a.message = current.reason;
  }
  // An operator's throttle on the app (freno /throttle-app) applies when it is stricter.
  for (const auto& t : app_throttles) {
    if (t.expires_ms <= now_ms || !glob_match(t.app, app)) continue;
    if (a.action == CooperativeAction::Allow || (a.action == CooperativeAction::Throttle && t.ratio > a.ratio)) {
      a.action = t.ratio >= 1.0 ? CooperativeAction::Pause : CooperativeAction::Throttle;
      a.ratio = t.ratio;
      a.message = "app " + std::string(app) + " throttled by " + (t.by.empty() ? std::string("an operator") : t.by) +
                  " at ratio " + fmt_number(t.ratio) + " for " + format_duration_ms(t.expires_ms - now_ms) + " more";
    }
  }
  switch (a.action) {
    case CooperativeAction::Allow: a.status = 200; break;
    case CooperativeAction::Throttle: a.status = refuse_draw < a.ratio ? 429 : 200; break;
    case CooperativeAction::Pause:
    case CooperativeAction::Stop: a.status = 429; break;
  }
  return a;
}

bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
  auto eq = [&](char a, char b) {
    if (case_insensitive)
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    return a == b;
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string tag_app(std::string_view s) {
  static constexpr std::string_view kTag = "binwatch:app=";
  size_t from = 0;
  while (true) {
    const size_t open = s.find("/*", from);
    if (open == std::string_view::npos) return {};
    const size_t close = s.find("*/", open + 2);
    if (close == std::string_view::npos) return {};
    const std::string_view body = s.substr(open + 2, close - open - 2);
    if (const size_t at = body.find(kTag); at != std::string_view::npos) {
      size_t b = at + kTag.size(), e = b;
      while (e < body.size() && (std::isalnum(static_cast<unsigned char>(body[e])) || body[e] == '_' ||
                                 body[e] == '-' || body[e] == '.'))
        ++e;
      if (e > b) return std::string(body.substr(b, e - b));
    }
    from = close + 2;
  }
}

bool is_protected(const ThrottlePolicy& policy, const Session& s, const std::vector<uint64_t>& own_ids) {
  if (std::find(own_ids.begin(), own_ids.end(), s.id) != own_ids.end()) return true;
  static const std::vector<std::string> kReplication = {"binlog dump", "binlog dump gtid", "slave_io", "slave_sql",
                                                        "slave_worker", "daemon", "register slave", "table dump"};
  const std::string cmd = lower(s.command);
  if (std::find(kReplication.begin(), kReplication.end(), cmd) != kReplication.end()) return true;
  if (s.user.empty() || s.user == "unauthenticated user") return true;
  for (const auto& u : policy.protected_users)
    if (glob_match(u, s.user)) return true;
  return false;
}

const RunRegistration* run_of(const Session& s, const std::vector<RunRegistration>& runs, int64_t now_ms) {
  if (s.client_pgid <= 0) return nullptr;
  for (const auto& r : runs) {
    if (r.pgid != s.client_pgid || r.expires_ms <= now_ms) continue;
    // The leader must be the registered process (same start time): a leader gone (0) or a pid that
    // names another process now (the registered group ended and its id was reused) is not the run.
    if (s.client_group_leader_start == 0 || s.client_group_leader_start != r.leader_start) continue;
    return &r;
  }
  return nullptr;
}

Classification classify(const ThrottlePolicy& policy, const Session& s, const std::vector<uint64_t>& own_ids,
                        const std::vector<RunRegistration>& runs, int64_t now_ms) {
  Classification c;
  if (is_protected(policy, s, own_ids)) return c;
  const std::string tagged = tag_app(s.info);
  const RunRegistration* run = run_of(s, runs, now_ms);
  std::string host = s.host;
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) host.resize(colon);
  for (const auto& r : policy.bulk) {
    if (!r.user.empty() && !glob_match(r.user, s.user)) continue;
    if (!r.host.empty() && !glob_match(r.host, host, true)) continue;
    if (!r.schema.empty() && !glob_match(r.schema, s.db)) continue;
    if (!r.program_name.empty() && !glob_match(r.program_name, s.program_name)) continue;
    if (r.tag && tagged.empty()) continue;
    if (r.binwatch_run && !run) continue;
    if (r.min_rows_modified && s.rows_modified < *r.min_rows_modified) continue;
    if (r.min_transaction_s && !(s.transaction_s >= *r.min_transaction_s && s.transaction_s > 0)) continue;
    if (!r.statement.empty()) {
      try {
        if (!std::regex_search(s.info, std::regex(r.statement, std::regex::ECMAScript | std::regex::icase))) continue;
      } catch (const std::regex_error&) {
        continue;  // checked at parse time; a regex that still fails never matches
      }
    }
    c.bulk = true;
    c.rule = r.name;
    c.app = !tagged.empty()                ? tagged
            : (run && !run->app.empty())    ? run->app
            : !s.app.empty()                ? s.app
                                            : r.name;
    return c;
  }
  return c;
}

std::vector<SessionPlanItem> plan_sessions(const ThrottlePolicy& policy, int level, std::vector<Session> bulk,
                                           double bytes_per_row, std::optional<int64_t> last_action_ms,
                                           int64_t now_ms) {
  std::vector<SessionPlanItem> out;
  if (level <= 0 || static_cast<size_t>(level) > policy.levels.size()) return out;
  const ThrottleLevel& L = policy.levels[static_cast<size_t>(level - 1)];
  if (L.sessions == SessionAction::None || bulk.empty()) return out;
  if (last_action_ms && now_ms - *last_action_ms < policy.cooldown_ms) return out;
  const double bpr = bytes_per_row > 0 ? bytes_per_row : 0;
  auto expected = [&](const Session& s) { return static_cast<double>(s.rows_modified) * bpr; };
  auto age = [](const Session& s) { return std::max(s.transaction_s, s.time_s); };
  std::stable_sort(bulk.begin(), bulk.end(), [&](const Session& a, const Session& b) {
    if (a.rows_modified != b.rows_modified) return a.rows_modified > b.rows_modified;
    if (age(a) != age(b)) return age(a) > age(b);
    return a.id < b.id;
  });
  for (const auto& s : bulk) {
    if (out.size() >= policy.max_actions) break;
    SessionPlanItem item;
    item.session = s;
    item.action = L.sessions;
    item.expected_bytes = expected(s);
    std::ostringstream os;
    os << "level " << L.name << ": " << to_string(L.sessions) << " of session " << s.id << " (" << s.user << "@"
       << s.host << ", app " << (s.app.empty() ? "?" : s.app);
    if (!s.rule.empty()) os << " by rule " << s.rule;
    if (s.client_pid > 0) os << ", client pid " << s.client_pid << " in process group " << s.client_pgid;
    os << ", " << s.rows_modified << " rows modified";
    if (bpr > 0) os << ", ~" << static_cast<uint64_t>(item.expected_bytes) << " binlog bytes expected";
    os << ", " << fmt_number(age(s)) << " s old)";
    item.reason = os.str();
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace binwatch::policy
