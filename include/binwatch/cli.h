#pragma once
// Subcommand entry points; src/main.cpp only parses arguments and calls these.
#include <optional>
#include <string>
#include <vector>

namespace binwatch::cli {

struct ReportArgs {
  std::vector<std::string> files;
  std::string format = "table";       // table, json, csv, html
  std::vector<std::string> by;        // views: table column statement transaction minute type
  unsigned threads = 0;
  bool verify_checksums = true;
  size_t top = 10;                    // transactions listed
  size_t top_tables = 8;              // tables drawn separately per minute
  std::string start_datetime, stop_datetime;
  std::optional<uint64_t> start_position, stop_position;
  std::vector<std::string> databases, tables;
  std::vector<std::string> baseline;
  double ratio_alert = 10;
  std::string output;                 // file (or directory for several CSV views); "" = stdout
  std::string progress = "auto";      // auto (stderr is a terminal, not JSON), always, never
  // Column names from information_schema where the binlog has none (binlog_row_metadata < FULL).
  std::string dsn, socket, defaults_file;
};

// Exit codes: 0 report written (a torn last event is a warning), 1 report written but the input
// had corrupt or undecodable events (listed in errors[]), 2 no report (not a binlog, unreadable,
// encrypted, bad arguments).
int run_report(const ReportArgs& args);

// "2026-11-21 10:05:00" (local time, as mysqlbinlog reads it), "2026-11-21T10:05:00Z" (UTC) or
// with an offset "+01:00"; also without seconds. nullopt when it is none of these.
std::optional<uint32_t> parse_datetime(const std::string& text);

}  // namespace binwatch::cli
