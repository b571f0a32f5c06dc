// binwatch: MySQL/MariaDB binlog and replication watchdog. This file only parses arguments.
#include <CLI/CLI.hpp>

#include "binwatch/cli.h"

int main(int argc, char** argv) {
  CLI::App app{
      "binwatch: MySQL/MariaDB binlog and replication watchdog.\n"
      "Attributes binlog bytes to tables, columns and statements; see `binwatch SUBCOMMAND --help`."};
  app.set_version_flag("--version", std::string("binwatch " BINWATCH_VERSION));
  app.require_subcommand(1);

  binwatch::cli::ReportArgs report;
  CLI::App* rep = app.add_subcommand(
      "report",
      "Attribute every byte of binlog files to tables (TABLE_MAP + ROWS events), statements "
      "(QUERY events), overhead, torn tails and corrupt events. Exit 0: report written; 1: report "
      "written but some events failed their checksum or could not be decoded; 2: no report.");
  rep->add_option("files", report.files,
                  "Binlog files in order (relay logs too); *.gz and *.zst archives are decompressed "
                  "on the fly; a binlog index (*.index, e.g. mysql-bin.index) expands to the files "
                  "it lists; - reads standard input")
      ->required();
  rep->add_option("--format", report.format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  rep->add_option("--threads", report.threads, "Files decoded in parallel (0 = one per core)")
      ->capture_default_str();
  rep->add_flag("!--no-verify-checksums", report.verify_checksums,
                "Skip CRC32 verification (faster; corrupt events then go undetected)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (rep->parsed()) return binwatch::cli::run_report(report);
  return 2;
}
