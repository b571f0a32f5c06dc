// `binwatch report` options (CLI11); the work is in report_command.cpp.
#include <memory>

#include "binwatch/cli.h"
#include "commands.h"

namespace binwatch::cli {

Subcommand add_report_command(CLI::App& app) {
  auto report = std::make_shared<ReportArgs>();
  CLI::App* rep = app.add_subcommand(
      "report",
      "Attribute every byte of binlog files to tables (TABLE_MAP + ROWS events), statements "
      "(QUERY events), overhead, torn tails and corrupt events. Exit 0: report written; 1: report "
      "written but some events failed their checksum or could not be decoded; 2: no report.");
  rep->add_option("files", report->files,
                  "Binlog files in order (relay logs too); *.gz and *.zst archives are decompressed "
                  "on the fly; a binlog index (*.index, e.g. mysql-bin.index) expands to the files "
                  "it lists; - reads standard input")
      ->required();
  rep->add_option("--format", report->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  rep->add_option("--threads", report->threads, "Files decoded in parallel (0 = one per core)")
      ->capture_default_str();
  rep->add_flag("!--no-verify-checksums", report->verify_checksums,
                "Skip CRC32 verification (faster; corrupt events then go undetected)");
  return {rep, [report] { return run_report(*report); }};
}

}  // namespace binwatch::cli
