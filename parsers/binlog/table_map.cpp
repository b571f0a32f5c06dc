// Sources: MySQL 8.4 libs/mysql/binlog/event/rows_event.cpp (Table_map_event),
// sql/log_event.cc (Table_map_log_event::save_field_metadata / Optional_metadata_fields),
// sql/field.cc (pack lengths), strings/decimal.cc (decimal_bin_size); MariaDB 11.4 sql/field.h.
#include "binwatch/binlog/table_map.h"

#include <array>

#include "binwatch/binlog/format_description.h"

namespace binwatch::binlog {

uint32_t decimal_bin_size(uint32_t precision, uint32_t scale) {
  static constexpr std::array<uint32_t, 10> kDig2Bytes{0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  if (scale > precision) return 0;
  const uint32_t intg = precision - scale;
  return (intg / 9) * 4 + kDig2Bytes[intg % 9] + (scale / 9) * 4 + kDig2Bytes[scale % 9];
}

namespace {

// Bytes of metadata each column type carries in the table map.
int metadata_len(uint8_t type) {
  using namespace column_type;
  switch (type) {
    case Float: case Double: case Blob: case TinyBlob: case MediumBlob: case LongBlob:
    case Geometry: case Json: case Vector: case Timestamp2: case DateTime2: case Time2:
    case MariadbBlobCompressed:
      return 1;
    case VarChar: case VarString: case Bit: case NewDecimal: case String: case Enum: case Set:
    case MariadbVarcharCompressed:
      return 2;
    default:
      return 0;
  }
}

}  // namespace

ColumnLayout column_layout(uint8_t type, uint16_t meta) {
  using namespace column_type;
  const uint8_t b0 = meta & 0xff;
  const uint8_t b1 = meta >> 8;
  auto fixed = [](uint32_t n) { return ColumnLayout{ValueLayout::Fixed, n, 0, false}; };
  auto prefixed = [](uint8_t p) {
    if (p < 1 || p > 4) return ColumnLayout{ValueLayout::Unsupported, 0, 0, false};
    return ColumnLayout{ValueLayout::LengthPrefix, 0, p, false};
  };
  switch (type) {
    case Tiny: case Year: return fixed(1);
    case Short: return fixed(2);
    case Int24: case Date: case NewDate: case Time: return fixed(3);
    case Long: case Timestamp: return fixed(4);
    case LongLong: case DateTime: return fixed(8);
    case Float: return fixed(b0 ? b0 : 4);
    case Double: return fixed(b0 ? b0 : 8);
    case Null: return fixed(0);
    case Timestamp2: return fixed(4 + (b0 + 1) / 2);
    case DateTime2: return fixed(5 + (b0 + 1) / 2);
    case Time2: return fixed(3 + (b0 + 1) / 2);
    case NewDecimal: {
      if (b0 == 0 || b1 > b0) return ColumnLayout{ValueLayout::Unsupported, 0, 0, false};
      return fixed(decimal_bin_size(b0, b1));
    }
    case VarChar: case VarString: case MariadbVarcharCompressed:
      return prefixed(meta < 256 ? 1 : 2);
    case Bit: return fixed(b1 + (b0 > 0 ? 1 : 0));  // b0 = bits % 8, b1 = whole bytes
    case Blob: case TinyBlob: case MediumBlob: case LongBlob: case Geometry: case Vector:
    case MariadbBlobCompressed:
      return prefixed(b0);
    case Json: {
      auto l = prefixed(b0);
      l.is_json = true;
      return l;
    }
    case Enum: case Set: return fixed(b1);
    case String: {
      // b0 = real type with bits 4-5 of the max length folded in (MySQL bug #37426), b1 = length.
      uint8_t real_type = b0;
      uint32_t max_len = b1;
      if ((b0 & 0x30) != 0x30) {
        max_len = b1 | (((b0 & 0x30) ^ 0x30) << 4);
        real_type = b0 | 0x30;
      }
      if (real_type == Enum || real_type == Set) return fixed(b1);
      return prefixed(max_len < 256 ? 1 : 2);
    }
    default:
      return ColumnLayout{ValueLayout::Unsupported, 0, 0, false};
  }
}

Result<TableMap> parse_table_map(const FormatDescription& fde, Bytes body) {
  ByteCursor c(body);
  TableMap m;
  const uint8_t post_len = fde.post_header(19);
  if (post_len == 6) {
    uint32_t id = 0;
    if (!c.u32le(id)) return malformed("table map: short post-header");
    m.table_id = id;
  } else if (!c.u48le(m.table_id)) {
    return malformed("table map: short post-header");
  }
  if (!c.u16le(m.flags)) return malformed("table map: short post-header");
  if (post_len > 8 && !c.skip(post_len - 8)) return malformed("table map: short post-header");

  uint8_t len = 0;
  std::string_view s;
  if (!c.u8(len) || !c.text(len, s) || !c.skip(1)) return malformed("table map: schema name");
  m.schema = s;
  if (!c.u8(len) || !c.text(len, s) || !c.skip(1)) return malformed("table map: table name");
  m.table = s;
  uint64_t count = 0;
  if (!c.packed(count)) return malformed("table map: column count");
  if (count > c.remaining()) {
    return malformed("table map " + m.schema + "." + m.table + ": column count " +
                     std::to_string(count) + " exceeds the event");
  }
  Bytes types;
  if (!c.bytes(count, types)) return malformed("table map: column types");
  m.types.reserve(count);
  for (std::byte b : types) m.types.push_back(std::to_integer<uint8_t>(b));

  uint64_t meta_len = 0;
  ByteCursor meta;
  if (!c.packed(meta_len) || !c.sub(meta_len, meta)) return malformed("table map: metadata block");
  m.metadata.resize(count);
  m.layouts.resize(count);
  for (size_t i = 0; i < count; ++i) {
    uint8_t type = m.types[i];
    int n = metadata_len(type);
    uint16_t v = 0;
    if (type == column_type::TypedArray) {
      // MySQL multi-valued index helper: element type byte, then that type's metadata.
      uint8_t inner = 0;
      if (!meta.u8(inner)) return malformed("table map: typed array metadata");
      n = metadata_len(inner);
    }
    for (int k = 0; k < n; ++k) {
      uint8_t b = 0;
      if (!meta.u8(b)) {
        return malformed("table map " + m.schema + "." + m.table + ": metadata of column " +
                         std::to_string(i + 1) + " past the metadata block");
      }
      v |= static_cast<uint16_t>(b) << (8 * k);
    }
    m.metadata[i] = v;
    m.layouts[i] = column_layout(type, v);
    if (m.layouts[i].is_json) ++m.json_columns;
  }
  if (!meta.empty()) {
    return malformed("table map " + m.schema + "." + m.table + ": " +
                     std::to_string(meta.remaining()) + " unread metadata bytes");
  }
  Bytes nullable;
  if (!c.bytes((count + 7) / 8, nullable)) return malformed("table map: NULL bitmap");
  m.nullable.reserve(nullable.size());
  for (std::byte b : nullable) m.nullable.push_back(std::to_integer<uint8_t>(b));

  // Optional metadata (binlog_row_metadata): TLVs to the end. Only column names are kept here.
  while (!c.empty()) {
    uint8_t field = 0;
    uint64_t flen = 0;
    ByteCursor value;
    if (!c.u8(field) || !c.packed(flen) || !c.sub(flen, value)) {
      return malformed("table map " + m.schema + "." + m.table + ": optional metadata field");
    }
    if (field == 4) {  // COLUMN_NAME: packed length + name, per column
      std::vector<std::string> names;
      while (!value.empty()) {
        uint64_t nlen = 0;
        std::string_view name;
        if (!value.packed(nlen) || !value.text(nlen, name)) {
          return malformed("table map " + m.schema + "." + m.table + ": column names");
        }
        names.emplace_back(name);
      }
      if (names.size() == count) m.column_names = std::move(names);
    }
  }
  return m;
}

}  // namespace binwatch::binlog
