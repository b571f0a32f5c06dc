// `binwatch netstat`, `binwatch delta` and `binwatch sysctl-check` options (CLI11); the work is in
// src/net/ and policies/ (core library).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "binwatch/net/command_runner.h"
#include "binwatch/net/delta.h"
#include "binwatch/net/listen_queues.h"
#include "binwatch/net/net_policy.h"
#include "binwatch/net/net_sampler.h"
#include "binwatch/net/netstat_view.h"
#include "binwatch/net/sysctl_check.h"
#include "commands.h"

namespace binwatch::cli {

namespace {

// Sleeps until `deadline` (monotonic seconds); samples stay on a fixed grid even when one is slow.
void sleep_until(double deadline) {
  const double now = net::monotonic_seconds();
  if (deadline > now) std::this_thread::sleep_for(std::chrono::duration<double>(deadline - now));
}

bool is_live_root(const std::string& root) {
  std::error_code ec;
  return std::filesystem::equivalent(root, "/proc", ec);
}

struct NetstatArgs {
  std::string interval = "1s";
  bool json = false;
  bool all = false;
  std::string proc_root = "/proc";
  unsigned count = 0;
  std::string policy;
};

int run_netstat(const NetstatArgs& a) {
  const auto interval = net::parse_interval(a.interval);
  if (!interval) {
    fmt::print(stderr, "binwatch netstat: error: bad --interval '{}' (examples: 1s, 500ms, 2)\n", a.interval);
    return 2;
  }
  net::NetPolicy policy;
  try {
    if (a.policy.empty()) {
      policy = net::default_net_policy();
    } else {
      std::ifstream in(a.policy, std::ios::binary);
      if (!in) {
        fmt::print(stderr, "binwatch netstat: error: {}: cannot read the policy file\n", a.policy);
        return 2;
      }
      const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      policy = net::parse_net_policy(text, a.policy);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "binwatch netstat: error: {}\n", e.what());
    return 2;
  }
  const bool json = a.json || !::isatty(STDOUT_FILENO);
  net::SamplerOptions options;
  options.proc_root = a.proc_root;
  options.listeners = is_live_root(a.proc_root);
  net::WatchState state;
  double next = net::monotonic_seconds();
  for (unsigned n = 1; a.count == 0 || n <= a.count; ++n) {
    net::Sample sample;
    try {
      sample = net::take_sample(options, net::monotonic_seconds());
    } catch (const std::exception& e) {
      fmt::print(stderr, "binwatch netstat: error: {}\n", e.what());
      return 2;
    }
    auto decision = net::decide(policy, sample.observation, state);
    const auto rows = net::netstat_rows(policy, sample.observation, decision, a.all);
    net::ViewInfo info;
    info.sample = n;
    info.interval = *interval;
    info.proc_root = a.proc_root;
    info.all = a.all;
    info.listener_note = options.listeners ? sample.listener_error
                                           : "not sampled (sock_diag lists this process's network "
                                             "namespace, not --proc-root's)";
    if (json) {
      std::cout << net::render_netstat_json(rows, sample.observation, decision, info) << "\n";
    } else {
      info.color = true;
      std::cout << "\x1b[H\x1b[2J" << net::render_netstat_table(rows, sample.observation, decision, info);
    }
    std::cout.flush();
    if (!std::cout) return 2;
    state = std::move(decision.next);
    if (a.count != 0 && n == a.count) break;
    next += *interval;
    sleep_until(next);
  }
  return 0;
}

struct DeltaArgs {
  std::string interval = "1s";
  unsigned count = 0;
  bool all = false;
  std::vector<std::string> command;
};

int run_delta(const DeltaArgs& a) {
  const auto interval = net::parse_interval(a.interval);
  if (!interval) {
    fmt::print(stderr, "binwatch delta: error: bad --interval '{}' (examples: 1s, 500ms, 2)\n", a.interval);
    return 2;
  }
  std::string previous;
  double previous_time = 0;
  double next = net::monotonic_seconds();
  net::DeltaStyle style;
  style.show_unchanged = a.all;
  for (unsigned run = 0; a.count == 0 || run <= a.count; ++run) {
    const double started = net::monotonic_seconds();
    const auto r = net::run_command(a.command);
    if (!r.started || r.signal != 0 || r.exit_code != 0) {
      fmt::print(stderr, "binwatch delta: error: `{}` {}\n", fmt::join(a.command, " "), net::describe_failure(r));
      return 2;
    }
    if (run == 0) {
      fmt::print(stderr, "binwatch delta: first run recorded; changes every {}s from the next run\n",
                 net::format_rate(*interval));
    } else {
      std::cout << fmt::format("--- binwatch delta: run {}, {}s after the previous one ---\n", run + 1,
                               net::format_rate(started - previous_time))
                << net::annotate_delta(previous, r.out, started - previous_time, style);
      if (!r.out.empty() && r.out.back() != '\n') std::cout << '\n';
      std::cout.flush();
      if (!std::cout) return 2;
    }
    previous = r.out;
    previous_time = started;
    if (a.count != 0 && run == a.count) break;
    next += *interval;
    sleep_until(next);
  }
  return 0;
}

struct SysctlArgs {
  std::string proc_root = "/proc";
  bool json = false;
};

int run_sysctl_check(const SysctlArgs& a) {
  net::ProcSnapshot snapshot;
  try {
    snapshot = net::ProcfsReader(a.proc_root).read();
  } catch (const std::exception& e) {
    fmt::print(stderr, "binwatch sysctl-check: error: {}\n", e.what());
    return 2;
  }
  std::optional<std::vector<net::Listener>> listeners;
  std::string listener_note;
  if (is_live_root(a.proc_root)) {
    try {
      listeners = net::read_listeners();
      net::attach_owners(*listeners);
    } catch (const std::exception& e) {
      listener_note = e.what();
    }
  } else {
    listener_note = "listeners not checked: --proc-root is not this process's /proc";
  }
  const auto findings = net::check_sysctls(snapshot, listeners, net::default_net_policy().listen);
  bool serious = false;
  for (const auto& f : findings) serious |= f.severity != net::Severity::Info;
  if (a.json) {
    nlohmann::ordered_json j;
    j["proc_root"] = a.proc_root;
    auto& arr = j["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : findings) {
      arr.push_back({{"severity", net::severity_name(f.severity)}, {"id", f.id}, {"setting", f.setting},
                     {"value", f.value}, {"reason", f.reason}});
    }
    if (!listener_note.empty()) j["note"] = listener_note;
    std::cout << j.dump(2) << "\n";
  } else {
    if (findings.empty()) std::cout << "No setting from the checked list needs attention.\n";
    for (const auto& f : findings) {
      std::cout << fmt::format("[{}] {} = {}  ({})\n    {}\n\n", net::severity_name(f.severity), f.setting,
                               f.value, f.id, f.reason);
    }
    if (!listener_note.empty()) std::cout << "note: " << listener_note << "\n";
  }
  std::cout.flush();
  if (!std::cout) return 2;
  return serious ? 1 : 0;
}

}  // namespace

Subcommand add_netstat_command(CLI::App& app) {
  auto args = std::make_shared<NetstatArgs>();
  CLI::App* sub = app.add_subcommand(
      "netstat",
      "Live view of kernel network and memory counters (/proc/net/netstat, snmp, snmp6, sockstat, "
      "dev, conntrack, meminfo, vmstat) with rates per second, the rules of policies/net.toml "
      "(PAWS/ACK storms, listen overflows, retransmits, conntrack, TIME_WAIT, swap) and, for the "
      "live /proc, per-listener accept queues. Watched counters first, out-of-band ones "
      "highlighted. Without --all only what is happening is listed: counters that moved since the "
      "previous sample (a watched counter at rate 0 is hidden too), rows a finding is about, and "
      "watched gauges (on the first sample also watched counters) that are not 0; idle listeners "
      "are hidden. JSON lines (the same rows, plus all findings and listeners) when stdout is not "
      "a terminal or with --json. The traffic-ratio rule follows the default route's interface "
      "(net/route). Exit 0 ok; 2 bad arguments or unreadable proc root (the message names the "
      "file).");
  sub->add_option("--interval", args->interval, "Time between samples (1s, 500ms, 2)")->capture_default_str();
  sub->add_flag("--json", args->json, "One JSON object per sample, one per line");
  sub->add_flag("--all", args->all, "List every counter and gauge (unmoving and unwatched ones too) and idle listeners");
  sub->add_option("--proc-root", args->proc_root,
                  "procfs root: /proc, /proc/PID (PID's network namespace), or a snapshot folder")
      ->capture_default_str();
  sub->add_option("--count", args->count, "Stop after N samples (0 = until interrupted)");
  sub->add_option("--policy", args->policy, "Policy TOML file (default: the compiled-in policies/net.toml)");
  return {sub, [args] { return run_netstat(*args); }};
}

Subcommand add_delta_command(CLI::App& app) {
  auto args = std::make_shared<DeltaArgs>();
  CLI::App* sub = app.add_subcommand(
      "delta",
      "Run a command repeatedly and print its output from the second run on, each changed number "
      "followed by [+CHANGE RATE/s] since the previous run, keeping the layout (netstat -s, nstat "
      "-az, ss -s, mysqladmin extended-status, cat /proc/...). Put the command after `--`. Exit 0 "
      "ok; 2 bad arguments or the command failed (status or signal named).");
  sub->add_option("--interval", args->interval, "Time between runs (1s, 500ms, 2)")->capture_default_str();
  sub->add_option("--count", args->count, "Stop after N annotated outputs (N+1 runs; 0 = until interrupted)");
  sub->add_flag("--all", args->all, "Annotate unchanged numbers too ([+0])");
  sub->add_option("command", args->command, "Command and its arguments, after --")->required();
  return {sub, [args] { return run_delta(*args); }};
}

Subcommand add_sysctl_check_command(CLI::App& app) {
  auto args = std::make_shared<SysctlArgs>();
  CLI::App* sub = app.add_subcommand(
      "sysctl-check",
      "Review the kernel settings the incident posts warn about: listen backlogs capped by "
      "net.core.somaxconn or left at a silent default (511), tcp_tw_recycle present, a small "
      "nf_conntrack_max on a busy host, tcp_invalid_ratelimit disabled. Each finding says why; "
      "nothing is changed and no values are prescribed. Exit 0: nothing above info; 1: warning or "
      "critical findings; 2: unreadable proc root (the message names the file) or bad arguments.");
  sub->add_option("--proc-root", args->proc_root, "procfs root (/proc or a snapshot folder)")
      ->capture_default_str();
  sub->add_flag("--json", args->json, "JSON output");
  return {sub, [args] { return run_sysctl_check(*args); }};
}

}  // namespace binwatch::cli
