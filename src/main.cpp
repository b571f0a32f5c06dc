// binwatch: MySQL/MariaDB binlog and replication watchdog. This file only parses arguments.
#include <CLI/CLI.hpp>

#include "cli/commands.h"


int main(int argc, char** argv) {
  CLI::App app{
      "binwatch: MySQL/MariaDB binlog and replication watchdog.\n"
      "Attributes binlog bytes to tables, columns and statements; see `binwatch SUBCOMMAND --help`."};
  app.set_version_flag("--version", std::string("binwatch " BINWATCH_VERSION));
  app.require_subcommand(1);

  std::vector<binwatch::cli::Subcommand> commands;
  commands.push_back(binwatch::cli::add_report_command(app));
  commands.push_back(binwatch::cli::add_netstat_command(app));
  commands.push_back(binwatch::cli::add_delta_command(app));
  commands.push_back(binwatch::cli::add_sysctl_check_command(app));
  commands.push_back(binwatch::cli::add_preflight_command(app));
  commands.push_back(binwatch::cli::add_watch_command(app));
  commands.push_back(binwatch::cli::add_status_command(app));
  commands.push_back(binwatch::cli::add_replicas_command(app));
  commands.push_back(binwatch::cli::add_check_config_command(app));
  commands.push_back(binwatch::cli::add_alerts_command(app));
  commands.push_back(binwatch::cli::add_ack_command(app));
  commands.push_back(binwatch::cli::add_unack_command(app));
  commands.push_back(binwatch::cli::add_run_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}
