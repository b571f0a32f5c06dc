#pragma once
// Subcommand registration. Each add_*_command() declares its options on `app` and returns the
// function main() runs when that subcommand was chosen; the parsed values live in the closure.
// src/main.cpp only calls these, so a new subcommand touches its own file plus one line there.
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace binwatch::cli {

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Subcommand add_report_command(CLI::App& app);
Subcommand add_netstat_command(CLI::App& app);
Subcommand add_delta_command(CLI::App& app);
Subcommand add_sysctl_check_command(CLI::App& app);
Subcommand add_preflight_command(CLI::App& app);
Subcommand add_watch_command(CLI::App& app);
Subcommand add_status_command(CLI::App& app);
Subcommand add_replicas_command(CLI::App& app);
Subcommand add_check_config_command(CLI::App& app);
Subcommand add_alerts_command(CLI::App& app);
Subcommand add_ack_command(CLI::App& app);
Subcommand add_unack_command(CLI::App& app);
Subcommand add_run_command(CLI::App& app);

}  // namespace binwatch::cli
