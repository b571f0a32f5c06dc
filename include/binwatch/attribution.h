#pragma once
// Byte attribution (ARCHITECTURE.md "The attribution contract"): every byte of a binlog belongs to
// exactly one bucket: magic, a table (its TABLE_MAP and ROWS events, whole), statement (QUERY
// events), overhead (all other events), torn (an incomplete last event) or corrupt (events failing
// their checksum or malformed). A TRANSACTION_PAYLOAD's on-disk bytes are split among the buckets
// of the events inside in proportion to their uncompressed sizes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/binlog/row_walker.h"

namespace binwatch {

struct TableKey {
  std::string schema, table;
  auto operator<=>(const TableKey&) const = default;
};

struct TableStats {
  TableKey key;
  uint64_t bytes = 0;               // on-disk bytes (compressed payload shares included)
  uint64_t uncompressed_bytes = 0;  // the same events' uncompressed size
  uint64_t events = 0;              // TABLE_MAP + ROWS events
  uint64_t table_map_events = 0, table_map_bytes = 0;
  uint64_t rows_events = 0;
  uint64_t rows = 0, inserts = 0, updates = 0, deletes = 0;
  binlog::ColumnBytes columns;        // per column bytes over all row images
  std::vector<uint8_t> column_types;  // from the latest table map
  std::vector<std::string> column_names;  // from optional metadata, when logged

  void merge(const TableStats& other);
};

// What an error says about the bytes on disk (the sidecar's integrity findings). `None`: the
// event is whole and its checksum holds (or there is none), the decoder could not read it.
enum class Damage : uint8_t {
  None,
  Checksum,  // an event whose CRC32 does not match; its length leads to a valid event
  CutShort,  // an event ends before its header says: a valid event starts inside it
  Garbage,   // no event header can be read here (size under 19, ...)
};

// A located problem in the input, reported in errors[].
struct ScanError {
  std::string file;
  uint64_t offset = 0;
  binlog::ErrorKind kind = binlog::ErrorKind::Malformed;
  std::string detail;
  Damage damage = Damage::None;
  uint64_t bytes = 0;  // damaged bytes from `offset` (counted as corrupt); 0 when Damage::None
};

struct OtherBytes {
  uint64_t statement = 0, overhead = 0, magic = 0, torn = 0, corrupt = 0;
  uint64_t excluded = 0;  // events outside the report's filters (--start-position, --database, ...)
  [[nodiscard]] uint64_t sum() const { return statement + overhead + magic + torn + corrupt + excluded; }
};

struct TypeStats {
  uint64_t events = 0, bytes = 0;
};

class Attribution {
 public:
  // Index of the stats entry for a table, created on first use.
  size_t table_index(const std::string& schema, const std::string& table);
  TableStats& table_at(size_t index) { return m_tables[index]; }
  // The stats of a table, or null when no event of it was seen.
  [[nodiscard]] const TableStats* find(const std::string& schema, const std::string& table) const;
  [[nodiscard]] const std::vector<TableStats>& tables() const { return m_tables; }
  // Tables sorted by bytes descending, then by name (deterministic).
  [[nodiscard]] std::vector<const TableStats*> tables_by_bytes() const;

  OtherBytes other;
  std::map<uint8_t, TypeStats> types;  // top-level events by type code (payload events as 40)
  std::vector<ScanError> errors;
  uint64_t total_bytes = 0;

  [[nodiscard]] uint64_t table_bytes() const;
  // Adds another attribution (same contract) into this one; tables matched by name.
  void merge(const Attribution& other);

 private:
  std::vector<TableStats> m_tables;
  std::unordered_map<std::string, size_t> m_index;
};

}  // namespace binwatch
