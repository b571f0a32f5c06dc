#pragma once
// The forensic views of `binwatch report` beyond tables: statements (by fingerprint),
// transactions (top N by bytes), minutes (bytes per minute per table). Filled by the scanner as a
// ScanObserver, one instance per file, merged in file order so results do not depend on threads.
// Memory is bounded: one open transaction's counters and table set, the top N transactions, one
// entry per statement fingerprint and per (minute, table).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "binwatch/binlog_scanner.h"

namespace binwatch {

struct ViewOptions {
  bool statements = false;
  bool transactions = false;
  bool minutes = false;
  size_t top_transactions = 10;
};

struct StatementStats {
  std::string fingerprint;
  std::string sample;  // first text seen (truncated)
  std::string source;  // "annotate_rows", "rows_query" or "query"
  uint64_t rows_bytes = 0, rows_events = 0, rows = 0;
  uint64_t query_bytes = 0, query_events = 0;
  std::set<std::string> tables;
  [[nodiscard]] uint64_t bytes() const { return rows_bytes + query_bytes; }
};

struct TransactionStats {
  std::string gtid;  // empty: no GTID
  std::string file;
  size_t file_index = 0;
  uint64_t start_position = 0, end_position = 0;
  uint32_t start_time = 0, end_time = 0;
  uint64_t bytes = 0, rows = 0, events = 0;
  bool complete = false;  // its end (XID, COMMIT, DDL) was seen
  std::set<std::string> tables;
  [[nodiscard]] std::string id() const;  // the GTID, else "file:start_position"
};

class ReportViews : public ScanObserver {
 public:
  explicit ReportViews(ViewOptions options = {}) : m_opt(options) {}

  // Call before scanning each file; `index` orders files for deterministic ties.
  void begin_file(std::string path, size_t index);
  // Call after the file's scan: closes a transaction left open at its end.
  void end_file();
  void on_event(const ScanEvent& event) override;
  // Adds the views of later files (call in file order).
  void merge(const ReportViews& other);

  [[nodiscard]] const ViewOptions& options() const { return m_opt; }
  // Fingerprint -> stats; the empty fingerprint holds row bytes without statement text.
  [[nodiscard]] const std::map<std::string, StatementStats>& statements() const { return m_statements; }
  [[nodiscard]] bool has_statement_text() const { return m_has_text; }
  // Sorted by bytes descending, then file order and position.
  [[nodiscard]] const std::vector<TransactionStats>& transactions() const { return m_top; }
  // Minute (unix seconds, multiple of 60) -> table -> bytes; non-table bytes per minute.
  [[nodiscard]] const std::map<uint32_t, std::map<TableKey, uint64_t>>& minute_tables() const { return m_minute_tables; }
  [[nodiscard]] const std::map<uint32_t, uint64_t>& minute_other() const { return m_minute_other; }

 private:
  void close_transaction();
  void keep(TransactionStats trx);
  StatementStats& statement(const std::string& fingerprint, std::string_view text, const char* source);

  ViewOptions m_opt;
  std::string m_file;
  size_t m_file_index = 0;
  // statements
  std::map<std::string, StatementStats> m_statements;
  StatementStats* m_current = nullptr;  // statement the following row events belong to
  bool m_has_text = false;
  // transactions
  bool m_open = false;
  TransactionStats m_trx;
  std::vector<TransactionStats> m_top;
  // minutes
  std::map<uint32_t, std::map<TableKey, uint64_t>> m_minute_tables;
  std::map<uint32_t, uint64_t> m_minute_other;
  uint32_t m_last_time = 0;
  uint64_t m_untimed = 0;  // bytes of events before the first timestamped one in the file
};

}  // namespace binwatch
