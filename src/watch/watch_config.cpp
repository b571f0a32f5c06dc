// TOML -> WatchConfig. toml++ does the syntax; this file checks names, types, ranges and that no
// unknown key slips through, in the style of policies/net_policy.cpp, with the line of each error.
#include "binwatch/watch/watch_config.h"

#include "binwatch/atomic_file.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace binwatch::watch {
namespace {

struct Ctx {
  std::string origin;
  [[noreturn]] void fail(const toml::node* at, const std::string& key, const std::string& what) const {
    std::string where = origin;
    if (at && at->source().begin.line) where += ":" + std::to_string(at->source().begin.line);
    throw ConfigError(where + ": " + key + ": " + what);
  }
};

void only_keys(const Ctx& c, const toml::table& t, const std::string& prefix,
               std::initializer_list<std::string_view> allowed) {
  const std::set<std::string_view> ok(allowed);
  for (const auto& [k, v] : t) {
    if (!ok.contains(k.str())) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      c.fail(&v, prefix + std::string(k.str()), "unknown key (allowed here: " + list + ")");
    }
  }
}

const toml::table* section(const Ctx& c, const toml::table& root, std::string_view key) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) c.fail(n, std::string(key), "must be a table ([" + std::string(key) + "])");
  return n->as_table();
}

std::optional<std::string> text(const Ctx& c, const toml::table* t, const std::string& prefix,
                                std::string_view key) {
  if (!t) return std::nullopt;
  const toml::node* n = t->get(key);
  if (!n) return std::nullopt;
  if (auto s = n->value_exact<std::string>()) return *s;
  c.fail(n, prefix + std::string(key), "must be a string");
}

template <typename T>
std::optional<T> integer(const Ctx& c, const toml::table* t, const std::string& prefix, std::string_view key,
                         int64_t lo, int64_t hi) {
  if (!t) return std::nullopt;
  const toml::node* n = t->get(key);
  if (!n) return std::nullopt;
  auto i = n->value_exact<int64_t>();
  if (!i) c.fail(n, prefix + std::string(key), "must be an integer");
  if (*i < lo || *i > hi) {
    c.fail(n, prefix + std::string(key),
           "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " + std::to_string(*i) + ")");
  }
  return static_cast<T>(*i);
}

std::optional<bool> boolean(const Ctx& c, const toml::table* t, const std::string& prefix, std::string_view key) {
  if (!t) return std::nullopt;
  const toml::node* n = t->get(key);
  if (!n) return std::nullopt;
  if (auto b = n->value_exact<bool>()) return *b;
  c.fail(n, prefix + std::string(key), "must be true or false");
}

bool is_identifier(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$';
  });
}

// A DSN as [mysql] takes it: mysql://user@host:port/db, never with a password.
void check_dsn(const Ctx& c, const toml::node* at, const std::string& key, const std::string& dsn) {
  if (dsn.empty()) return;
  if (!dsn.starts_with("mysql://")) c.fail(at, key, "must look like mysql://user@host:port/db");
  if (dsn.find(':', 8) != std::string::npos && dsn.find('@') != std::string::npos && dsn.find(':', 8) < dsn.find('@'))
    c.fail(at, key, "must not contain a password (use defaults_file or BINWATCH_MYSQL_PASSWORD)");
}

void parse_replicas(const Ctx& c, const toml::node* n, WatchConfig& cfg) {
  const toml::array* a = n->as_array();
  if (!a) c.fail(n, "replicas", "must be an array of tables ([[replicas]])");
  std::set<std::string> names;
  size_t i = 0;
  for (const auto& e : *a) {
    const std::string p = "replicas[" + std::to_string(i++) + "].";
    const toml::table* t = e.as_table();
    if (!t) c.fail(&e, p, "entries must be tables");
    only_keys(c, *t, p, {"name", "dsn", "socket", "defaults_file", "poll_interval_ms", "timeout_s",
                         "reconnect_min_ms", "reconnect_max_ms"});
    ReplicaTarget r;
    r.name = text(c, t, p, "name").value_or("");
    if (r.name.empty() || r.name.size() > 100 ||
        !std::all_of(r.name.begin(), r.name.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.' || ch == ':';
        }))
      c.fail(t, p + "name", "is required: letters, digits, '-', '_', '.', ':' (a metric label value)");
    if (!names.insert(r.name).second) c.fail(t->get("name"), p + "name", "\"" + r.name + "\" is used twice");
    r.dsn = text(c, t, p, "dsn").value_or("");
    check_dsn(c, t->get("dsn"), p + "dsn", r.dsn);
    r.socket = text(c, t, p, "socket").value_or("");
    r.defaults_file = text(c, t, p, "defaults_file").value_or("");
    if (r.dsn.empty() && r.socket.empty() && r.defaults_file.empty())
      c.fail(t, p + "dsn", "a replica needs dsn, socket or defaults_file");
    if (auto v = integer<uint32_t>(c, t, p, "poll_interval_ms", 100, 600000)) r.poll_interval_ms = *v;
    if (auto v = integer<uint32_t>(c, t, p, "timeout_s", 1, 600)) r.timeout_s = *v;
    if (auto v = integer<uint32_t>(c, t, p, "reconnect_min_ms", 10, 600000)) r.reconnect_min_ms = *v;
    if (auto v = integer<uint32_t>(c, t, p, "reconnect_max_ms", 10, 3600000)) r.reconnect_max_ms = *v;
    if (r.reconnect_min_ms > r.reconnect_max_ms)
      c.fail(t->get("reconnect_min_ms"), p + "reconnect_min_ms", "must not exceed reconnect_max_ms");
    cfg.replicas.push_back(std::move(r));
  }
}

void parse_listen(const Ctx& c, const toml::node* n, const std::string& value, WatchConfig& out) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    c.fail(n, "http.listen", "must be HOST:PORT, e.g. \"127.0.0.1:9874\" (got \"" + value + "\")");
  }
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(value.substr(colon + 1), &used);
    if (used != value.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 1 || port > 65535) c.fail(n, "http.listen", "port must be 1..65535 (got \"" + value + "\")");
  out.listen_host = host;
  out.listen_port = static_cast<uint16_t>(port);
}

}  // namespace

std::string window_label(uint32_t s) {
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

WatchConfig parse_watch_config(std::string_view toml_text, std::string_view origin) {
  Ctx c{std::string(origin)};
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& r = e.source().begin;
    throw ConfigError(c.origin + ":" + std::to_string(r.line) + ":" + std::to_string(r.column) + ": " +
                      std::string(e.description()));
  }
  only_keys(c, root, "", {"source", "state", "http", "mysql", "partitions", "rates", "alerts", "net", "replicas",
                          "heartbeat", "integrity", "throttle"});
  WatchConfig cfg;
  cfg.origin = c.origin;

  if (const auto* s = section(c, root, "source")) {
    only_keys(c, *s, "source.", {"mode", "binlog_index", "binlog_dir", "start", "poll_interval_ms", "server_id",
                                 "heartbeat_ms", "reconnect_min_ms", "reconnect_max_ms"});
    if (auto m = text(c, s, "source.", "mode")) {
      if (*m == "local") cfg.mode = SourceMode::Local;
      else if (*m == "replication") cfg.mode = SourceMode::Replication;
      else c.fail(s->get("mode"), "source.mode", "must be \"local\" or \"replication\" (got \"" + *m + "\")");
    }
    cfg.binlog_index = text(c, s, "source.", "binlog_index").value_or("");
    cfg.binlog_dir = text(c, s, "source.", "binlog_dir").value_or("");
    if (auto st = text(c, s, "source.", "start")) {
      if (*st == "end") cfg.start = StartAt::End;
      else if (*st == "saved") cfg.start = StartAt::Saved;
      else c.fail(s->get("start"), "source.start", "must be \"end\" or \"saved\" (got \"" + *st + "\")");
    }
    if (auto v = integer<uint32_t>(c, s, "source.", "poll_interval_ms", 10, 60000)) cfg.poll_interval_ms = *v;
    if (auto v = integer<uint32_t>(c, s, "source.", "server_id", 1, UINT32_MAX)) cfg.server_id = *v;
    if (auto v = integer<uint32_t>(c, s, "source.", "heartbeat_ms", 100, 600000)) cfg.heartbeat_ms = *v;
    if (auto v = integer<uint32_t>(c, s, "source.", "reconnect_min_ms", 10, 600000)) cfg.reconnect_min_ms = *v;
    if (auto v = integer<uint32_t>(c, s, "source.", "reconnect_max_ms", 10, 3600000)) cfg.reconnect_max_ms = *v;
    if (cfg.reconnect_min_ms > cfg.reconnect_max_ms)
      c.fail(s->get("reconnect_min_ms"), "source.reconnect_min_ms", "must not exceed reconnect_max_ms");
    if (cfg.mode == SourceMode::Replication && cfg.server_id == 0)
      c.fail(s, "source.server_id",
             "mode \"replication\" needs server_id (non-zero, unique among the server's replicas)");
  }
  if (cfg.mode == SourceMode::Local && cfg.binlog_index.empty() && cfg.binlog_dir.empty()) {
    c.fail(root.get("source"), "source",
           "mode \"local\" needs binlog_index (the server's *.index file) or binlog_dir");
  }

  if (const auto* s = section(c, root, "state")) {
    only_keys(c, *s, "state.", {"dir", "checkpoint_interval_ms"});
    if (auto d = text(c, s, "state.", "dir")) {
      if (d->empty()) c.fail(s->get("dir"), "state.dir", "must not be empty");
      cfg.state_dir = *d;
    }
    if (auto v = integer<uint32_t>(c, s, "state.", "checkpoint_interval_ms", 10, 600000)) cfg.checkpoint_interval_ms = *v;
  }

  if (const auto* s = section(c, root, "http")) {
    only_keys(c, *s, "http.", {"listen"});
    if (auto l = text(c, s, "http.", "listen")) parse_listen(c, s->get("listen"), *l, cfg);
  }

  if (const auto* s = section(c, root, "mysql")) {
    only_keys(c, *s, "mysql.", {"dsn", "socket", "defaults_file", "poll_interval_ms", "timeout_s"});
    cfg.dsn = text(c, s, "mysql.", "dsn").value_or("");
    check_dsn(c, s->get("dsn"), "mysql.dsn", cfg.dsn);
    cfg.socket = text(c, s, "mysql.", "socket").value_or("");
    cfg.defaults_file = text(c, s, "mysql.", "defaults_file").value_or("");
    if (auto v = integer<uint32_t>(c, s, "mysql.", "poll_interval_ms", 100, 600000)) cfg.mysql_poll_interval_ms = *v;
    if (auto v = integer<uint32_t>(c, s, "mysql.", "timeout_s", 1, 600)) cfg.mysql_timeout_s = *v;
  }

  if (cfg.mode == SourceMode::Replication && !cfg.has_mysql())
    c.fail(root.get("source"), "source.mode",
           "\"replication\" connects through [mysql]: set mysql.socket, mysql.dsn or mysql.defaults_file");

  if (const auto* s = section(c, root, "partitions")) {
    only_keys(c, *s, "partitions.",
              {"sample_interval_ms", "reserve_bytes", "short_window_s", "long_window_s", "expire_seconds", "mount"});
    if (auto v = integer<uint32_t>(c, s, "partitions.", "sample_interval_ms", 100, 600000)) cfg.sample_interval_ms = *v;
    if (auto v = integer<uint64_t>(c, s, "partitions.", "reserve_bytes", 0, INT64_MAX)) cfg.reserve_bytes = *v;
    if (auto v = integer<uint32_t>(c, s, "partitions.", "short_window_s", 1, 3600)) cfg.short_window_s = *v;
    if (auto v = integer<uint32_t>(c, s, "partitions.", "long_window_s", 1, 3600)) cfg.long_window_s = *v;
    if (auto v = integer<uint64_t>(c, s, "partitions.", "expire_seconds", 0, INT64_MAX)) cfg.expire_seconds = *v;
    if (cfg.short_window_s > cfg.long_window_s)
      c.fail(s, "partitions.short_window_s", "must not exceed long_window_s");
    if (const toml::node* m = s->get("mount")) {
      const toml::array* a = m->as_array();
      if (!a) c.fail(m, "partitions.mount", "must be an array of tables ([[partitions.mount]])");
      size_t i = 0;
      for (const auto& e : *a) {
        const std::string p = "partitions.mount[" + std::to_string(i++) + "].";
        const toml::table* t = e.as_table();
        if (!t) c.fail(&e, p, "entries must be tables");
        only_keys(c, *t, p, {"path", "role", "reserve_bytes"});
        MountOverride o;
        o.path = text(c, t, p, "path").value_or("");
        if (o.path.empty() || o.path.front() != '/') c.fail(t, p + "path", "an absolute path is required");
        o.role = text(c, t, p, "role").value_or("");
        o.reserve_bytes = integer<uint64_t>(c, t, p, "reserve_bytes", 0, INT64_MAX);
        cfg.mounts.push_back(std::move(o));
      }
    }
  }

  if (const auto* s = section(c, root, "net")) {
    only_keys(c, *s, "net.", {"enabled", "proc_root", "policy", "interval_ms"});
    if (auto v = boolean(c, s, "net.", "enabled")) cfg.net.enabled = *v;
    if (auto r = text(c, s, "net.", "proc_root")) {
      if (r->empty() || r->front() != '/') c.fail(s->get("proc_root"), "net.proc_root", "an absolute path is required");
      cfg.net.proc_root = *r;
    }
    cfg.net.policy_file = text(c, s, "net.", "policy").value_or("");
    if (auto v = integer<uint32_t>(c, s, "net.", "interval_ms", 100, 600000)) cfg.net.interval_ms = *v;
  }

  if (const auto* s = section(c, root, "throttle")) {
    only_keys(c, *s, "throttle.",
              {"enabled", "policy", "ghost_flag_file", "pt_osc_pause_file", "pt_archiver_sentinel", "session_interval_ms"});
    auto& t = cfg.throttle;
    if (auto v = boolean(c, s, "throttle.", "enabled")) t.enabled = *v;
    t.policy_file = text(c, s, "throttle.", "policy").value_or("");
    for (auto [key, out] : {std::pair<const char*, std::string*>{"ghost_flag_file", &t.ghost_flag_file},
                            {"pt_osc_pause_file", &t.pt_osc_pause_file},
                            {"pt_archiver_sentinel", &t.pt_archiver_sentinel}}) {
      if (auto r = text(c, s, "throttle.", key)) {
        if (!r->empty() && r->front() != '/') c.fail(s->get(key), std::string("throttle.") + key, "an absolute path is required");
        *out = *r;
      }
    }
    if (auto v = integer<uint32_t>(c, s, "throttle.", "session_interval_ms", 50, 600000)) t.session_interval_ms = *v;
  }

  if (const auto* s = section(c, root, "alerts")) {
    only_keys(c, *s, "alerts.", {"enabled", "policy", "token_file", "interval_ms", "receiver"});
    if (auto v = boolean(c, s, "alerts.", "enabled")) cfg.alerts.enabled = *v;
    cfg.alerts.policy_file = text(c, s, "alerts.", "policy").value_or("");
    cfg.alerts.token_file = text(c, s, "alerts.", "token_file").value_or("");
    if (auto v = integer<uint32_t>(c, s, "alerts.", "interval_ms", 100, 600000)) cfg.alerts.interval_ms = *v;
    if (const toml::node* r = s->get("receiver")) {
      const toml::array* a = r->as_array();
      if (!a) c.fail(r, "alerts.receiver", "must be an array of tables ([[alerts.receiver]])");
      cfg.alerts.receivers = alerts::parse_receivers(*a, c.origin);
    }
  }

  if (const auto* s = section(c, root, "rates")) {
    only_keys(c, *s, "rates.", {"windows_s", "top_tables"});
    if (const toml::node* w = s->get("windows_s")) {
      const toml::array* a = w->as_array();
      if (!a || a->empty()) c.fail(w, "rates.windows_s", "must be a non-empty array of seconds");
      cfg.windows_s.clear();
      for (const auto& e : *a) {
        auto v = e.value_exact<int64_t>();
        if (!v || *v < 1 || *v > 3600) c.fail(&e, "rates.windows_s", "each window must be 1..3600 seconds");
        cfg.windows_s.push_back(static_cast<uint32_t>(*v));
      }
    }
    if (auto v = integer<uint32_t>(c, s, "rates.", "top_tables", 1, 1000)) cfg.top_tables = *v;
  }

  if (const toml::node* r = root.get("replicas")) parse_replicas(c, r, cfg);

  if (const auto* s = section(c, root, "heartbeat")) {
    only_keys(c, *s, "heartbeat.", {"table", "interval_ms", "write", "create_table", "utc", "server_id"});
    HeartbeatConfig& h = cfg.heartbeat;
    h.table = text(c, s, "heartbeat.", "table").value_or("");
    const auto dot = h.table.find('.');
    if (dot == std::string::npos || !is_identifier(h.table.substr(0, dot)) || !is_identifier(h.table.substr(dot + 1)))
      c.fail(s->get("table") ? s->get("table") : s, "heartbeat.table",
             "must be \"db.table\" (letters, digits, '_', '$'), e.g. \"percona.heartbeat\"");
    if (auto v = integer<uint32_t>(c, s, "heartbeat.", "interval_ms", 50, 600000)) h.interval_ms = *v;
    if (auto v = boolean(c, s, "heartbeat.", "write")) h.write = *v;
    if (auto v = boolean(c, s, "heartbeat.", "create_table")) h.create_table = *v;
    if (auto v = boolean(c, s, "heartbeat.", "utc")) h.utc = *v;
    if (auto v = integer<uint32_t>(c, s, "heartbeat.", "server_id", 0, UINT32_MAX)) h.server_id = *v;
    if (h.write && !cfg.has_mysql())
      c.fail(s, "heartbeat.write", "binwatch writes the heartbeat through [mysql]: configure it, or write = false");
  }

  if (const auto* s = section(c, root, "integrity")) {
    only_keys(c, *s, "integrity.", {"check_folder", "interval_ms", "max_read_bytes_per_second", "torn_grace_ms"});
    IntegrityConfig& g = cfg.integrity;
    if (auto v = boolean(c, s, "integrity.", "check_folder")) g.check_folder = *v;
    if (auto v = integer<uint32_t>(c, s, "integrity.", "interval_ms", 100, 3600000)) g.interval_ms = *v;
    if (auto v = integer<uint64_t>(c, s, "integrity.", "max_read_bytes_per_second", 1 << 20, INT64_MAX))
      g.max_read_bytes_per_second = *v;
    if (auto v = integer<uint32_t>(c, s, "integrity.", "torn_grace_ms", 0, 86400000)) g.torn_grace_ms = *v;
  }
  return cfg;
}

WatchConfig load_watch_config(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw ConfigError(path + ": cannot read the configuration file");
  return parse_watch_config(*text, path);
}

std::vector<std::string> describe_changes(const WatchConfig& a, const WatchConfig& b) {
  std::vector<std::string> out;
  auto cmp = [&](const std::string& key, const auto& x, const auto& y, bool restart) {
    std::ostringstream sx, sy;
    sx << x;
    sy << y;
    if (sx.str() != sy.str())
      out.push_back(key + ": " + sx.str() + " -> " + sy.str() + (restart ? " (takes effect after a restart)" : ""));
  };
  cmp("source.mode", a.mode == SourceMode::Local ? "local" : "replication",
      b.mode == SourceMode::Local ? "local" : "replication", true);
  cmp("source.binlog_index", a.binlog_index, b.binlog_index, true);
  cmp("source.binlog_dir", a.binlog_dir, b.binlog_dir, true);
  cmp("source.start", a.start == StartAt::End ? "end" : "saved", b.start == StartAt::End ? "end" : "saved", false);
  cmp("source.poll_interval_ms", a.poll_interval_ms, b.poll_interval_ms, true);
  cmp("source.server_id", a.server_id, b.server_id, true);
  cmp("source.heartbeat_ms", a.heartbeat_ms, b.heartbeat_ms, true);
  cmp("source.reconnect_min_ms", a.reconnect_min_ms, b.reconnect_min_ms, true);
  cmp("source.reconnect_max_ms", a.reconnect_max_ms, b.reconnect_max_ms, true);
  cmp("state.dir", a.state_dir, b.state_dir, true);
  cmp("state.checkpoint_interval_ms", a.checkpoint_interval_ms, b.checkpoint_interval_ms, false);
  cmp("http.listen", a.listen_host + ":" + std::to_string(a.listen_port),
      b.listen_host + ":" + std::to_string(b.listen_port), true);
  cmp("mysql.dsn", a.dsn, b.dsn, true);
  cmp("mysql.socket", a.socket, b.socket, true);
  cmp("mysql.defaults_file", a.defaults_file, b.defaults_file, true);
  cmp("mysql.poll_interval_ms", a.mysql_poll_interval_ms, b.mysql_poll_interval_ms, false);
  cmp("partitions.sample_interval_ms", a.sample_interval_ms, b.sample_interval_ms, false);
  cmp("partitions.reserve_bytes", a.reserve_bytes, b.reserve_bytes, false);
  cmp("partitions.short_window_s", a.short_window_s, b.short_window_s, false);
  cmp("partitions.long_window_s", a.long_window_s, b.long_window_s, false);
  cmp("partitions.expire_seconds", a.expire_seconds ? std::to_string(*a.expire_seconds) : "server",
      b.expire_seconds ? std::to_string(*b.expire_seconds) : "server", false);
  auto mounts = [](const WatchConfig& c) {
    std::string s;
    for (const auto& m : c.mounts)
      s += m.path + "(" + m.role + "," + (m.reserve_bytes ? std::to_string(*m.reserve_bytes) : "default") + ") ";
    return s.empty() ? std::string("none") : s;
  };
  cmp("partitions.mount", mounts(a), mounts(b), false);
  auto windows = [](const WatchConfig& c) {
    std::string s;
    for (auto w : c.windows_s) s += window_label(w) + " ";
    return s;
  };
  cmp("rates.windows_s", windows(a), windows(b), false);
  cmp("rates.top_tables", a.top_tables, b.top_tables, false);
  cmp("net.enabled", a.net.enabled, b.net.enabled, true);
  cmp("net.proc_root", a.net.proc_root, b.net.proc_root, true);
  cmp("net.policy", a.net.policy_file, b.net.policy_file, true);
  cmp("net.interval_ms", a.net.interval_ms, b.net.interval_ms, true);
  cmp("throttle.enabled", a.throttle.enabled, b.throttle.enabled, true);
  cmp("throttle.policy", a.throttle.policy_file, b.throttle.policy_file, true);
  cmp("throttle.ghost_flag_file", a.throttle.ghost_flag_file, b.throttle.ghost_flag_file, true);
  cmp("throttle.pt_osc_pause_file", a.throttle.pt_osc_pause_file, b.throttle.pt_osc_pause_file, true);
  cmp("throttle.pt_archiver_sentinel", a.throttle.pt_archiver_sentinel, b.throttle.pt_archiver_sentinel, true);
  cmp("throttle.session_interval_ms", a.throttle.session_interval_ms, b.throttle.session_interval_ms, true);
  cmp("alerts.enabled", a.alerts.enabled, b.alerts.enabled, true);
  cmp("alerts.policy", a.alerts.policy_file, b.alerts.policy_file, true);
  cmp("alerts.token_file", a.alerts.token_file, b.alerts.token_file, true);
  cmp("alerts.receiver", a.alerts.receivers.size(), b.alerts.receivers.size(), true);
  auto replicas = [](const WatchConfig& c) {
    std::string s;
    for (const auto& r : c.replicas)
      s += r.name + "(" + (r.dsn.empty() ? r.socket.empty() ? r.defaults_file : r.socket : r.dsn) + ") ";
    return s.empty() ? std::string("none") : s;
  };
  cmp("replicas", replicas(a), replicas(b), true);
  auto heartbeat = [](const WatchConfig& c) {
    const auto& h = c.heartbeat;
    if (!h.enabled()) return std::string("off");
    return h.table + " every " + std::to_string(h.interval_ms) + " ms" + (h.write ? ", written" : ", read only") +
           (h.utc ? ", utc" : ", local time") + (h.server_id ? ", server_id " + std::to_string(h.server_id) : "");
  };
  cmp("heartbeat", heartbeat(a), heartbeat(b), true);
  cmp("integrity.check_folder", a.integrity.check_folder, b.integrity.check_folder, true);
  cmp("integrity.interval_ms", a.integrity.interval_ms, b.integrity.interval_ms, true);
  cmp("integrity.max_read_bytes_per_second", a.integrity.max_read_bytes_per_second,
      b.integrity.max_read_bytes_per_second, true);
  cmp("integrity.torn_grace_ms", a.integrity.torn_grace_ms, b.integrity.torn_grace_ms, true);
  return out;
}

}  // namespace binwatch::watch
