#pragma once
// Throttle policy (issue 6): which sessions are bulk maintenance, and what happens to them at each
// level of the binlog partition projection and replication lag. Data (policies/throttle.toml,
// compiled in as the default) plus pure decision functions with the clock passed in: no I/O here.
//
// Levels are ordered: ok (0) < the policy's [[level]] entries in file order (1, 2, ...). A level is
// entered as soon as any of its entry conditions holds; it is left only after the projection has
// recovered past that level's release thresholds (all of them) continuously for `hold`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::policy {

// What cooperative jobs (freno /check, binwatch run, flag files) are told at a level.
enum class CooperativeAction { Allow, Throttle, Pause, Stop };
// What happens to matching non-cooperative sessions on the server at a level.
enum class SessionAction { None, ResourceGroup, KillQuery, KillConnection };

std::string_view to_string(CooperativeAction a);  // "allow", "throttle", "pause", "stop"
std::string_view to_string(SessionAction a);      // "none", "resource_group", "kill_query", "kill_connection"

struct ThrottleLevel {
  std::string name;
  // Entry: any condition that is set and holds raises the level to this one.
  std::optional<double> time_to_full_below_s;   // binlog partition, open-transaction burst included
  std::optional<double> free_below_percent;     // avail / size of the binlog partition
  std::optional<double> replica_lag_above_s;    // the worst replica
  // Release: every set threshold must be passed (absent: the entry threshold itself).
  std::optional<double> release_time_to_full_above_s;
  std::optional<double> release_free_above_percent;
  std::optional<double> release_replica_lag_below_s;
  CooperativeAction cooperative = CooperativeAction::Allow;
  double ratio = 0;  // Throttle: fraction of checks refused / of time held, in (0, 1]
  SessionAction sessions = SessionAction::None;
  std::string resource_group;  // SessionAction::ResourceGroup (MySQL 8)
};

// One rule of what counts as a bulk maintenance session; every field that is set must match.
// Text fields are globs ('*' and '?', case-sensitive except host).
struct BulkRule {
  std::string name;  // for the audit log ("matched by")
  std::string user, host, schema, program_name;
  std::string statement;  // ECMAScript regex (case-insensitive) searched in the running statement
  bool tag = false;       // a /* binwatch:app=NAME */ comment in the statement
  bool binwatch_run = false;  // its client process runs under a registered `binwatch run`
  std::optional<uint64_t> min_rows_modified;  // INNODB_TRX.trx_rows_modified of its transaction
  std::optional<double> min_transaction_s;     // age of its open write transaction
};

struct ThrottlePolicy {
  std::vector<ThrottleLevel> levels;  // ascending severity; index + 1 is the level number
  int64_t hold_ms = 60000;            // release must hold this long before a level drops
  std::vector<BulkRule> bulk;
  std::vector<std::string> forbidden_apps;  // /check/{app} answers 417 (globs)
  // Flag files for gh-ost, pt-online-schema-change, pt-archiver: the level (by name) from which
  // the file exists. Empty: never created. Paths come from binwatch.toml.
  std::string ghost_throttle_at, pt_osc_pause_at, pt_archiver_sentinel_at;
  // Server-side control of non-cooperative sessions.
  bool enforce = false;         // false: dry run, log what would be done and do nothing
  int64_t cooldown_ms = 30000;  // after an action on the server, wait before the next one
  uint32_t max_actions = 1;     // sessions acted on per round (victims: most expected bytes, then oldest)
  std::vector<std::string> protected_users = {"system user", "event_scheduler"};  // never touched (globs)

  // 0 = ok; else the index + 1 of the level with that name; nullopt when unknown.
  [[nodiscard]] std::optional<int> level_number(std::string_view name) const;
  [[nodiscard]] std::string level_name(int level) const;  // "ok" for 0
};

// Parses policy TOML over `base` (the compiled-in default is parsed over an empty policy).
// Throws std::invalid_argument naming the key and line.
ThrottlePolicy parse_throttle_policy(std::string_view toml);
// The default policy compiled into binwatch (policies/throttle.toml).
const ThrottlePolicy& default_throttle_policy();
std::string_view default_throttle_policy_toml();

// --- Levels with hysteresis ------------------------------------------------------------------

struct ThrottleInputs {
  std::optional<double> time_to_full_s;  // nullopt: no projection yet; +inf: not growing
  std::optional<double> free_percent;
  std::optional<double> replica_lag_s;   // nullopt: no replica measured
  // The binlog partitions the figures are about (messages): with several, the one that fills
  // first and the one with the smallest free share can differ.
  std::string mount;       // of time_to_full_s
  std::string free_mount;  // of free_percent (empty: `mount`)
};

// Pure: folds one binlog partition's figures into `in`, which ends up with the shortest time to
// full and the smallest free share, each with the mount it comes from.
void add_partition(ThrottleInputs& in, std::string_view mount, double time_to_full_s, double free_percent);

struct LevelState {
  int level = 0;
  int64_t since_ms = 0;                   // when the current level was entered
  std::optional<int64_t> recovering_since_ms;  // release thresholds held since (nullopt: not)
  int recovering_to = 0;
};

struct LevelDecision {
  LevelState next;
  bool changed = false;
  int from = 0;
  std::string reason;  // why the level is what it is ("partition /srv fills in 4m0s (pause below 10m)")
  std::string metric;  // the input that decided: "time_to_full", "free_percent", "replica_lag", "" at ok
  double value = 0;    // its value
  double threshold = 0;
};

// Pure: the new level from the inputs, the previous state and the time.
LevelDecision decide_level(const ThrottlePolicy& policy, const ThrottleInputs& in, const LevelState& prev,
                           int64_t now_ms);

// --- Cooperative checks (freno) -------------------------------------------------------------

// A throttle an operator set through /throttle-app (freno semantics): ratio of checks refused
// until expiry.
struct AppThrottle {
  std::string app;
  double ratio = 1.0;
  int64_t expires_ms = 0;
  std::string by;
};

struct CheckAnswer {
  int status = 200;  // 200 go, 429 throttled, 417 forbidden, 404 no metric yet
  CooperativeAction action = CooperativeAction::Allow;
  double ratio = 0;
  std::string message;
  double value = 0, threshold = 0;
  std::string level;
};

// Pure: the answer to /check/{app}. `refuse_draw` in [0,1) decides ratio throttles (a check is
// refused when the draw is below the ratio); `have_metric` false answers 404.
CheckAnswer check_app(const ThrottlePolicy& policy, const LevelDecision& current, bool have_metric,
                      std::string_view app, const std::vector<AppThrottle>& app_throttles, double refuse_draw,
                      int64_t now_ms);

// --- Non-cooperative sessions ---------------------------------------------------------------

struct Session {
  uint64_t id = 0;  // processlist id
  std::string user, host, db, command, state, info;
  double time_s = 0;  // in its current command
  std::string program_name;
  uint64_t rows_modified = 0;  // of its open transaction
  double transaction_s = 0;    // age of its open transaction (0: none)
  std::string app;             // set by classify() when it is bulk
  std::string rule;            // likewise: the rule that made it bulk
  // The local client process, when session control found it (0: unknown): from the `_pid`
  // connection attribute of a local session, or the TCP client port's socket owner in /proc.
  int64_t client_pid = 0;
  int64_t client_pgid = 0;                 // its process group
  uint64_t client_group_leader_start = 0;  // starttime of the process PGID (0: the leader is gone)
  std::string client_via;                  // "_pid" or "tcp"
};

// A process group `binwatch run` told the daemon about (X-Binwatch-Run on /check), after the
// daemon checked that the group's leader is a child of a binwatch executable.
struct RunRegistration {
  int64_t pgid = 0;
  std::string app;
  uint64_t leader_start = 0;  // starttime of the leader when it registered (pid reuse guard)
  int64_t registered_ms = 0;
  int64_t expires_ms = 0;     // a while after its last check
};

// Pure: the live registration whose process group the session's client process is in, or null.
// The group's leader must be the registered one (same starttime): a group whose leader is gone, or
// whose leader pid now names another process, is not the registered run.
const RunRegistration* run_of(const Session& s, const std::vector<RunRegistration>& runs, int64_t now_ms);

struct Classification {
  bool bulk = false;
  std::string rule;  // the rule that matched
  std::string app;   // the tag's app, else the rule name
};

// Pure: is this session bulk maintenance? A session the daemon must never touch (replication
// threads, system users, protected users, the daemon's own connections) is never bulk. `runs`:
// the live `binwatch run` registrations (rules with binwatch_run = true); the app is then the
// tag's, else the run's.
Classification classify(const ThrottlePolicy& policy, const Session& s, const std::vector<uint64_t>& own_ids,
                        const std::vector<RunRegistration>& runs = {}, int64_t now_ms = 0);
bool is_protected(const ThrottlePolicy& policy, const Session& s, const std::vector<uint64_t>& own_ids);
// The app named by a /* binwatch:app=NAME */ comment ("" when none).
std::string tag_app(std::string_view statement);

struct SessionPlanItem {
  Session session;
  SessionAction action = SessionAction::None;
  double expected_bytes = 0;
  std::string reason;
};

// Pure: what to do at `level` with the bulk sessions (already classified, `bulk` only), most
// expected binlog bytes first, then the oldest; at most max_actions, none within the cooldown.
std::vector<SessionPlanItem> plan_sessions(const ThrottlePolicy& policy, int level,
                                           std::vector<Session> bulk_sessions, double bytes_per_row,
                                           std::optional<int64_t> last_action_ms, int64_t now_ms);

// Glob match with '*' and '?'.
bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive = false);

}  // namespace binwatch::policy
