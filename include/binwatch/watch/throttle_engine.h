#pragma once
// Issue 6 in the daemon: the throttle level from the binlog partition projection and replica lag
// (pure policy: binwatch/policy/throttle_policy.h), told to cooperative jobs (freno-compatible
// /check API, gh-ost / pt-online-schema-change / pt-archiver flag files, `binwatch run`) and acted
// on for non-cooperative sessions (SessionControl, its own control-plane thread and connection).
//
// Every decision and action is a JSON line in STATE/throttle-audit.jsonl (appended, fsynced) and
// in the log, and counted in /metrics. The level and the operators' app throttles are kept in
// STATE/throttle.json (write, fsync, rename): a restart during a pause does not resume the jobs
// before the projection has recovered for the hold time.
//
// Stable metric names (the alert policy's throttle rule uses binwatch_throttle_level):
//   binwatch_throttle_level                       0 ok, 1.. the policy's levels in order
//   binwatch_throttle_level_info{level}           1 for the current level's name
//   binwatch_throttle_level_changes_total
//   binwatch_throttle_checks_total{app,status}    /check answers; at most kMaxTrackedApps apps,
//                                                 the checks of any further app under app="_other"
//   binwatch_throttle_flag_file{tool}             1 while the flag file exists
//   binwatch_throttle_session_actions_total{action,mode}   mode = enforced | dry_run
//   binwatch_throttle_bulk_sessions               bulk sessions seen in the last processlist poll
//   binwatch_throttle_audit_errors_total
//   binwatch_throttle_runs                        `binwatch run` process groups registered (live)
//   binwatch_throttle_run_refusals_total{reason}  X-Binwatch-Run headers not accepted
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/policy/throttle_policy.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

class MetricsWriter;

class ThrottleEngine {
 public:
  // App names come from request URLs (/check/{app}): the per-app state and metrics are bounded.
  // The first kMaxTrackedApps distinct apps are tracked by name for the daemon's life; checks of any
  // other app are counted (and their ratio draws kept) under kOtherApp, said once in the log.
  static constexpr size_t kMaxTrackedApps = 256;
  static constexpr std::string_view kOtherApp = "_other";
  // `binwatch run` process groups kept at once, and how long one is kept after its last check
  // (at least; 4 check intervals when that is longer, the interval counted at most kRunMaxIntervalMs:
  // the header is unauthenticated).
  static constexpr size_t kMaxRuns = 1024;
  static constexpr int64_t kRunKeepMs = 30000;
  static constexpr int64_t kRunMaxIntervalMs = 60000;

  // Who sent an X-Binwatch-Run header: the HTTP connection's two ends as the daemon sees them.
  struct RunCaller {
    std::string address;         // the client's address (httplib remote_addr)
    int port = -1;               // the client's port (remote_port)
    std::string server_address;  // the daemon's end (local_addr; "" = any)
    int server_port = -1;        // (local_port)
  };

  // Loads the policy (file or built-in) and the saved state; throws naming the file at fault.
  // `proc_root`: where the processes of `binwatch run` registrations are checked.
  ThrottleEngine(const ThrottleSettings& settings, const std::filesystem::path& state_dir,
                 std::filesystem::path proc_root = "/proc");

  // Control plane, after each partition sample: decide the level, keep the flag files in step,
  // audit a change.
  void update(const policy::ThrottleInputs& in, int64_t now_ms);

  // HTTP threads: /check/{app}. Counted; never blocks on I/O.
  policy::CheckAnswer check(std::string_view app, int64_t now_ms);
  // freno /throttle-app/{app}[/ttl/{minutes}][/ratio/{r}], /unthrottle-app/{app}, /throttled-apps.
  nlohmann::json throttle_app(std::string_view app, double ttl_minutes, double ratio, std::string_view by, int64_t now_ms);
  nlohmann::json unthrottle_app(std::string_view app, std::string_view by, int64_t now_ms);
  [[nodiscard]] nlohmann::json throttled_apps(int64_t now_ms) const;

  // HTTP threads: a check of `app` carrying X-Binwatch-Run (`binwatch run` names its job's process
  // group). /check is unauthenticated, so a group is registered only when its leader (pid == pgid)
  // is a child of a binwatch executable and the caller's TCP socket (found in ROOT/net/tcp{,6} by
  // `caller`) belongs to the uid of that binwatch process (uid 0 may register any group); refusals
  // are counted by reason and the first one is logged. A check refreshes a live registration only
  // while its leader lives with the registered start time and names the same app (another app is
  // refused, "app_mismatch": the first app stays). A registration lasts kRunKeepMs (or 4 check
  // intervals, at most 4 * kRunMaxIntervalMs) after the last check. Returns whether the group is
  // registered now. A few /proc reads; no lock held meanwhile.
  bool note_run(int64_t pgid, int64_t interval_ms, std::string_view app, const RunCaller& caller, int64_t now_ms);
  // An X-Binwatch-Run header that does not parse: counted (reason "malformed"), logged the first time.
  void note_malformed_run(std::string_view header, std::string_view app, int64_t now_ms);
  // Session control: the registrations alive at now_ms.
  [[nodiscard]] std::vector<policy::RunRegistration> runs(int64_t now_ms) const;

  [[nodiscard]] policy::LevelDecision current() const;
  [[nodiscard]] bool have_metric() const;
  [[nodiscard]] const policy::ThrottlePolicy& policy() const { return m_policy; }

  // One JSON line in the audit file and the log (thread-safe). `record` gets "at" and "event".
  void audit(std::string_view event, nlohmann::json record, int64_t now_ms);
  void count_session_action(policy::SessionAction a, bool enforced);
  void set_bulk_sessions(uint64_t n, nlohmann::json sessions);
  // Learned binlog bytes per row change (victim order and the audit's expected bytes).
  void set_bytes_per_row(double v) { m_bytes_per_row.store(v); }
  [[nodiscard]] double bytes_per_row() const { return m_bytes_per_row.load(); }

  void write_metrics(MetricsWriter& w) const;
  [[nodiscard]] nlohmann::json status(int64_t now_ms) const;

 private:
  void save_state_locked();
  void sync_flags_locked(int64_t now_ms);

  ThrottleSettings m_settings;
  std::filesystem::path m_proc_root;
  std::map<int64_t, policy::RunRegistration> m_runs;  // by pgid, at most kMaxRuns
  std::map<std::string, uint64_t> m_run_refusals;     // reason -> count
  bool m_said_run_refusal = false;
  void refuse_run_locked(const std::string& reason, const std::string& detail, std::string_view app);
  int64_t m_seen_ms = 0;  // the latest time the engine was told (updates, checks): run expiry in metrics
  policy::ThrottlePolicy m_policy;
  std::filesystem::path m_state_file, m_audit_file;
  mutable std::mutex m_mutex;
  policy::LevelDecision m_current;
  bool m_have_metric = false;
  policy::ThrottleInputs m_inputs;
  std::vector<policy::AppThrottle> m_apps;
  // The tracked name of `app`: itself, or kOtherApp once kMaxTrackedApps apps are tracked.
  std::string tracked_app_locked(std::string_view app);
  std::map<std::string, uint64_t, std::less<>> m_check_draws;  // per app: low-discrepancy sequence for ratios
  bool m_said_untracked = false;
  std::map<std::pair<std::string, int>, uint64_t> m_checks;  // (app, status) -> count
  std::map<std::string, bool> m_flags;           // tool -> file exists (as binwatch left it)
  std::map<std::string, uint64_t> m_session_actions;  // "action/mode" -> count
  uint64_t m_level_changes = 0;
  uint64_t m_audit_errors = 0;
  uint64_t m_state_errors = 0;
  uint64_t m_bulk_sessions = 0;
  nlohmann::json m_bulk_list = nlohmann::json::array();
  std::mutex m_audit_mutex;
  std::atomic<double> m_bytes_per_row{0};
};

// freno's JSON body of a check answer plus binwatch's fields (Action, Ratio, Level).
nlohmann::json check_body(const policy::CheckAnswer& a);

}  // namespace binwatch::watch
