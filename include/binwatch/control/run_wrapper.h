#pragma once
// `binwatch run -- CMD ARGS...`: runs a batch job (archiver, purge, backfill) in its own process
// group and holds it while the daemon's freno-compatible throttle API (GET /check/{app}) says so:
// SIGSTOP/SIGCONT on the whole group, a duty cycle for "throttle", a fail-safe when the daemon is
// unreachable. The decisions are the pure functions below (answer -> decision -> plan -> duty
// phase); run_wrapped() only performs them, so every decision is unit-testable without a process.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::control {

// What one answer of GET /check/{app} asks for.
enum class CheckAction {
  Allow,        // 200: go
  Throttle,     // run (1 - ratio) of the time
  Pause,        // hold until an answer says allow
  Stop,         // critical level: the job should stop; the wrapper holds it (the daemon decides more)
  Forbidden,    // 417: the policy forbids this app
  NoMetric,     // 404: the daemon has not sampled anything yet
  Unreachable,  // connection error, timeout, 5xx or an answer this protocol does not have
};

std::string_view to_string(CheckAction action);

struct CheckDecision {
  CheckAction action = CheckAction::Unreachable;
  double ratio = 0;     // Throttle only: fraction of the time held, in (0, 1]
  int status = 0;       // HTTP status; 0 when there was no answer
  std::string message;  // the daemon's Message, or what the wrapper concluded without one
};

// Interprets an answer. status 0 means no answer at all (transport_error then says why). The body
// refines the status but never makes it more permissive: 429 without a readable body is a pause,
// 417 is forbidden, 404 is "no metric yet" (held), 5xx and statuses outside the protocol are
// Unreachable. A 200 whose body asks for a throttle is honoured; any other 200 is Allow.
CheckDecision parse_check_answer(int status, std::string_view body, std::string_view transport_error = {});

enum class FailSafe { Pause, Continue };

// What the wrapper does with the process group.
enum class Mode { Run, Hold, Duty };

struct Plan {
  Mode mode = Mode::Run;
  double ratio = 0;  // Duty only: fraction of each period held, in (0, 1)
};

// Decision -> plan. Throttle at ratio >= 1 is a hold; Unreachable follows the fail-safe.
Plan plan_for(const CheckDecision& decision, FailSafe fail_safe);

// Where a duty cycle is at `elapsed_ms` after it started: each period runs first for
// round((1 - ratio) * period_ms), then is held for the rest. next_switch_ms is how long until the
// state flips (> 0). ratio <= 0 always runs, ratio >= 1 is always held.
struct DutyPhase {
  bool running = true;
  int64_t next_switch_ms = 0;
};
DutyPhase duty_phase(double ratio, int64_t period_ms, int64_t elapsed_ms);

// Milliseconds of each period the job runs at `ratio` (the rest it is held).
int64_t duty_run_ms(double ratio, int64_t period_ms);

struct RunOptions {
  std::vector<std::string> command;  // CMD ARGS..., non-empty
  std::string app;                   // empty: basename of CMD
  std::string url = "http://127.0.0.1:9874";
  int64_t check_interval_ms = 250;
  int64_t period_ms = 1000;
  FailSafe fail_safe = FailSafe::Pause;
  bool quiet = false;
};

// The app name the wrapper asks about: options.app, else the basename of CMD.
std::string app_name(const RunOptions& options);

// Each check of `binwatch run` tells the daemon the job's process group in a request header, so
// that session control can treat the job's MySQL sessions as bulk (the URL stays freno's):
//   X-Binwatch-Run: pgid=1234 interval_ms=250
// The daemon accepts it only for a group whose leader is a child of a binwatch executable.
inline constexpr const char* kRunHeader = "X-Binwatch-Run";
struct RunHeader {
  int64_t pgid = 0;         // > 1
  int64_t interval_ms = 0;  // its check interval (0: not said); the daemon keeps the group a few intervals
};
std::string run_header_value(const RunHeader& h);
// nullopt when malformed: no pgid, pgid <= 1, numbers out of range, unknown keys are ignored.
std::optional<RunHeader> parse_run_header(std::string_view value);

// Runs the command under the throttle until it exits. Returns its exit code, 128+N when it died of
// signal N, 127 when it could not be executed, 1 when the wrapper itself failed (said on stderr).
int run_wrapped(const RunOptions& options);

}  // namespace binwatch::control
