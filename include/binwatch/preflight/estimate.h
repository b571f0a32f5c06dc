#pragma once
// The binlog-bytes model of a bulk job: pure, from the server settings, the table shapes and
// sampled rows to bytes with a low/high range. No I/O here (the sampler in preflight.h feeds it),
// so every part is unit-tested without a server.
//
// What the server writes, per transaction (MariaDB 10.11, measured against binwatch report):
//   GTID (19 + 19 + CRC), per statement: ANNOTATE_ROWS (19 + text + CRC, when
//   binlog_annotate_row_events=ON), one TABLE_MAP per table in the statement (the target and
//   every ON DELETE CASCADE child: the cascaded rows are not row-logged), ROWS events of at most
//   binlog_row_event_max_size (8192) data bytes each (19 + 8 + packed width + columns bitmap(s)
//   + row images + CRC; with log_bin_compress the row data is zlib-compressed when the row that
//   opens the event is at least log_bin_compress_min_len bytes), then XID (19 + 8 + CRC).
// A row image is a NULL bitmap over the image's columns plus each non-NULL value (fixed size or
// length prefix + bytes). Image columns follow binlog_row_image: FULL all; MINIMAL the primary key
// before, the assigned columns after; NOBLOB all but BLOB/TEXT (primary key and assigned kept).
// An UPDATE that leaves a row unchanged writes nothing for it. Rows a trigger changes are logged
// inside the statement, and each table switch starts a new rows event: with a DELETE trigger
// every job row and every trigger row set is an event of its own (measured on MariaDB 10.11).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/preflight/server_settings.h"
#include "binwatch/preflight/table_shape.h"
#include "binwatch/sql/statement.h"

namespace binwatch::preflight {

struct Value {
  bool null = true;
  std::string bytes;  // strings and blobs: the stored bytes; other types: the value as text
  std::optional<uint64_t> storage_size;  // MySQL JSON: JSON_STORAGE_SIZE()
};
using RowValues = std::vector<Value>;  // one per column, in table order

// One sampled row a statement changes.
struct SampleRow {
  RowValues before;
  RowValues after;     // UPDATE: values after the SET (before with the assignments applied)
  bool changes = true; // UPDATE: false when every assignment leaves the value as it is
};

// How the rows were counted.
struct RowCount {
  uint64_t rows = 0, low = 0, high = 0;
  std::string method;  // "exact COUNT(*)", "given (--rows)", "EXPLAIN index estimate", ...
};

// A statement an ORM runs for each row the job deletes (counter caches, touch).
struct PerRowStatement {
  std::string name;  // triggers: "AFTER DELETE name"
  std::string text;  // as given, with :binds
  bool insert = false;  // a trigger's INSERT: changes[i] holds the inserted row in `before`
  // INSERT: the columns it gives a value (listed, or all without a list) and AUTO_INCREMENT ones:
  // what a MINIMAL image logs (measured on MariaDB 10.11: defaulted columns are left out).
  std::vector<bool> insert_columns;
  sql::Dml dml;
  TableShape shape;
  // Per sampled job row (same order as JobModel::sample): the rows this statement changes.
  std::vector<std::vector<SampleRow>> changes;
  // Per sampled job row: bytes of the statement text with the binds substituted.
  std::vector<uint64_t> text_bytes;
};

struct JobModel {
  sql::Dml dml;
  std::string statement_text;  // the job's statement as the server will log it (no LIMIT added)
  TableShape shape;
  std::vector<SampleRow> sample;  // rows the job changes (UPDATE: `changes` says which)
  // Contiguous runs of matching rows in key order, about one rows event each: compression depends
  // on neighbouring rows, which the spread-out `sample` does not keep. Empty: use `sample`.
  // Real tables are clustered (rows written together look alike, and compress alike), so there
  // are many runs spread over the key range, and the compression ratio's sampling error between
  // runs goes into the low/high range. `runs_complete`: one run holding every row the job
  // changes, in key order (a small job): the ratio is then exact, not sampled.
  std::vector<std::vector<SampleRow>> runs;
  bool runs_complete = false;
  RowCount count;
  std::vector<PerRowStatement> per_row;
  // Simple DELETE triggers of the table (one INSERT/UPDATE/DELETE on OLD.columns), sampled like
  // per-row statements: their rows are logged inside the job's statement, as rows events of their
  // own between the job's rows (so the job's rows no longer share events either).
  std::vector<PerRowStatement> triggers;
  uint64_t batch_rows = 0;  // rows per statement/transaction; 0 = the whole job at once
  uint64_t sleep_ms = 0;
};

struct Component {
  std::string name;
  uint64_t bytes = 0;
  std::string detail;
};

struct Estimate {
  uint64_t bytes = 0, low = 0, high = 0;  // on-disk binlog bytes
  uint64_t uncompressed_bytes = 0;
  // The part a sidecar attributes to the job's table (its row events and table maps); 0 when the
  // job is not logged as rows of it in batches (statement format, ORM loop).
  uint64_t table_bytes = 0;
  RowCount rows;
  uint64_t changed_rows = 0;  // UPDATE: rows expected to change (= rows for DELETE)
  uint64_t transactions = 0;
  uint64_t statements = 0;
  uint64_t events = 0;
  uint64_t largest_transaction_bytes = 0;
  uint64_t batch_rows = 0;    // effective rows per transaction
  double bytes_per_row = 0;   // all bytes / rows (amplification included)
  double row_image_bytes_per_row = 0;
  double compression_ratio = 1.0;  // on-disk / uncompressed row data
  uint64_t sampled_rows = 0;
  std::string model;  // "row", "statement", "row (mixed: unsafe statement)", "orm per-row"
  std::vector<Component> components;
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
};

// Which columns are in the before/after images.
struct ImageColumns {
  std::vector<bool> before, after;
};
ImageColumns image_columns(const TableShape& t, RowImage mode, sql::DmlKind kind,
                           const std::vector<bool>& assigned);

// Columns an UPDATE writes: the assigned ones plus ON UPDATE CURRENT_TIMESTAMP columns.
std::vector<bool> assigned_columns(const TableShape& t, const std::vector<sql::Assignment>& set);

// The binlog row image of `values` over the `present` columns (NULL bitmap + values). Fixed-size
// values are packed from their text (integers little-endian, temporal/decimal big-endian) so the
// bytes compress like the server's.
std::string encode_image(const TableShape& t, const RowValues& values,
                         const std::vector<bool>& present);

// Mean bytes of one row's payload in the rows events (before [+ after] image under the server's
// binlog_row_image) over the changing rows of `job.sample`; 0 without any. The sampler sizes its
// compression runs with it (rows per rows event = binlog_row_event_max_size / this).
double mean_payload_bytes(const ServerSettings& s, const JobModel& job);

// The compression ratio (compressed / raw row data of the compressed events) measured on
// `job.runs`, and its relative sampling error (about 95%, 0 for complete runs). nullopt when the
// runs hold no compressed event.
struct RunsRatio {
  double ratio = 1.0;
  double relative_error = 0;
  size_t runs = 0;
  uint64_t rows = 0;
};
std::optional<RunsRatio> runs_compression_ratio(const ServerSettings& s, const JobModel& job);

// Row events for a sequence of row payloads (before [+ after] image) of one statement.
struct RowsEvents {
  uint64_t bytes = 0;        // on disk
  uint64_t uncompressed = 0; // same events with the row data uncompressed
  uint64_t events = 0;
  uint64_t row_data = 0;     // row image bytes (uncompressed)
  uint64_t compressible_data = 0;  // row data of the compressed events, before and after
  uint64_t compressed_data = 0;
  uint64_t last_bytes = 0, last_rows = 0, last_uncompressed = 0, last_data = 0;  // the final event
};
// `ratio`: compressed/raw row data to assume for compressed events instead of compressing.
RowsEvents pack_rows_events(const ServerSettings& s, size_t column_count, bool update,
                            const std::vector<const std::string*>& payloads,
                            std::optional<double> ratio = std::nullopt);

// Fixed event sizes (header and checksum included).
uint64_t gtid_event_size(const ServerSettings& s);
uint64_t xid_event_size(const ServerSettings& s);
uint64_t annotate_event_size(const ServerSettings& s, uint64_t text_bytes);
uint64_t query_event_size(const ServerSettings& s, uint64_t db_bytes, uint64_t text_bytes);

// MIXED format logs a statement as rows when it is unsafe for statement replication.
bool unsafe_for_statement(const sql::Dml& d, const std::string& text);

Estimate estimate(const ServerSettings& s, const JobModel& job);

}  // namespace binwatch::preflight
