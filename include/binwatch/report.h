#pragma once
// `binwatch report`: scans binlog files (in parallel, merged in file order so the output does not
// depend on the thread count) and renders the attribution as a terminal table or JSON.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/attribution.h"
#include "binwatch/binlog_scanner.h"

namespace binwatch {

struct Report {
  std::vector<FileSummary> files;
  Attribution attribution;
};

struct ReportOptions {
  unsigned threads = 0;  // 0: one per core
  ScanOptions scan;
};

// Throws FatalScanError (not a binlog, encrypted) or std::runtime_error (I/O) naming the file;
// when several files fail, the first in argument order is reported.
Report build_report(const std::vector<std::string>& paths, const ReportOptions& options);

nlohmann::ordered_json report_json(const Report& report);
std::string report_table(const Report& report);

// "2026-11-21T23:31:26Z"
std::string iso8601_utc(uint32_t unix_seconds);
// Control bytes and invalid UTF-8 shown as \xNN, so names and details read from a damaged file
// cannot garble a terminal.
std::string printable(std::string_view text);
// JSON text of a report; invalid UTF-8 in names from the input is replaced, never fatal.
std::string dump_json(const nlohmann::ordered_json& j);
// "1.5 MiB", "820 B"
std::string human_bytes(uint64_t bytes);

}  // namespace binwatch
