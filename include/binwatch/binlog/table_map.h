#pragma once
// TABLE_MAP_EVENT (19). Source: MySQL 8.4 libs/mysql/binlog/event/rows_event.cpp
// (Table_map_event), MariaDB 11.4 sql/log_event.cc (Table_map_log_event).
//
//  post-header: table_id 6 bytes (4 when the server's TABLE_MAP post-header length is 6), flags u16
//  body: schema len u8, schema, NUL; table len u8, table, NUL; column count (packed);
//        column types[count]; metadata length (packed), metadata; NULL bitmap (count+7)/8;
//        optional metadata TLVs: type u8, length (packed), value (MySQL 8.0.1+, MariaDB 10.5+).
#include <cstdint>
#include <string>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/byte_cursor.h"

namespace binwatch::binlog {

struct FormatDescription;

// Column type codes as they appear in table maps (enum_field_types).
namespace column_type {
constexpr uint8_t Decimal = 0, Tiny = 1, Short = 2, Long = 3, Float = 4, Double = 5, Null = 6,
                  Timestamp = 7, LongLong = 8, Int24 = 9, Date = 10, Time = 11, DateTime = 12,
                  Year = 13, NewDate = 14, VarChar = 15, Bit = 16, Timestamp2 = 17, DateTime2 = 18,
                  Time2 = 19, TypedArray = 20, MariadbBlobCompressed = 140,
                  MariadbVarcharCompressed = 141, Vector = 242, Invalid = 243, Bool = 244,
                  Json = 245, NewDecimal = 246, Enum = 247, Set = 248, TinyBlob = 249,
                  MediumBlob = 250, LongBlob = 251, Blob = 252, VarString = 253, String = 254,
                  Geometry = 255;
}

// How a column's value is laid out in a row image, resolved once per table map.
enum class ValueLayout : uint8_t {
  Fixed,         // `fixed` bytes
  LengthPrefix,  // little-endian length of `prefix` bytes, then that many bytes
  Unsupported,   // a type whose size this build cannot compute (row walk fails, located)
};

struct ColumnLayout {
  ValueLayout layout = ValueLayout::Fixed;
  uint32_t fixed = 0;   // Fixed: value size
  uint8_t prefix = 0;   // LengthPrefix: size of the length field
  bool is_json = false;
};

struct TableMap {
  uint64_t table_id = 0;
  uint16_t flags = 0;
  std::string schema;
  std::string table;
  std::vector<uint8_t> types;      // per column, as logged
  std::vector<uint16_t> metadata;  // per column, raw metadata (0..2 bytes, first byte low)
  std::vector<ColumnLayout> layouts;
  std::vector<uint8_t> nullable;   // bitmap as logged
  std::vector<std::string> column_names;  // optional metadata COLUMN_NAME, when present
  uint32_t json_columns = 0;

  [[nodiscard]] size_t column_count() const { return types.size(); }
};

// `body` is the event body after the common header, checksum removed.
Result<TableMap> parse_table_map(const FormatDescription& fde, Bytes body);

// Layout of one column type with its metadata (exposed for tests and the pre-flight estimator).
ColumnLayout column_layout(uint8_t type, uint16_t metadata);

// Storage size of a binary DECIMAL(precision, scale) (MySQL strings/decimal.cc decimal_bin_size).
uint32_t decimal_bin_size(uint32_t precision, uint32_t scale);

}  // namespace binwatch::binlog
