#pragma once
// Scans one binlog byte stream from its magic to its end, decoding every event, verifying
// checksums and attributing every byte (attribution.h). Pure decoding lives in parsers/binlog;
// this class drives it over a StreamBuffer and records located errors instead of stopping,
// except where the rest of the stream cannot be trusted (bad magic, encryption).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/attribution.h"
#include "binwatch/byte_source.h"

namespace binwatch {

struct TornTail {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct FileSummary {
  std::string path;
  uint64_t size = 0;
  std::string server_version;
  std::string checksum = "none";  // "crc32" or "none"
  uint64_t events = 0;
  std::optional<uint32_t> first_event_time, last_event_time;  // in file order
  std::optional<uint32_t> earliest_time, latest_time;         // smallest and largest timestamp
  bool closed_cleanly = false;
  std::optional<TornTail> torn_tail;
  uint64_t unknown_events = 0;  // event types this build does not know, skipped by length
};

// Which events count (mysqlbinlog's option names). Events outside the selection are still decoded
// for context (format description, table maps) but their bytes go to OtherBytes::excluded and no
// observer sees them. Database/table selection applies to table events (TABLE_MAP, ROWS) and to
// QUERY events (by their default database; QUERY events are excluded when tables are selected);
// other events (GTID, XID, ...) in the position/time range always count as overhead.
struct ScanFilter {
  std::optional<uint64_t> start_position;  // first event at or after this offset (per file)
  std::optional<uint64_t> stop_position;   // events starting at or after this offset are excluded
  std::optional<uint32_t> start_time;      // event timestamp >= start_time (unix seconds)
  std::optional<uint32_t> stop_time;       // event timestamp < stop_time
  std::vector<std::string> databases;      // schema names; empty = all
  std::vector<std::string> tables;         // "db.table" or "table"; empty = all

  [[nodiscard]] bool selects_tables() const { return !databases.empty() || !tables.empty(); }
  [[nodiscard]] bool table_selected(const std::string& schema, const std::string& table) const;
  [[nodiscard]] bool query_selected(std::string_view schema) const;
};

// One attributed event, handed to a ScanObserver in file order. Events inside a compressed
// TRANSACTION_PAYLOAD are reported one by one with their share of the payload's on-disk bytes
// (shares of one bucket sum exactly to what the attribution gave that bucket).
struct ScanEvent {
  enum class Bucket : uint8_t { Table, Statement, Overhead, Corrupt };
  uint64_t offset = 0;     // file offset of the (top-level) event
  uint64_t end = 0;        // file offset just after the top-level event
  uint32_t timestamp = 0;  // header timestamp of the top-level event
  uint8_t type = 0;
  bool in_payload = false;
  uint64_t bytes = 0;  // on-disk bytes charged to this event
  Bucket bucket = Bucket::Overhead;
  const TableKey* table = nullptr;  // Bucket::Table: the table (owned by the attribution)
  uint64_t rows = 0;                // ROWS events: rows walked
  std::string_view text;            // QUERY statement, ANNOTATE_ROWS / ROWS_QUERY text
  std::string_view schema;          // QUERY default database
  std::string gtid;                 // GTID events: "domain-server-seq" or "uuid:gno"
  bool begins_transaction = false;  // GTID, or BEGIN outside a GTID-started transaction
  bool ends_transaction = false;    // XID, COMMIT/ROLLBACK, or a DDL statement (implicit commit)
};

class ScanObserver {
 public:
  virtual ~ScanObserver() = default;
  virtual void on_event(const ScanEvent& event) = 0;
};

struct ScanOptions {
  bool verify_checksums = true;
  bool walk_rows = true;
  ScanFilter filter;
  ScanObserver* observer = nullptr;  // not owned; called on the scanning thread
};

// Fatal problems: the stream is not a binlog or cannot be read on. Reported with exit code 2.
class FatalScanError : public std::runtime_error {
 public:
  FatalScanError(binlog::ErrorKind kind, const std::string& what)
      : std::runtime_error(what), m_kind(kind) {}
  [[nodiscard]] binlog::ErrorKind kind() const { return m_kind; }

 private:
  binlog::ErrorKind m_kind;
};

// Scans `source` into `out` and returns the file's summary. Throws FatalScanError for a stream
// that is not a binlog or is encrypted, std::runtime_error for I/O errors.
FileSummary scan_binlog(ByteSource& source, Attribution& out, const ScanOptions& options = {});

}  // namespace binwatch
