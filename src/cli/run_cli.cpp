// `binwatch run [options] -- CMD ARGS...` options (CLI11); the work is in control/run_wrapper.
#include <iostream>
#include <memory>
#include <string>

#include "binwatch/control/run_wrapper.h"
#include "commands.h"

namespace binwatch::cli {

Subcommand add_run_command(CLI::App& app) {
  struct Args {
    control::RunOptions run;
    std::string fail_safe = "pause";
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Runs CMD in its own process group and holds it while the daemon's throttle API says so.\n"
      "Every --check-interval-ms it asks GET URL/check/APP: 200 lets the job run; a throttle at ratio r\n"
      "stops the group (SIGSTOP) for r of every --period-ms and runs it (SIGCONT) the rest; pause, stop,\n"
      "forbidden (417) and no metric yet (404) hold it until an answer allows it again. An unreachable\n"
      "daemon (connection error, timeout, 5xx) holds it or lets it run, as --fail-safe says. Each change\n"
      "is said once on stderr. SIGINT, SIGTERM, SIGQUIT and SIGHUP are forwarded to the group (then\n"
      "SIGCONT, so a held job can handle them); after any but SIGHUP the job is no longer held.\n"
      "Each check names the job's process group (header X-Binwatch-Run: pgid=N): the daemon's session\n"
      "control then treats the job's MySQL sessions as bulk (policy rule binwatch_run), so a statement\n"
      "left running on the server while the client is stopped can be killed where the policy says.\n"
      "The daemon registers the group only for a caller of the same uid as this binwatch (or root), and\n"
      "keeps it 4 check intervals (at least 30 s, at most 4 minutes) after each check: with\n"
      "--check-interval-ms above 60000 the job's sessions are not bulk for part of each interval.\n"
      "Exit: CMD's exit code; 128+N when CMD died of signal N; 127 when CMD cannot be executed;\n"
      "1 or 2 when binwatch itself failed before or while starting it (said on stderr).");
  cmd->add_option("--app", a->run.app, "App name asked about (default: basename of CMD)");
  cmd->add_option("--url", a->run.url, "The daemon's HTTP address")->capture_default_str();
  cmd->add_option("--check-interval-ms", a->run.check_interval_ms, "Time between two checks")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  cmd->add_option("--period-ms", a->run.period_ms, "Duty-cycle period of a throttle")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  cmd->add_option("--fail-safe", a->fail_safe, "When the daemon is unreachable: pause (hold the job) or continue")
      ->capture_default_str()
      ->check(CLI::IsMember({"pause", "continue"}));
  cmd->add_flag("--quiet", a->run.quiet, "Say nothing on stderr about pauses, throttles and resumes");
  cmd->add_option("command", a->run.command, "CMD and its arguments, after --")->required();
  return {cmd, [a] {
            a->run.fail_safe = a->fail_safe == "continue" ? control::FailSafe::Continue : control::FailSafe::Pause;
            if (a->run.url.rfind("http://", 0) != 0) {
              std::cerr << "binwatch run: --url: only http:// addresses are supported: " << a->run.url << "\n";
              return 2;
            }
            return control::run_wrapped(a->run);
          }};
}

}  // namespace binwatch::cli
