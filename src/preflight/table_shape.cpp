// information_schema.COLUMNS -> binlog column encoding. Sources: MariaDB 10.11 sql/field.cc
// (Field_*::binlog_type_info, pack_length, do_save_field_metadata), sql/log_event_server.cc
// (Table_map_log_event constructor and init_*_field for the optional metadata).
#include "binwatch/preflight/table_shape.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace binwatch::preflight {

namespace {

using namespace binlog::column_type;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

uint64_t packed_len(uint64_t v) { return v < 251 ? 1 : v < 65536 ? 3 : v < (1u << 24) ? 4 : 9; }

// ENUM/SET member names from COLUMN_TYPE "enum('a','b''c')".
std::vector<std::string> enum_members(const std::string& column_type) {
  std::vector<std::string> out;
  auto open = column_type.find('(');
  if (open == std::string::npos) return out;
  std::string cur;
  bool in = false;
  for (size_t i = open + 1; i < column_type.size(); ++i) {
    const char c = column_type[i];
    if (!in) {
      if (c == '\'') { in = true; cur.clear(); }
      else if (c == ')') break;
      continue;
    }
    if (c == '\'') {
      if (i + 1 < column_type.size() && column_type[i + 1] == '\'') { cur += '\''; ++i; continue; }
      in = false;
      out.push_back(cur);
      continue;
    }
    cur += c;
  }
  return out;
}

binlog::ColumnLayout prefixed(uint8_t p) { return {binlog::ValueLayout::LengthPrefix, 0, p, false}; }
binlog::ColumnLayout fixed(uint32_t n) { return {binlog::ValueLayout::Fixed, n, 0, false}; }

}  // namespace

std::optional<std::string> default_sql(const std::optional<std::string>& column_default,
                                       const std::string& extra, const std::string& data_type,
                                       Flavor flavor) {
  if (!column_default) return std::nullopt;
  const std::string& v = *column_default;
  if (flavor == Flavor::MariaDB) return v;
  const std::string type = lower(data_type);
  if (lower(extra).find("default_generated") != std::string::npos) return "(" + v + ")";
  // Before 8.0.13 EXTRA does not say DEFAULT_GENERATED for CURRENT_TIMESTAMP[(n)].
  if ((type == "timestamp" || type == "datetime") && lower(v).rfind("current_timestamp", 0) == 0) return v;
  if (type == "bit" && v.size() >= 3 && (v[0] == 'b' || v[0] == 'B') && v[1] == '\'' && v.back() == '\'') return v;
  const bool binary = type == "binary" || type == "varbinary" || type.find("blob") != std::string::npos;
  if (binary && v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') &&
      std::all_of(v.begin() + 2, v.end(), [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return v;
  }
  const bool plain = std::none_of(v.begin(), v.end(), [](unsigned char c) { return c == '\\' || c < 0x20 || c == 0x7f; });
  if (!plain) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out = "X'";
    for (unsigned char c : v) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    return out + "'";
  }
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

int TableShape::index_of(const std::string& column) const {
  const std::string want = lower(column);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (lower(columns[i].name) == want) return static_cast<int>(i);
  }
  return -1;
}

ColumnSpec column_spec(const InfoSchemaColumn& c, Flavor flavor) {
  ColumnSpec s;
  s.name = c.name;
  s.data_type = lower(c.data_type);
  s.nullable = c.nullable;
  s.primary = c.column_key == "PRI";
  const std::string extra = lower(c.extra);
  s.on_update_now = extra.find("on update") != std::string::npos;
  s.collation_id = c.collation_id;
  const std::string& t = s.data_type;
  const uint64_t octets = c.octet_length.value_or(0);
  auto precision = [&](const std::optional<uint64_t>& v) { return static_cast<uint16_t>(v.value_or(0)); };
  auto set = [&](uint8_t type, uint16_t meta, uint8_t meta_bytes) {
    s.binlog_type = type;
    s.metadata = meta;
    s.metadata_bytes = meta_bytes;
    s.layout = binlog::column_layout(type, meta);
  };
  if (t == "tinyint" || t == "bool" || t == "boolean") { set(Tiny, 0, 0); s.numeric = true; }
  else if (t == "smallint") { set(Short, 0, 0); s.numeric = true; }
  else if (t == "mediumint") { set(Int24, 0, 0); s.numeric = true; }
  else if (t == "int" || t == "integer") { set(Long, 0, 0); s.numeric = true; }
  else if (t == "bigint") { set(LongLong, 0, 0); s.numeric = true; }
  else if (t == "float") { set(Float, 4, 1); s.numeric = true; }
  else if (t == "double" || t == "real" || t == "double precision") { set(Double, 8, 1); s.numeric = true; }
  else if (t == "decimal" || t == "numeric") {
    const uint16_t p = precision(c.numeric_precision), sc = precision(c.numeric_scale);
    set(NewDecimal, static_cast<uint16_t>(p | (sc << 8)), 2);
    s.numeric = true;
    s.temporal_or_decimal = true;
  } else if (t == "bit") {
    const uint16_t bits = precision(c.numeric_precision);
    set(Bit, static_cast<uint16_t>((bits % 8) | ((bits / 8) << 8)), 2);
  } else if (t == "year") { set(Year, 0, 0); }
  else if (t == "date") { set(Date, 0, 0); s.temporal_or_decimal = true; }
  else if (t == "time") { set(Time2, precision(c.datetime_precision), 1); s.temporal_or_decimal = true; }
  else if (t == "datetime") { set(DateTime2, precision(c.datetime_precision), 1); s.temporal_or_decimal = true; }
  else if (t == "timestamp") { set(Timestamp2, precision(c.datetime_precision), 1); s.temporal_or_decimal = true; }
  else if (t == "varchar" || t == "varbinary") {
    set(VarChar, static_cast<uint16_t>(octets), 2);
    s.character = true;
  } else if (t == "char" || t == "binary") {
    s.binlog_type = String;
    s.metadata_bytes = 2;
    s.layout = prefixed(octets < 256 ? 1 : 2);
    s.character = true;
  } else if (t == "tinytext" || t == "tinyblob") { set(Blob, 1, 1); s.blob = s.character = true; }
  else if (t == "text" || t == "blob") { set(Blob, 2, 1); s.blob = s.character = true; }
  else if (t == "mediumtext" || t == "mediumblob") { set(Blob, 3, 1); s.blob = s.character = true; }
  else if (t == "longtext" || t == "longblob") { set(Blob, 4, 1); s.blob = s.character = true; }
  else if (t == "json") {
    if (flavor == Flavor::MySQL) {
      set(Json, 4, 1);
      s.mysql_json = true;
      s.blob = true;
    } else {  // MariaDB: LONGTEXT with a JSON_VALID check
      set(Blob, 4, 1);
      s.blob = s.character = true;
    }
  } else if (t == "enum" || t == "set") {
    s.enum_set_names = enum_members(c.column_type);
    s.enum_set_values = static_cast<uint32_t>(s.enum_set_names.size());
    uint32_t bytes = 0;
    if (t == "enum") {
      bytes = s.enum_set_values < 256 ? 1 : 2;
    } else {
      bytes = (s.enum_set_values + 7) / 8;
      if (bytes > 4) bytes = 8;
      if (bytes == 3 && flavor == Flavor::MySQL) bytes = 3;
    }
    s.binlog_type = String;
    s.metadata_bytes = 2;
    s.layout = fixed(bytes);
  } else if (t == "geometry" || t == "point" || t == "linestring" || t == "polygon" ||
             t == "multipoint" || t == "multilinestring" || t == "multipolygon" ||
             t == "geometrycollection") {
    set(Geometry, 4, 1);
    s.blob = true;
  } else if (t == "inet6" || t == "uuid") {  // MariaDB: fixed BINARY(16) in row images
    s.binlog_type = String;
    s.metadata_bytes = 2;
    s.layout = prefixed(1);
  } else if (t == "inet4") {
    s.binlog_type = String;
    s.metadata_bytes = 2;
    s.layout = prefixed(1);
  } else if (t == "vector") {
    set(Blob, 4, 1);
    s.blob = true;
  } else {
    throw std::runtime_error("column " + c.name + ": type '" + c.column_type +
                             "' is not known to the estimator");
  }
  if (s.layout.layout == binlog::ValueLayout::Unsupported) {
    throw std::runtime_error("column " + c.name + ": cannot size type '" + c.column_type + "'");
  }
  return s;
}

uint64_t table_map_event_size(const TableShape& t, const ServerSettings& s) {
  const uint64_t n = t.columns.size();
  uint64_t meta = 0;
  for (const auto& c : t.columns) meta += c.metadata_bytes;
  uint64_t body = (s.is_mariadb() ? 8 : 8) + 1 + t.schema.size() + 1 + 1 + t.table.size() + 1 +
                  packed_len(n) + n + packed_len(meta) + meta + (n + 7) / 8;
  auto tlv = [](uint64_t len) { return 1 + packed_len(len) + len; };
  if (s.row_metadata != RowMetadata::NoLog) {
    uint64_t numeric = 0;
    std::map<uint32_t, uint64_t> collations, enum_collations;
    bool geometry = false;
    uint64_t geometry_cols = 0;
    for (const auto& c : t.columns) {
      if (c.numeric) ++numeric;
      const bool enum_or_set = !c.enum_set_names.empty() || c.data_type == "enum" || c.data_type == "set";
      if (c.character && !enum_or_set) ++collations[c.collation_id];
      if (enum_or_set) ++enum_collations[c.collation_id];
      if (c.binlog_type == binlog::column_type::Geometry) { geometry = true; ++geometry_cols; }
    }
    if (numeric) body += tlv((numeric + 7) / 8);
    auto charset_field = [&](const std::map<uint32_t, uint64_t>& m, bool enum_field) -> uint64_t {
      if (m.empty()) return 0;
      // DEFAULT_CHARSET: the most common collation, then (index, collation) for the others;
      // COLUMN_CHARSET: one collation per column. The server writes the smaller one.
      uint32_t best = 0;
      uint64_t best_n = 0, total = 0;
      for (const auto& [id, k] : m) {
        total += k;
        if (k > best_n) { best = id; best_n = k; }
      }
      uint64_t def = packed_len(best);
      uint64_t col = 0;
      uint32_t idx = 0;
      for (const auto& c : t.columns) {
        const bool enum_or_set = c.data_type == "enum" || c.data_type == "set";
        const bool counted = enum_field ? enum_or_set : (c.character && !enum_or_set);
        if (!counted) continue;
        col += packed_len(c.collation_id);
        if (c.collation_id != best) def += packed_len(idx) + packed_len(c.collation_id);
        ++idx;
      }
      return tlv(std::min(def, col));
    };
    body += charset_field(collations, false);
    if (geometry) body += tlv(geometry_cols);  // one packed geometry type per column (< 251)
    if (s.row_metadata == RowMetadata::Full) {
      uint64_t names = 0;
      for (const auto& c : t.columns) names += packed_len(c.name.size()) + c.name.size();
      body += tlv(names);
      body += charset_field(enum_collations, true);
      for (const char* kind : {"set", "enum"}) {
        uint64_t len = 0;
        bool any = false;
        for (const auto& c : t.columns) {
          if (c.data_type != kind) continue;
          any = true;
          len += packed_len(c.enum_set_names.size());
          for (const auto& v : c.enum_set_names) len += packed_len(v.size()) + v.size();
        }
        if (any) body += tlv(len);
      }
      if (t.has_primary_key) {
        uint64_t len = 0;
        for (size_t i = 0; i < t.columns.size(); ++i) {
          if (t.columns[i].primary) len += packed_len(i);
        }
        body += tlv(len);
      }
    }
  }
  return 19 + body + (s.checksum_crc32 ? 4 : 0);
}

}  // namespace binwatch::preflight
