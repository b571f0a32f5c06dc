#pragma once
// A table's columns as the binlog encodes them (table-map type, metadata, value layout), built
// from information_schema.COLUMNS without reading any binlog. The layouts come from the
// decoder's own binlog::column_layout(), so the estimator and the decoder agree on every type.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/binlog/table_map.h"
#include "binwatch/preflight/server_settings.h"

namespace binwatch::preflight {

// One row of information_schema.COLUMNS (the fields used), in ORDINAL_POSITION order.
struct InfoSchemaColumn {
  std::string name;
  std::string data_type;    // DATA_TYPE, e.g. "varchar", "longtext", "json", "int"
  std::string column_type;  // COLUMN_TYPE, e.g. "varchar(255)", "enum('a','b')", "int(11) unsigned"
  std::optional<uint64_t> octet_length;  // CHARACTER_OCTET_LENGTH
  std::optional<uint64_t> numeric_precision, numeric_scale, datetime_precision;
  bool nullable = false;
  std::string column_key;  // "PRI", "UNI", "MUL", ""
  std::string extra;       // e.g. "on update current_timestamp()", "VIRTUAL GENERATED"
  std::string collation;   // COLLATION_NAME, empty for non-character columns
  uint32_t collation_id = 63;  // information_schema.COLLATIONS.ID of `collation` (63 = binary)
};

struct ColumnSpec {
  std::string name;
  std::string data_type;
  uint8_t binlog_type = 0;    // table-map type code (binlog::column_type)
  uint16_t metadata = 0;      // as binlog::column_layout() takes it
  uint8_t metadata_bytes = 0; // bytes this column adds to the table map's metadata block
  binlog::ColumnLayout layout;
  bool nullable = false;
  bool primary = false;
  bool blob = false;       // BLOB/TEXT family, JSON on MariaDB, geometry: dropped by NOBLOB
  bool numeric = false;    // has a signedness bit in the optional metadata
  bool character = false;  // has a charset in the optional metadata
  bool on_update_now = false;  // ON UPDATE CURRENT_TIMESTAMP: written by every UPDATE
  bool mysql_json = false;     // MySQL binary JSON: value size is JSON_STORAGE_SIZE(), not LENGTH()
  bool temporal_or_decimal = false;  // fixed-size value packed big-endian (for compression images)
  uint32_t enum_set_values = 0;
  uint32_t collation_id = 63;
  std::vector<std::string> enum_set_names;
};

struct TableShape {
  std::string schema, table;
  std::vector<ColumnSpec> columns;
  bool has_primary_key = false;
  // Tables whose foreign keys reference this one with ON DELETE CASCADE / SET NULL: the server
  // writes a TABLE_MAP for each of them per statement, while the cascaded rows themselves are not
  // row-logged (InnoDB applies them below the binlog; measured on MariaDB 10.11, see README).
  std::vector<std::string> cascade_children;  // "db.t"
  std::vector<std::string> triggers;          // "BEFORE DELETE name"
  std::string engine;

  [[nodiscard]] int index_of(const std::string& column) const;  // case-insensitive, -1 if none
};

// Throws std::runtime_error for a type it cannot size (the message names the column).
ColumnSpec column_spec(const InfoSchemaColumn& c, Flavor flavor);

// The SQL text that gives a column's default value, from information_schema.COLUMNS
// (COLUMN_DEFAULT, EXTRA, DATA_TYPE), or nullopt when the column has no default (NULL). MariaDB
// 10.2.7+ stores SQL text there (string literals quoted, `NULL` for DEFAULT NULL, expressions as
// written): used as it is. MySQL 8 stores the literal value unquoted (`pending`, not
// `'pending'`), expression defaults (EXTRA "DEFAULT_GENERATED") as their text: literals become
// a quoted string ('' for a quote; X'...' hex when the value holds a backslash or a control
// character, which is right whatever NO_BACKSLASH_ESCAPES says), except b'...' of BIT columns
// and 0x... of binary columns, which are SQL literals already, and CURRENT_TIMESTAMP[(n)] of
// DATETIME/TIMESTAMP columns (MySQL before 8.0.13 does not mark it DEFAULT_GENERATED).
std::optional<std::string> default_sql(const std::optional<std::string>& column_default,
                                       const std::string& extra, const std::string& data_type,
                                       Flavor flavor);

// Size of the TABLE_MAP event for this table (header and checksum included) under the settings'
// binlog_row_metadata. Exact for NO_LOG; MINIMAL/FULL optional metadata follows MariaDB 10.11
// sql/log_event_server.cc (Table_map_log_event::init_*_field) for one charset per table.
uint64_t table_map_event_size(const TableShape& t, const ServerSettings& s);

}  // namespace binwatch::preflight
