#include "binwatch/watch/throttle_engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <spdlog/spdlog.h>

#include "binwatch/atomic_file.h"
#include "binwatch/policy/duration.h"
#include "binwatch/watch/json_number.h"
#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/process_table.h"

namespace binwatch::watch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kFlagMarker = "binwatch throttle flag";

json inputs_json(const policy::ThrottleInputs& in) {
  json j;
  j["mount"] = in.mount;
  j["free_mount"] = in.free_mount.empty() ? in.mount : in.free_mount;
  j["time_to_full_seconds"] = in.time_to_full_s ? finite_or_null(*in.time_to_full_s) : json(nullptr);
  j["free_percent"] = in.free_percent ? json(*in.free_percent) : json(nullptr);
  j["replica_lag_seconds"] = in.replica_lag_s ? json(*in.replica_lag_s) : json(nullptr);
  return j;
}

}  // namespace

json check_body(const policy::CheckAnswer& a) {
  json j;
  j["StatusCode"] = a.status;
  j["Value"] = finite_or_null(a.value);
  j["Threshold"] = finite_or_null(a.threshold);
  j["Message"] = a.message;
  j["Action"] = a.status == 417 ? std::string("forbidden") : std::string(policy::to_string(a.action));
  j["Ratio"] = a.ratio;
  j["Level"] = a.level;
  return j;
}

ThrottleEngine::ThrottleEngine(const ThrottleSettings& settings, const fs::path& state_dir, fs::path proc_root)
    : m_settings(settings),
      m_proc_root(std::move(proc_root)),
      m_state_file(state_dir / "throttle.json"),
      m_audit_file(state_dir / "throttle-audit.jsonl") {
  if (settings.policy_file.empty()) {
    m_policy = policy::default_throttle_policy();
  } else {
    auto text = read_whole_file(settings.policy_file);
    if (!text) throw std::runtime_error(settings.policy_file + ": cannot read the throttle policy: " + std::strerror(errno));
    try {
      m_policy = policy::parse_throttle_policy(*text);
    } catch (const std::exception& e) {
      throw std::runtime_error(settings.policy_file + ": " + e.what());
    }
  }
  if (auto text = read_whole_file(m_state_file)) {
    const json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      spdlog::warn("{}: not JSON; starting at level ok with no app throttles", m_state_file.string());
    } else {
      const std::string name = j.value("level", std::string("ok"));
      if (auto n = m_policy.level_number(name)) {
        m_current.next.level = *n;
        m_current.next.since_ms = j.value("since_ms", int64_t{0});
        m_current.reason = j.value("reason", std::string());
        m_current.metric = j.value("metric", std::string());
        if (j.contains("value") && j["value"].is_number()) m_current.value = j["value"].get<double>();
        if (j.contains("threshold") && j["threshold"].is_number()) m_current.threshold = j["threshold"].get<double>();
        if (*n > 0) spdlog::info("throttle: resuming at level {} from {}", name, m_state_file.string());
      } else {
        spdlog::warn("{}: level {} is not in the policy; starting at ok", m_state_file.string(), name);
      }
      if (j.contains("apps") && j["apps"].is_array()) {
        for (const auto& a : j["apps"]) {
          if (!a.is_object()) continue;
          policy::AppThrottle t;
          t.app = a.value("app", std::string());
          t.ratio = a.value("ratio", 1.0);
          t.expires_ms = a.value("expires_ms", int64_t{0});
          t.by = a.value("by", std::string());
          if (!t.app.empty()) m_apps.push_back(std::move(t));
        }
      }
    }
  }
  // Flag files binwatch left behind: kept only if the saved level still wants them.
  std::lock_guard lock(m_mutex);
  sync_flags_locked(0);
}

void ThrottleEngine::save_state_locked() {
  json j;
  j["level"] = m_policy.level_name(m_current.next.level);
  j["since_ms"] = m_current.next.since_ms;
  j["reason"] = m_current.reason;
  j["metric"] = m_current.metric;
  j["value"] = finite_or_null(m_current.value);
  j["threshold"] = finite_or_null(m_current.threshold);
  json apps = json::array();
  for (const auto& a : m_apps)
    apps.push_back({{"app", a.app}, {"ratio", a.ratio}, {"expires_ms", a.expires_ms}, {"by", a.by}});
  j["apps"] = apps;
  try {
    write_file_atomically(m_state_file, j.dump(2) + "\n");
  } catch (const std::exception& e) {
    ++m_state_errors;
    spdlog::error("throttle: {}", e.what());
  }
}

void ThrottleEngine::sync_flags_locked(int64_t now_ms) {
  struct Flag {
    const char* tool;
    const std::string* path;
    const std::string* at;
  };
  const Flag flags[] = {{"gh-ost", &m_settings.ghost_flag_file, &m_policy.ghost_throttle_at},
                        {"pt-online-schema-change", &m_settings.pt_osc_pause_file, &m_policy.pt_osc_pause_at},
                        {"pt-archiver", &m_settings.pt_archiver_sentinel, &m_policy.pt_archiver_sentinel_at}};
  for (const auto& f : flags) {
    if (f.path->empty()) continue;
    const auto from = f.at->empty() ? std::nullopt : m_policy.level_number(*f.at);
    const bool want = from && *from > 0 && m_current.next.level >= *from;
    std::error_code ec;
    const bool exists = fs::exists(*f.path, ec);
    if (want && !exists) {
      const std::string body = std::string(kFlagMarker) + ": level " + m_policy.level_name(m_current.next.level) +
                               ": " + m_current.reason + "\n";
      try {
        write_file_atomically(*f.path, body, 0644);
        m_flags[f.tool] = true;
        spdlog::warn("throttle: created {} flag file {} ({})", f.tool, *f.path, m_current.reason);
        json rec = {{"tool", f.tool}, {"path", *f.path}, {"level", m_policy.level_name(m_current.next.level)},
                    {"reason", m_current.reason}};
        // The audit lock is separate from the state lock: appending here is safe.
        audit("flag_created", rec, now_ms);
      } catch (const std::exception& e) {
        spdlog::error("throttle: cannot create the {} flag file: {}", f.tool, e.what());
        audit("flag_error", {{"tool", f.tool}, {"path", *f.path}, {"error", e.what()}}, now_ms);
      }
    } else if (!want && exists) {
      // Only a file binwatch made is removed: an operator's own flag stays.
      const auto text = read_whole_file(*f.path);
      if (text && text->rfind(kFlagMarker, 0) == 0) {
        if (::unlink(f.path->c_str()) == 0 || errno == ENOENT) {
          spdlog::info("throttle: removed {} flag file {} (level {})", f.tool, *f.path,
                       m_policy.level_name(m_current.next.level));
          audit("flag_removed", {{"tool", f.tool}, {"path", *f.path}, {"level", m_policy.level_name(m_current.next.level)}},
                now_ms);
        } else {
          spdlog::error("throttle: cannot remove {}: {}", *f.path, std::strerror(errno));
        }
      }
      m_flags[f.tool] = false;
    } else {
      m_flags[f.tool] = exists;
    }
  }
}

void ThrottleEngine::update(const policy::ThrottleInputs& in, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  m_seen_ms = std::max(m_seen_ms, now_ms);
  std::erase_if(m_runs, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
  m_inputs = in;
  const bool first = !m_have_metric;
  m_have_metric = in.time_to_full_s.has_value() || in.free_percent.has_value();
  auto d = policy::decide_level(m_policy, in, m_current.next, now_ms);
  const bool changed = d.changed;
  const int from = m_current.next.level;
  m_current = std::move(d);
  // Expired operator throttles go away (and out of the saved state).
  const size_t before = m_apps.size();
  std::erase_if(m_apps, [&](const policy::AppThrottle& a) { return a.expires_ms <= now_ms; });
  if (changed) {
    ++m_level_changes;
    const std::string to = m_policy.level_name(m_current.next.level);
    const auto& L = m_current.next.level > 0 ? m_policy.levels[static_cast<size_t>(m_current.next.level - 1)]
                                             : policy::ThrottleLevel{};
    json rec = {{"from", m_policy.level_name(from)},
                {"to", to},
                {"reason", m_current.reason},
                {"metric", m_current.metric},
                {"value", finite_or_null(m_current.value)},
                {"threshold", finite_or_null(m_current.threshold)},
                {"cooperative", policy::to_string(L.cooperative)},
                {"ratio", L.ratio},
                {"sessions", policy::to_string(L.sessions)},
                {"inputs", inputs_json(in)}};
    if (m_current.next.level > from)
      spdlog::warn("throttle: level {} -> {}: {}", m_policy.level_name(from), to, m_current.reason);
    else
      spdlog::info("throttle: level {} -> {}: {}", m_policy.level_name(from), to, m_current.reason);
    audit("level", rec, now_ms);
  }
  if (changed || first || before != m_apps.size()) save_state_locked();
  sync_flags_locked(now_ms);
}

std::string ThrottleEngine::tracked_app_locked(std::string_view app) {
  if (m_check_draws.find(app) != m_check_draws.end() || m_check_draws.size() < kMaxTrackedApps) return std::string(app);
  if (!m_said_untracked) {
    m_said_untracked = true;
    spdlog::warn("throttle: {} apps asked /check already; the checks of any other app (first: {}) are counted as "
                 "app=\"{}\" from now on",
                 kMaxTrackedApps, json(std::string(app.substr(0, 100))).dump(), kOtherApp);
  }
  return std::string(kOtherApp);
}

policy::CheckAnswer ThrottleEngine::check(std::string_view app, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  const std::string tracked = tracked_app_locked(app);
  // Ratios: a low-discrepancy sequence per app refuses exactly that share of checks over time.
  const uint64_t n = m_check_draws[tracked]++;
  const double draw = std::fmod(static_cast<double>(n) * 0.6180339887498949, 1.0);
  // The answer is about the app asked for (forbidden globs, operator throttles), tracked or not.
  auto a = policy::check_app(m_policy, m_current, m_have_metric, app, m_apps, draw, now_ms);
  ++m_checks[{tracked, a.status}];
  return a;
}

json ThrottleEngine::throttle_app(std::string_view app, double ttl_minutes, double ratio, std::string_view by,
                                  int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  const int64_t expires = now_ms + static_cast<int64_t>(ttl_minutes * 60000.0);
  bool found = false;
  for (auto& a : m_apps) {
    if (a.app == app) {
      a.ratio = ratio;
      a.expires_ms = expires;
      a.by = std::string(by);
      found = true;
    }
  }
  if (!found) m_apps.push_back({std::string(app), ratio, expires, std::string(by)});
  save_state_locked();
  json rec = {{"app", app}, {"ratio", ratio}, {"ttl_minutes", ttl_minutes}, {"expires_ms", expires}, {"by", by}};
  audit("throttle_app", rec, now_ms);
  return rec;
}

json ThrottleEngine::unthrottle_app(std::string_view app, std::string_view by, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  const size_t n = std::erase_if(m_apps, [&](const policy::AppThrottle& a) { return a.app == app; });
  save_state_locked();
  json rec = {{"app", app}, {"removed", n}, {"by", by}};
  audit("unthrottle_app", rec, now_ms);
  return rec;
}

json ThrottleEngine::throttled_apps(int64_t now_ms) const {
  std::lock_guard lock(m_mutex);
  // freno's shape: {"app": {"AppName": "...", "ExpireAt": "...", "Ratio": r}}.
  json j = json::object();
  for (const auto& a : m_apps) {
    if (a.expires_ms <= now_ms) continue;
    j[a.app] = {{"AppName", a.app}, {"ExpireAtMs", a.expires_ms}, {"Ratio", a.ratio}, {"By", a.by}};
  }
  return j;
}

namespace {

// Empty when the caller may register a group whose leader's parent (binwatch) is `parent`: the
// caller's socket belongs to that process's real uid, or to root. Else why not.
std::string caller_mismatch(const ProcessTable& procs, const ThrottleEngine::RunCaller& caller, int64_t parent) {
  if (caller.port <= 0 || caller.port > 65535 || caller.server_port <= 0 || caller.server_port > 65535)
    return "the caller's TCP connection is unknown";
  const auto sockets = procs.tcp_sockets();
  const auto* s = procfs::find_tcp_socket(sockets, caller.address, static_cast<uint16_t>(caller.port),
                                          caller.server_address, static_cast<uint16_t>(caller.server_port));
  const std::string who = caller.address + ":" + std::to_string(caller.port);
  if (!s) return "no socket of the caller " + who + " in net/tcp{,6} (another host or network namespace)";
  if (s->uid == 0) return "";
  const auto puid = procs.uid(parent);
  if (!puid) return "the uid of binwatch process " + std::to_string(parent) + " is unknown";
  if (*puid != s->uid)
    return "the caller " + who + " is uid " + std::to_string(s->uid) + ", binwatch process " + std::to_string(parent) +
           " uid " + std::to_string(*puid);
  return "";
}

}  // namespace

bool ThrottleEngine::note_run(int64_t pgid, int64_t interval_ms, std::string_view app, const RunCaller& caller,
                              int64_t now_ms) {
  const int64_t keep = std::max(kRunKeepMs, 4 * std::clamp<int64_t>(interval_ms, 0, kRunMaxIntervalMs));
  const ProcessTable procs(m_proc_root);
  const auto leader = procs.stat(pgid);
  // A refresh: the same leader (same start time) still alive. A group whose leader is gone is not
  // refreshed (its id may be reused once the rest of the group ends): it expires.
  {
    std::lock_guard lock(m_mutex);
    auto it = m_runs.find(pgid);
    m_seen_ms = std::max(m_seen_ms, now_ms);
    if (it != m_runs.end() && it->second.expires_ms > now_ms && leader &&
        leader->start_time == it->second.leader_start) {
      if (it->second.app != app) {
        refuse_run_locked("app_mismatch",
                          "pgid=" + std::to_string(pgid) + ": registered for app " +
                              json(it->second.app.substr(0, 100)).dump() + " already",
                          app);
        return false;
      }
      it->second.expires_ms = now_ms + keep;
      return true;
    }
  }
  // New (or changed): the leader must lead its group and be a child of binwatch run by the caller's uid.
  std::string reason, detail;
  if (!leader) {
    reason = "no_process";
    detail = "no process " + std::to_string(pgid) + " in " + m_proc_root.string() +
             " (another user's process is hidden by ProtectProc=invisible or hidepid)";
  } else if (leader->pgrp != pgid) {
    reason = "not_group_leader";
    detail = "process " + std::to_string(pgid) + " (" + leader->comm + ") leads no group of its own";
  } else if (!procs.is_binwatch(leader->ppid)) {
    const auto parent = procs.stat(leader->ppid);
    reason = "parent_not_binwatch";
    detail = "the parent of " + std::to_string(pgid) + " (" + leader->comm + ") is process " +
             std::to_string(leader->ppid) + " (" + (parent ? parent->comm : std::string("?")) + "), not binwatch";
  } else if (auto why = caller_mismatch(procs, caller, leader->ppid); !why.empty()) {
    reason = "caller_mismatch";
    detail = std::move(why);
  }
  std::lock_guard lock(m_mutex);
  m_seen_ms = std::max(m_seen_ms, now_ms);
  if (reason.empty()) {
    std::erase_if(m_runs, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
    // Registered meanwhile by a concurrent check (no lock was held above): the first app stays.
    if (auto it = m_runs.find(pgid); it != m_runs.end() && it->second.leader_start == leader->start_time) {
      if (it->second.app == app) {
        it->second.expires_ms = now_ms + keep;
        return true;
      }
      reason = "app_mismatch";
      detail = "registered for app " + json(it->second.app.substr(0, 100)).dump() + " already";
    }
    if (reason.empty() && m_runs.size() >= kMaxRuns && !m_runs.count(pgid)) {
      reason = "full";
      detail = std::to_string(kMaxRuns) + " runs registered already";
    }
  }
  if (!reason.empty()) {
    refuse_run_locked(reason, "pgid=" + std::to_string(pgid) + ": " + detail, app);
    return false;
  }
  policy::RunRegistration r;
  r.pgid = pgid;
  r.app = std::string(app);
  r.leader_start = leader->start_time;
  r.registered_ms = now_ms;
  r.expires_ms = now_ms + keep;
  m_runs[pgid] = r;
  spdlog::info("throttle: binwatch run of app {} registered (process group {}, {}, parent {})", r.app, pgid,
               leader->comm, leader->ppid);
  audit("run_registered", {{"pgid", pgid}, {"app", r.app}, {"leader", leader->comm}, {"parent_pid", leader->ppid},
                           {"keep_ms", keep}},
        now_ms);
  return true;
}

void ThrottleEngine::refuse_run_locked(const std::string& reason, const std::string& detail, std::string_view app) {
  ++m_run_refusals[reason];
  if (m_said_run_refusal) return;
  m_said_run_refusal = true;
  spdlog::warn("throttle: ignoring the X-Binwatch-Run header of a check of app {} ({}); further refusals are only "
               "counted in binwatch_throttle_run_refusals_total",
               json(std::string(app.substr(0, 100))).dump(), detail);
}

void ThrottleEngine::note_malformed_run(std::string_view header, std::string_view app, int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  m_seen_ms = std::max(m_seen_ms, now_ms);
  refuse_run_locked("malformed", "not \"pgid=N interval_ms=M\": " + json(std::string(header.substr(0, 100))).dump(), app);
}

std::vector<policy::RunRegistration> ThrottleEngine::runs(int64_t now_ms) const {
  std::lock_guard lock(m_mutex);
  std::vector<policy::RunRegistration> out;
  for (const auto& [pgid, r] : m_runs)
    if (r.expires_ms > now_ms) out.push_back(r);
  return out;
}

policy::LevelDecision ThrottleEngine::current() const {
  std::lock_guard lock(m_mutex);
  return m_current;
}

bool ThrottleEngine::have_metric() const {
  std::lock_guard lock(m_mutex);
  return m_have_metric;
}

void ThrottleEngine::audit(std::string_view event, json record, int64_t now_ms) {
  record["at_ms"] = now_ms;
  record["event"] = event;
  const std::string line = record.dump() + "\n";
  std::lock_guard lock(m_audit_mutex);
  spdlog::info("throttle audit: {}", record.dump());
  const int fd = ::open(m_audit_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0 || !write_all(fd, line) || ::fsync(fd) != 0) {
    ++m_audit_errors;
    spdlog::error("throttle: cannot append to {}: {}", m_audit_file.string(), std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

void ThrottleEngine::count_session_action(policy::SessionAction a, bool enforced) {
  std::lock_guard lock(m_mutex);
  ++m_session_actions[std::string(policy::to_string(a)) + "/" + (enforced ? "enforced" : "dry_run")];
}

void ThrottleEngine::set_bulk_sessions(uint64_t n, json sessions) {
  std::lock_guard lock(m_mutex);
  m_bulk_sessions = n;
  m_bulk_list = std::move(sessions);
}

void ThrottleEngine::write_metrics(MetricsWriter& w) const {
  std::lock_guard lock(m_mutex);
  w.family("binwatch_throttle_level", "gauge", "Throttle level of bulk jobs: 0 ok, then the policy's levels in order");
  w.sample("binwatch_throttle_level", static_cast<double>(m_current.next.level));
  w.family("binwatch_throttle_level_info", "gauge", "1 for the name of the current throttle level");
  w.sample("binwatch_throttle_level_info", {{"level", m_policy.level_name(m_current.next.level)}}, 1);
  w.family("binwatch_throttle_level_changes_total", "counter", "Throttle level changes");
  w.sample("binwatch_throttle_level_changes_total", static_cast<double>(m_level_changes));
  w.family("binwatch_throttle_checks_total", "counter", "Answers to /check/{app} by HTTP status");
  for (const auto& [key, n] : m_checks)
    w.sample("binwatch_throttle_checks_total", {{"app", key.first}, {"status", std::to_string(key.second)}},
             static_cast<double>(n));
  w.family("binwatch_throttle_flag_file", "gauge", "1 while binwatch keeps the tool's flag file in place");
  for (const auto& [tool, on] : m_flags) w.sample("binwatch_throttle_flag_file", {{"tool", tool}}, on ? 1 : 0);
  w.family("binwatch_throttle_session_actions_total", "counter",
           "Actions on bulk sessions (mode dry_run: logged, not done)");
  for (const auto& [key, n] : m_session_actions) {
    const auto slash = key.find('/');
    w.sample("binwatch_throttle_session_actions_total", {{"action", key.substr(0, slash)}, {"mode", key.substr(slash + 1)}},
             static_cast<double>(n));
  }
  w.family("binwatch_throttle_bulk_sessions", "gauge", "Bulk maintenance sessions in the last processlist poll");
  w.sample("binwatch_throttle_bulk_sessions", static_cast<double>(m_bulk_sessions));
  w.family("binwatch_throttle_audit_errors_total", "counter", "Audit lines or throttle state that could not be written");
  w.sample("binwatch_throttle_audit_errors_total", static_cast<double>(m_audit_errors + m_state_errors));
  const int64_t now = m_seen_ms;
  w.family("binwatch_throttle_runs", "gauge", "binwatch run process groups registered through X-Binwatch-Run");
  w.sample("binwatch_throttle_runs",
           static_cast<double>(std::count_if(m_runs.begin(), m_runs.end(),
                                             [&](const auto& kv) { return kv.second.expires_ms > now; })));
  w.family("binwatch_throttle_run_refusals_total", "counter",
           "X-Binwatch-Run headers refused (malformed, no such group leader, leader not a child of binwatch, caller not "
           "binwatch's uid, another app's live run, too many runs)");
  for (const auto& [reason, n] : m_run_refusals)
    w.sample("binwatch_throttle_run_refusals_total", {{"reason", reason}}, static_cast<double>(n));
}

json ThrottleEngine::status(int64_t now_ms) const {
  std::lock_guard lock(m_mutex);
  json j;
  const int lvl = m_current.next.level;
  j["level"] = m_policy.level_name(lvl);
  j["level_number"] = lvl;
  j["since_ms"] = m_current.next.since_ms;
  j["reason"] = m_current.reason;
  j["inputs"] = inputs_json(m_inputs);
  if (lvl > 0) {
    const auto& L = m_policy.levels[static_cast<size_t>(lvl - 1)];
    j["cooperative"] = policy::to_string(L.cooperative);
    j["ratio"] = L.ratio;
    j["sessions"] = policy::to_string(L.sessions);
  } else {
    j["cooperative"] = "allow";
    j["ratio"] = 0;
    j["sessions"] = "none";
  }
  j["recovering_since_ms"] = m_current.next.recovering_since_ms ? json(*m_current.next.recovering_since_ms) : json(nullptr);
  j["enforce"] = m_policy.enforce;
  json apps = json::array();
  for (const auto& a : m_apps)
    if (a.expires_ms > now_ms) apps.push_back({{"app", a.app}, {"ratio", a.ratio}, {"expires_ms", a.expires_ms}, {"by", a.by}});
  j["throttled_apps"] = apps;
  json flags = json::object();
  for (const auto& [tool, on] : m_flags) flags[tool] = on;
  j["flag_files"] = flags;
  j["bulk_sessions"] = m_bulk_list;
  json runs = json::array();
  for (const auto& [pgid, r] : m_runs)
    if (r.expires_ms > now_ms)
      runs.push_back({{"pgid", pgid}, {"app", r.app}, {"registered_ms", r.registered_ms}, {"expires_ms", r.expires_ms}});
  j["runs"] = runs;
  j["audit_file"] = m_audit_file.string();
  return j;
}

}  // namespace binwatch::watch
