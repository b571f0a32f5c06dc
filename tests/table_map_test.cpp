// TABLE_MAP decoding and the per-column value layouts the row walker relies on: every column type,
// the STRING/ENUM/SET metadata folding (MySQL bug #37426), DECIMAL sizes against decimal_bin_size's
// known values, VARCHAR length prefixes of 1 and 2 bytes, optional metadata TLVs, and malformed
// maps. Real table maps from the shared fixtures are checked too (skipped when absent).
#include "binwatch/binlog/table_map.h"

#include <gtest/gtest.h>

#include "support/test_bytes.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "binwatch/binlog/decoder.h"
#include "binwatch/binlog/format_description.h"

namespace binwatch::binlog {
namespace {

namespace ct = column_type;

using Buf = ::binwatch::test::ByteBuilder;

ColumnLayout fixed(uint32_t n) { return {ValueLayout::Fixed, n, 0, false}; }
ColumnLayout prefixed(uint8_t p, bool json = false) { return {ValueLayout::LengthPrefix, 0, p, json}; }
ColumnLayout unsupported_layout() { return {ValueLayout::Unsupported, 0, 0, false}; }

void expect_layout(uint8_t type, uint16_t meta, const ColumnLayout& want) {
  const ColumnLayout got = column_layout(type, meta);
  EXPECT_EQ(static_cast<int>(got.layout), static_cast<int>(want.layout))
      << "type " << int(type) << " meta " << meta;
  if (got.layout != want.layout) return;
  if (want.layout == ValueLayout::Fixed) {
    EXPECT_EQ(got.fixed, want.fixed) << "type " << int(type) << " meta " << meta;
  }
  if (want.layout == ValueLayout::LengthPrefix) {
    EXPECT_EQ(got.prefix, want.prefix) << "type " << int(type) << " meta " << meta;
  }
  EXPECT_EQ(got.is_json, want.is_json) << "type " << int(type) << " meta " << meta;
}

// Metadata as the table map carries it: first byte low (table_map.h), i.e. b0 | b1 << 8.
uint16_t meta2(uint8_t b0, uint8_t b1) { return static_cast<uint16_t>(b0 | (b1 << 8)); }

// MySQL sql/field.cc Field_string::do_save_field_metadata: byte 0 = real_type XOR
// ((field_length & 0x300) >> 4), byte 1 = field_length & 0xff.
uint16_t string_meta(uint8_t real_type, uint32_t field_length) {
  return meta2(static_cast<uint8_t>(real_type ^ ((field_length & 0x300) >> 4)),
               static_cast<uint8_t>(field_length & 0xff));
}

TEST(ColumnLayout, FixedSizeTypes) {
  expect_layout(ct::Tiny, 0, fixed(1));
  expect_layout(ct::Short, 0, fixed(2));
  expect_layout(ct::Int24, 0, fixed(3));
  expect_layout(ct::Long, 0, fixed(4));
  expect_layout(ct::LongLong, 0, fixed(8));
  expect_layout(ct::Year, 0, fixed(1));
  expect_layout(ct::Date, 0, fixed(3));
  expect_layout(ct::NewDate, 0, fixed(3));
  expect_layout(ct::Time, 0, fixed(3));
  expect_layout(ct::Timestamp, 0, fixed(4));
  expect_layout(ct::DateTime, 0, fixed(8));
  expect_layout(ct::Null, 0, fixed(0));
  expect_layout(ct::Float, 4, fixed(4));
  expect_layout(ct::Double, 8, fixed(8));
  expect_layout(ct::Float, 0, fixed(4));   // metadata 0: the type's own size
  expect_layout(ct::Double, 0, fixed(8));
}

// Temporal types with fractional seconds: the integer part plus (fsp + 1) / 2 bytes
// (MySQL my_time.cc my_timestamp_binary_length / my_datetime_binary_length / my_time_binary_length).
TEST(ColumnLayout, FractionalSecondsTypes) {
  const uint32_t frac[7] = {0, 1, 1, 2, 2, 3, 3};
  for (uint16_t fsp = 0; fsp <= 6; ++fsp) {
    SCOPED_TRACE("fsp " + std::to_string(fsp));
    expect_layout(ct::Timestamp2, fsp, fixed(4 + frac[fsp]));
    expect_layout(ct::DateTime2, fsp, fixed(5 + frac[fsp]));
    expect_layout(ct::Time2, fsp, fixed(3 + frac[fsp]));
  }
}

TEST(ColumnLayout, VarcharPrefixIsOneByteUpTo255BytesThenTwo) {
  for (uint16_t max_bytes : {1, 10, 64, 255}) {
    expect_layout(ct::VarChar, max_bytes, prefixed(1));
    expect_layout(ct::VarString, max_bytes, prefixed(1));
    expect_layout(ct::MariadbVarcharCompressed, max_bytes, prefixed(1));
  }
  for (uint16_t max_bytes : {256, 400, 1200, 16383, 65532, 65535}) {
    expect_layout(ct::VarChar, max_bytes, prefixed(2));
    expect_layout(ct::VarString, max_bytes, prefixed(2));
    expect_layout(ct::MariadbVarcharCompressed, max_bytes, prefixed(2));
  }
}

TEST(ColumnLayout, BlobFamilyUsesThePackLengthFromMetadata) {
  for (uint8_t type : {ct::Blob, ct::TinyBlob, ct::MediumBlob, ct::LongBlob, ct::Geometry,
                       ct::Vector, ct::MariadbBlobCompressed}) {
    for (uint8_t p = 1; p <= 4; ++p) expect_layout(type, p, prefixed(p));
    expect_layout(type, 0, unsupported_layout());
    expect_layout(type, 5, unsupported_layout());
    expect_layout(type, 255, unsupported_layout());
  }
  expect_layout(ct::Json, 4, prefixed(4, true));
  expect_layout(ct::Json, 2, prefixed(2, true));
  EXPECT_EQ(column_layout(ct::Json, 0).layout, ValueLayout::Unsupported);
}

// BIT(M): metadata byte 0 = M % 8, byte 1 = M / 8 (Field_bit::do_save_field_metadata).
TEST(ColumnLayout, Bit) {
  for (uint32_t m = 1; m <= 64; ++m) {
    expect_layout(ct::Bit, meta2(static_cast<uint8_t>(m % 8), static_cast<uint8_t>(m / 8)),
                  fixed((m + 7) / 8));
  }
}

// decimal_bin_size: 4 bytes per 9 digits, leftovers 0,1,1,2,2,3,3,4,4,4 bytes for 0..8 digits,
// integer and fraction parts separately (MySQL strings/decimal.cc, documented in the MySQL
// manual's "Precision Math: DECIMAL Data Type Characteristics").
TEST(Decimal, BinSizeKnownValues) {
  struct Case {
    uint32_t precision, scale, bytes;
  };
  for (const Case& c : std::initializer_list<Case>{
           {1, 0, 1},   {2, 0, 1},   {3, 0, 2},   {4, 0, 2},    {5, 0, 3},   {6, 0, 3},
           {7, 0, 4},   {8, 0, 4},   {9, 0, 4},   {10, 0, 5},   {18, 0, 8},  {19, 0, 9},
           {18, 9, 8},  // manual: DECIMAL(18,9) uses 4 + 4 bytes
           {20, 6, 10},  // manual: 14 integer digits = 4 + 3, 6 fraction digits = 3
           {4, 2, 2},   {5, 0, 3},   {7, 3, 4},   {10, 2, 5},   {10, 3, 6},  {13, 2, 6},
           {15, 14, 8}, {20, 10, 10}, {30, 5, 15}, {30, 20, 14}, {30, 25, 15},
           {10, 4, 5},  {12, 3, 6},  {13, 2, 6},  {10, 1, 5},   {12, 1, 6},
           {38, 0, 17}, {65, 0, 29}, {65, 30, 30}, {9, 9, 4},   {1, 1, 1},   {10, 10, 5},
       }) {
    EXPECT_EQ(decimal_bin_size(c.precision, c.scale), c.bytes)
        << "DECIMAL(" << c.precision << "," << c.scale << ")";
    // Table maps carry precision in byte 0 and scale in byte 1.
    expect_layout(ct::NewDecimal, meta2(static_cast<uint8_t>(c.precision), static_cast<uint8_t>(c.scale)),
                  fixed(c.bytes));
  }
  EXPECT_EQ(decimal_bin_size(2, 3), 0u);  // scale above precision: invalid
  expect_layout(ct::NewDecimal, meta2(2, 3), unsupported_layout());
  expect_layout(ct::NewDecimal, meta2(0, 0), unsupported_layout());
  expect_layout(ct::Decimal, 0, unsupported_layout());  // pre-5.0 DECIMAL: no binary format
}

// CHAR(N) is logged as MYSQL_TYPE_STRING with the real type and the byte length folded into its
// two metadata bytes; lengths above 255 need bits 8-9 from byte 0 (MySQL bug #37426).
TEST(ColumnLayout, StringLengthFolding) {
  for (uint32_t len = 0; len < 1024; ++len) {
    SCOPED_TRACE("CHAR of " + std::to_string(len) + " bytes");
    expect_layout(ct::String, string_meta(ct::String, len), prefixed(len > 255 ? 2 : 1));
  }
  // Known bytes from real servers: CHAR(128) utf8mb4 (512 bytes) is de 00, CHAR(255) utf8mb4
  // (1020 bytes) is ce fc, CHAR(10) latin1 is fe 0a.
  expect_layout(ct::String, meta2(0xde, 0x00), prefixed(2));
  expect_layout(ct::String, meta2(0xce, 0xfc), prefixed(2));
  expect_layout(ct::String, meta2(0xfe, 0x0a), prefixed(1));
  EXPECT_EQ(string_meta(ct::String, 512), meta2(0xde, 0x00));
  EXPECT_EQ(string_meta(ct::String, 1020), meta2(0xce, 0xfc));
}

// ENUM and SET are logged as MYSQL_TYPE_STRING with the real type in byte 0 and the pack length
// (ENUM 1-2, SET 1-4 or 8) in byte 1; the value is that many bytes, no length prefix.
TEST(ColumnLayout, EnumAndSetInsideString) {
  for (uint8_t n : {1, 2}) expect_layout(ct::String, meta2(ct::Enum, n), fixed(n));
  for (uint8_t n : {1, 2, 3, 4, 8}) expect_layout(ct::String, meta2(ct::Set, n), fixed(n));
  // As their own type codes (never logged by MySQL, accepted the same way).
  expect_layout(ct::Enum, meta2(ct::Enum, 2), fixed(2));
  expect_layout(ct::Set, meta2(ct::Set, 8), fixed(8));
}

TEST(ColumnLayout, UnknownTypesAreUnsupportedNotGuessed) {
  for (uint8_t type : {uint8_t{21}, uint8_t{100}, uint8_t{139}, uint8_t{142}, uint8_t{200},
                       ct::Invalid, ct::Bool, ct::TypedArray}) {
    EXPECT_EQ(column_layout(type, 0).layout, ValueLayout::Unsupported) << int(type);
  }
}

// ---------------------------------------------------------------------------------------------
// parse_table_map

struct Column {
  uint8_t type;
  std::vector<uint8_t> meta;
};

Buf table_map_body(uint64_t id, std::string_view schema, std::string_view table,
                   const std::vector<Column>& cols, const Buf& optional = {},
                   int table_id_bytes = 6) {
  Buf b;
  b.le(id, table_id_bytes).le(1, 2);
  b.u8(schema.size()).str(schema).u8(0).u8(table.size()).str(table).u8(0);
  b.packed(cols.size());
  for (const auto& c : cols) b.u8(c.type);
  Buf meta;
  for (const auto& c : cols) {
    for (uint8_t m : c.meta) meta.u8(m);
  }
  b.packed(meta.size()).raw(meta);
  Buf nulls;
  for (size_t i = 0; i < (cols.size() + 7) / 8; ++i) nulls.u8(0);
  for (size_t i = 0; i < cols.size(); i += 2) nulls.b[i / 8] |= std::byte{1} << (i % 8);
  b.raw(nulls).raw(optional);
  return b;
}

const std::vector<Column>& every_type() {
  static const std::vector<Column> cols = {
      {ct::Tiny, {}},
      {ct::Short, {}},
      {ct::Int24, {}},
      {ct::Long, {}},
      {ct::LongLong, {}},
      {ct::Float, {4}},
      {ct::Double, {8}},
      {ct::NewDecimal, {10, 4}},
      {ct::Year, {}},
      {ct::Date, {}},
      {ct::Time2, {3}},
      {ct::DateTime2, {6}},
      {ct::Timestamp2, {0}},
      {ct::VarChar, {40, 0}},
      {ct::VarChar, {0x90, 0x01}},  // 400 bytes: 2-byte prefix
      {ct::String, {0xfe, 10}},
      {ct::String, {0xde, 0x00}},
      {ct::String, {ct::Enum, 1}},
      {ct::String, {ct::Set, 2}},
      {ct::Bit, {3, 1}},
      {ct::Blob, {2}},
      {ct::Blob, {4}},
      {ct::Json, {4}},
      {ct::Geometry, {4}},
      {ct::Json, {4}},
      {ct::Null, {}},
      {ct::Timestamp, {}},
      {ct::DateTime, {}},
  };
  return cols;
}

TEST(TableMap, EveryColumnType) {
  const auto& cols = every_type();
  const auto body = table_map_body(0x0000ab12345678, "shop", "orders", cols);
  auto m = parse_table_map(FormatDescription{}, body);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->table_id, 0xab12345678u);
  EXPECT_EQ(m->flags, 1);
  EXPECT_EQ(m->schema, "shop");
  EXPECT_EQ(m->table, "orders");
  ASSERT_EQ(m->column_count(), cols.size());
  ASSERT_EQ(m->metadata.size(), cols.size());
  ASSERT_EQ(m->layouts.size(), cols.size());
  for (size_t i = 0; i < cols.size(); ++i) {
    SCOPED_TRACE("column " + std::to_string(i + 1));
    EXPECT_EQ(m->types[i], cols[i].type);
    uint16_t meta = 0;
    for (size_t k = 0; k < cols[i].meta.size(); ++k) meta |= cols[i].meta[k] << (8 * k);
    EXPECT_EQ(m->metadata[i], meta);
    expect_layout(cols[i].type, meta, m->layouts[i]);
  }
  EXPECT_EQ(m->json_columns, 2u);
  ASSERT_EQ(m->nullable.size(), (cols.size() + 7) / 8);
  EXPECT_EQ(m->nullable[0], 0x55);
  EXPECT_TRUE(m->column_names.empty());
  // Spot checks of the resolved layouts.
  EXPECT_EQ(m->layouts[7].fixed, 5u);    // DECIMAL(10,4)
  EXPECT_EQ(m->layouts[10].fixed, 5u);   // TIME(3)
  EXPECT_EQ(m->layouts[11].fixed, 8u);   // DATETIME(6)
  EXPECT_EQ(m->layouts[13].prefix, 1);   // VARCHAR(40 bytes)
  EXPECT_EQ(m->layouts[14].prefix, 2);   // VARCHAR(400 bytes)
  EXPECT_EQ(m->layouts[16].prefix, 2);   // CHAR of 512 bytes
  EXPECT_EQ(m->layouts[17].fixed, 1u);   // ENUM
  EXPECT_EQ(m->layouts[18].fixed, 2u);   // SET
  EXPECT_EQ(m->layouts[19].fixed, 2u);   // BIT(11)
}

TEST(TableMap, FourByteTableIdWhenPostHeaderIsSix) {
  FormatDescription old;
  old.post_header_len.assign(19, 6);
  const auto body = table_map_body(0x01020304, "a", "b", {{ct::Long, {}}}, {}, 4);
  auto m = parse_table_map(old, body);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->table_id, 0x01020304u);
  EXPECT_EQ(m->table, "b");
}

TEST(TableMap, LongerPostHeaderIsSkipped) {
  FormatDescription f;
  f.post_header_len.assign(19, 8);
  f.post_header_len[18] = 10;  // a future server adding 2 post-header bytes
  Buf b;
  b.le(5, 6).le(0, 2).le(0xffff, 2);
  b.u8(1).str("s").u8(0).u8(1).str("t").u8(0).packed(1).u8(ct::Long).packed(0).u8(0);
  auto m = parse_table_map(f, b);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->schema, "s");
}

TEST(TableMap, OptionalMetadataColumnNames) {
  const std::vector<Column> cols = {{ct::Long, {}}, {ct::VarChar, {40, 0}}, {ct::Blob, {2}}};
  Buf opt;
  opt.u8(1).packed(1).u8(0x80);                    // SIGNEDNESS
  opt.u8(2).packed(1).u8(45);                      // DEFAULT_CHARSET
  Buf names;
  names.packed(2).str("id").packed(5).str("title").packed(4).str("body");
  opt.u8(4).packed(names.size()).raw(names);       // COLUMN_NAME
  opt.u8(8).packed(1).u8(0);                       // SIMPLE_PRIMARY_KEY
  opt.u8(99).packed(3).u8(1).u8(2).u8(3);          // unknown: skipped by length
  auto m = parse_table_map(FormatDescription{}, table_map_body(1, "s", "t", cols, opt));
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->column_names, (std::vector<std::string>{"id", "title", "body"}));

  // Names that do not match the column count are not used.
  Buf two;
  two.packed(2).str("id").packed(5).str("title");
  Buf opt2;
  opt2.u8(4).packed(two.size()).raw(two);
  auto m2 = parse_table_map(FormatDescription{}, table_map_body(1, "s", "t", cols, opt2));
  ASSERT_TRUE(m2.ok()) << m2.error().detail;
  EXPECT_TRUE(m2->column_names.empty());

  // A TLV whose length runs past the event is malformed.
  Buf broken;
  broken.u8(4).packed(100).str("id");
  auto m3 = parse_table_map(FormatDescription{}, table_map_body(1, "s", "t", cols, broken));
  ASSERT_FALSE(m3.ok());
  EXPECT_EQ(m3.error().kind, ErrorKind::Malformed);
  // A name whose length runs past its TLV.
  Buf bad_name;
  bad_name.packed(50).str("id");
  Buf opt4;
  opt4.u8(4).packed(bad_name.size()).raw(bad_name);
  EXPECT_FALSE(parse_table_map(FormatDescription{}, table_map_body(1, "s", "t", cols, opt4)).ok());
}

TEST(TableMap, MetadataBlockMustMatchTheColumns) {
  // Too short: DECIMAL needs 2 bytes, only 1 given.
  Buf b;
  b.le(1, 6).le(0, 2).u8(1).str("s").u8(0).u8(1).str("t").u8(0);
  b.packed(2).u8(ct::Long).u8(ct::NewDecimal).packed(1).u8(10).u8(0);
  auto m = parse_table_map(FormatDescription{}, b);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Malformed);
  // Too long: bytes nobody reads mean the types and metadata disagree.
  Buf c;
  c.le(1, 6).le(0, 2).u8(1).str("s").u8(0).u8(1).str("t").u8(0);
  c.packed(1).u8(ct::Long).packed(2).u8(1).u8(2).u8(0);
  auto n = parse_table_map(FormatDescription{}, c);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().kind, ErrorKind::Malformed);
}

TEST(TableMap, TypedArrayMetadataCarriesTheElementType) {
  Buf b;
  b.le(1, 6).le(0, 2).u8(1).str("s").u8(0).u8(1).str("t").u8(0);
  b.packed(2).u8(ct::TypedArray).u8(ct::Long);
  b.packed(3).u8(ct::VarChar).u8(40).u8(0);  // typed array of VARCHAR(40): element type + 2 bytes
  b.u8(0);
  auto m = parse_table_map(FormatDescription{}, b);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->layouts[1].fixed, 4u);
}

TEST(TableMap, CountBombIsRefusedBeforeAllocating) {
  Buf b;
  b.le(1, 6).le(0, 2).u8(1).str("s").u8(0).u8(1).str("t").u8(0);
  b.packed(uint64_t{1} << 60).u8(ct::Long);
  auto m = parse_table_map(FormatDescription{}, b);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Malformed);
  Buf c;
  c.le(1, 6).le(0, 2).u8(1).str("s").u8(0).u8(1).str("t").u8(0);
  c.packed(3).u8(ct::Long).u8(ct::Long).u8(ct::Long).packed(uint64_t{1} << 40);
  EXPECT_FALSE(parse_table_map(FormatDescription{}, c).ok());
}

TEST(TableMap, EveryTruncationIsMalformed) {
  const auto body = table_map_body(77, "schema", "table", every_type());
  ASSERT_TRUE(parse_table_map(FormatDescription{}, body).ok());
  for (size_t n = 0; n < body.size(); ++n) {
    auto m = parse_table_map(FormatDescription{}, Bytes(body).first(n));
    ASSERT_FALSE(m.ok()) << n;
    EXPECT_EQ(m.error().kind, ErrorKind::Malformed) << n;
    EXPECT_FALSE(m.error().detail.empty());
  }
}

TEST(TableMap, ZeroColumnsAndEmptyNames) {
  Buf b;
  b.le(3, 6).le(0, 2).u8(0).u8(0).u8(0).u8(0).packed(0).packed(0);
  auto m = parse_table_map(FormatDescription{}, b);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->column_count(), 0u);
  EXPECT_EQ(m->schema, "");
  EXPECT_TRUE(m->nullable.empty());
}

// ---------------------------------------------------------------------------------------------
// Real table maps

std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

// The table maps of a whole binlog, by a plain header walk (the scanner is tested elsewhere).
std::vector<TableMap> table_maps_of(const std::filesystem::path& p) {
  const auto data = read_file(p);
  std::vector<TableMap> maps;
  FormatDescription fde;
  bool crc = false;
  size_t pos = 4;
  while (pos + kHeaderLen <= data.size()) {
    auto h = parse_event_header(Bytes(data).subspan(pos));
    if (!h || pos + h->event_size > data.size()) break;
    auto raw = frame_event(Bytes(data).subspan(pos), crc);
    EXPECT_TRUE(raw.ok()) << "offset " << pos;
    if (!raw) break;
    if (h->type == 15) {
      auto f = parse_format_description(*h, raw->event);
      EXPECT_TRUE(f.ok());
      if (!f) break;
      fde = *f;
      crc = fde.event_checksums();
    } else if (h->type == 19) {
      auto m = parse_table_map(fde, raw->body);
      EXPECT_TRUE(m.ok()) << "offset " << pos << ": " << m.error().detail;
      if (m) maps.push_back(std::move(*m));
    }
    pos += h->event_size;
  }
  return maps;
}

class RealTableMaps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(m_root)) {
      GTEST_SKIP() << "shared fixtures folder " << m_root
                   << " absent (set -DBINWATCH_SHARED_FIXTURES=...)";
    }
  }
  std::filesystem::path m_root = BINWATCH_SHARED_FIXTURES;
};

// mysql-enum-string-set.000001 (8.0.28): CHAR(128) utf8mb4, VARCHAR(300) utf8mb4, ENUM, SET, BLOB.
TEST_F(RealTableMaps, EnumStringSetQuirks) {
  const auto maps = table_maps_of(m_root / "rust_mysql_common/test-data/binlogs/mysql-enum-string-set.000001");
  ASSERT_FALSE(maps.empty());
  const TableMap& m = maps.front();
  EXPECT_EQ(m.schema, "mysql");
  EXPECT_EQ(m.table, "t");
  ASSERT_EQ(m.types, (std::vector<uint8_t>{ct::String, ct::VarChar, ct::String, ct::String, ct::Blob}));
  EXPECT_EQ(m.metadata[0], meta2(0xde, 0x00));
  EXPECT_EQ(m.metadata[1], 1200);
  EXPECT_EQ(m.metadata[2], meta2(ct::Enum, 1));
  EXPECT_EQ(m.metadata[3], meta2(ct::Set, 1));
  EXPECT_EQ(m.metadata[4], 2);
  EXPECT_EQ(m.layouts[0].prefix, 2);  // 512 bytes: bits 8-9 folded into byte 0
  EXPECT_EQ(m.layouts[1].prefix, 2);
  EXPECT_EQ(m.layouts[2].layout, ValueLayout::Fixed);
  EXPECT_EQ(m.layouts[2].fixed, 1u);
  EXPECT_EQ(m.layouts[3].fixed, 1u);
  EXPECT_EQ(m.layouts[4].prefix, 2);
  // FULL row metadata: the column names come with it.
  EXPECT_EQ(m.column_names, (std::vector<std::string>{"f1", "f2", "f3", "f4", "f5"}));
}

// tcb-eval002c-bin.003320 (Percona 5.6.16): DECIMAL columns of go-mysql's ddsql.sql.
TEST_F(RealTableMaps, DecimalPrecisionsFromDdsql) {
  const auto maps = table_maps_of(m_root / "go-mysql/replication/t/tcb-eval002c-bin.003320");
  ASSERT_EQ(maps.size(), 1u);
  const TableMap& m = maps.front();
  EXPECT_EQ(m.table, "decodedecimal");
  ASSERT_EQ(m.column_count(), 14u);
  // id int, v4_2, v5_0, v7_3, v10_2, v10_3, v13_2, v15_14, v20_10, v30_5, v30_20, v30_25, prec, scale
  const uint32_t ps[11][2] = {{4, 2},  {5, 0},   {7, 3},   {10, 2}, {10, 3}, {13, 2},
                              {15, 14}, {20, 10}, {30, 5}, {30, 20}, {30, 25}};
  for (size_t i = 0; i < 11; ++i) {
    SCOPED_TRACE("column " + std::to_string(i + 2));
    EXPECT_EQ(m.types[i + 1], ct::NewDecimal);
    EXPECT_EQ(m.metadata[i + 1], meta2(static_cast<uint8_t>(ps[i][0]), static_cast<uint8_t>(ps[i][1])));
    EXPECT_EQ(m.layouts[i + 1].fixed, decimal_bin_size(ps[i][0], ps[i][1]));
  }
}

// 5.7 31_update_rows_v2: VARCHAR(100)/VARCHAR(40) utf8mb4, TEXT/MEDIUMTEXT/LONGTEXT, FLOAT,
// DOUBLE, DECIMAL(10,4) (its sql.sql).
TEST_F(RealTableMaps, Mysql57VarcharAndBlobPrefixes) {
  const auto maps = table_maps_of(m_root / "mysql-cdc-rs/tests/events/5.7/31_update_rows_v2/log.bin");
  ASSERT_EQ(maps.size(), 1u);
  const TableMap& m = maps.front();
  ASSERT_EQ(m.column_count(), 9u);
  EXPECT_EQ(m.layouts[0].fixed, 4u);   // INT UNSIGNED
  EXPECT_EQ(m.metadata[1], 400);       // VARCHAR(100) utf8mb4
  EXPECT_EQ(m.layouts[1].prefix, 2);
  EXPECT_EQ(m.metadata[2], 160);       // VARCHAR(40) utf8mb4
  EXPECT_EQ(m.layouts[2].prefix, 1);
  EXPECT_EQ(m.layouts[3].prefix, 2);   // TEXT
  EXPECT_EQ(m.layouts[4].prefix, 3);   // MEDIUMTEXT
  EXPECT_EQ(m.layouts[5].prefix, 4);   // LONGTEXT
  EXPECT_EQ(m.layouts[6].fixed, 4u);   // FLOAT
  EXPECT_EQ(m.layouts[7].fixed, 8u);   // DOUBLE
  EXPECT_EQ(m.layouts[8].fixed, 5u);   // DECIMAL(10,4)
}

// vector.binlog (9.0.1): VECTOR columns carry a 4-byte length prefix.
TEST_F(RealTableMaps, VectorColumns) {
  const auto maps = table_maps_of(m_root / "rust_mysql_common/test-data/binlogs/vector.binlog");
  ASSERT_FALSE(maps.empty());
  bool saw_vector = false;
  for (const auto& m : maps) {
    for (size_t i = 0; i < m.column_count(); ++i) {
      if (m.types[i] != ct::Vector) continue;
      saw_vector = true;
      EXPECT_EQ(m.layouts[i].layout, ValueLayout::LengthPrefix);
      EXPECT_EQ(m.layouts[i].prefix, 4);
    }
  }
  EXPECT_TRUE(saw_vector);
}

}  // namespace
}  // namespace binwatch::binlog
