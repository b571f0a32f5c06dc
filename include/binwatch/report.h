#pragma once
// `binwatch report`: scans binlog files (in parallel, merged in file order so the output does not
// depend on the thread count) and renders the attribution as a terminal table or JSON.
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/attribution.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/report_views.h"

namespace binwatch {

// Which views a report renders (--by); tables and types are always computed.
struct ReportViewSet {
  bool table = true, column = false, statement = false, transaction = false, minute = false,
       type = false;
};

// One table's (or column's) rate in the incident files against the baseline files.
struct BaselineRow {
  std::string schema, table, column;  // column empty for table rows
  uint64_t bytes = 0, baseline_bytes = 0;
  double rate_per_hour = 0, baseline_rate_per_hour = 0;
  std::optional<double> ratio;  // none: absent from the baseline
  bool flagged = false;
};

struct BaselineComparison {
  std::vector<std::string> files;
  uint64_t covered_seconds = 0, incident_covered_seconds = 0;
  double ratio_alert = 10;
  std::vector<BaselineRow> tables, columns;  // sorted by rate_per_hour descending
};

struct Report {
  std::vector<FileSummary> files;
  Attribution attribution;
  ReportViews views;
  ScanFilter filter;
  ReportViewSet show;
  size_t top_tables = 8;  // tables drawn separately in the minute view
  std::optional<BaselineComparison> baseline;
  // Column names from information_schema (--dsn), used where the binlog has none:
  // "schema.table" -> names in ordinal order.
  std::map<std::string, std::vector<std::string>> schema_column_names;
};

struct ReportOptions {
  unsigned threads = 0;  // 0: one per core
  ScanOptions scan;      // scan.observer is ignored: each file gets its own ReportViews
  ViewOptions views;
  // --start-position applies to the first file and --stop-position to the last (mysqlbinlog).
  std::optional<uint64_t> start_position, stop_position;
  // Raw bytes read from the inputs so far (for a progress display); may be null.
  std::atomic<uint64_t>* progress = nullptr;
};

// Throws FatalScanError (not a binlog, encrypted) or std::runtime_error (I/O) naming the file;
// when several files fail, the first in argument order is reported.
Report build_report(const std::vector<std::string>& paths, const ReportOptions& options);

// First to last event time over all files (seconds, >= 0).
uint64_t covered_seconds(const std::vector<FileSummary>& files);
// Rates per hour of covered time (at least one second) and their ratio, per table and column.
BaselineComparison compare_baseline(const Report& incident, const Report& baseline,
                                    std::vector<std::string> baseline_files, double ratio_alert);

// Rows of the column view, all tables, sorted by bytes descending.
struct ColumnRow {
  std::string schema, table;
  size_t index = 0;         // 1-based ordinal
  std::string column;       // name, or "@N"
  std::string name_source;  // "binlog", "information_schema" or "position"
  uint8_t type = 0;
  std::string type_name;
  uint64_t before_bytes = 0, after_bytes = 0, bytes = 0, null_images = 0;
  double share_of_table = 0;  // of the table's row-image bytes
};
std::vector<ColumnRow> column_rows(const Report& report);
// Statement fingerprints with text, by bytes descending.
std::vector<const StatementStats*> statements_by_bytes(const Report& report);
uint64_t rows_bytes_without_text(const Report& report);
// Bytes per minute of the top tables (Report::top_tables), the rest folded.
struct MinuteView {
  struct Row {
    uint32_t epoch = 0;
    std::vector<uint64_t> tables;
    uint64_t other_tables = 0, non_table = 0, total = 0;
  };
  std::vector<TableKey> tables;
  std::vector<Row> rows;
};
MinuteView minute_view(const Report& report);

nlohmann::ordered_json report_json(const Report& report);
std::string report_table(const Report& report);
// The views' sections of report_table (column, statement, transaction, minute, type, baseline).
std::string views_text(const Report& report);
// One view as CSV (header line first): "table", "column", "statement", "transaction", "minute",
// "type", "baseline". Throws std::invalid_argument for an unknown or not computed view.
std::string report_csv(const Report& report, const std::string& view);

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
