// walk_rows on hand-built rows events: NULL bitmaps over the present columns only, MINIMAL images,
// update before/after pairs with different column sets, PARTIAL_UPDATE_ROWS value options, per
// column byte sums, and located failures that leave the caller's sums untouched.
#include "binwatch/binlog/row_walker.h"

#include <gtest/gtest.h>

#include "support/test_bytes.h"

#include <string>
#include <vector>

#include "binwatch/binlog/event_type.h"

namespace binwatch::binlog {
namespace {

namespace ct = column_type;

using Buf = ::binwatch::test::ByteBuilder;

TableMap make_map(const std::vector<std::pair<uint8_t, uint16_t>>& cols) {
  TableMap m;
  m.table_id = 42;
  m.schema = "shop";
  m.table = "orders";
  for (const auto& [type, meta] : cols) {
    m.types.push_back(type);
    m.metadata.push_back(meta);
    m.layouts.push_back(column_layout(type, meta));
    if (m.layouts.back().is_json) ++m.json_columns;
  }
  m.nullable.assign((cols.size() + 7) / 8, 0xff);
  return m;
}

// A rows event over `rows` with the given present-column bitmaps (one byte per 8 columns).
struct Rows {
  RowsEvent ev;
  std::vector<std::byte> before, after, data;
};

Rows make_rows(uint8_t type, uint64_t width, std::vector<uint8_t> before, std::vector<uint8_t> after,
               const Buf& data) {
  Rows r;
  r.ev.info = rows_type_info(type);
  r.ev.table_id = 42;
  r.ev.width = width;
  for (uint8_t v : before) r.before.push_back(static_cast<std::byte>(v));
  for (uint8_t v : after) r.after.push_back(static_cast<std::byte>(v));
  r.data = data.b;
  return r;
}

// Fixes the spans after the Rows object has its final address.
const RowsEvent& ev(Rows& r) {
  r.ev.columns_before = r.before;
  r.ev.columns_after = r.after.empty() ? Bytes(r.before) : Bytes(r.after);
  r.ev.rows = r.data;
  return r.ev;
}

// id INT, name VARCHAR(40 bytes), body BLOB (2-byte prefix), price DECIMAL(10,2), ts DATETIME(6)
TableMap orders() {
  return make_map({{ct::Long, 0},
                   {ct::VarChar, 40},
                   {ct::Blob, 2},
                   {ct::NewDecimal, 10 | (2 << 8)},
                   {ct::DateTime2, 6}});
}

TEST(RowWalker, WriteRowsWithNulls) {
  const TableMap m = orders();
  Buf d;
  // Row 1: all present, no NULLs.
  d.u8(0x00).le(1, 4).u8(3).str("abc").le(5, 2).str("hello").zeros(5).zeros(8);
  // Row 2: name and body NULL (bits 1 and 2).
  d.u8(0x06).le(2, 4).zeros(5).zeros(8);
  // Row 3: everything NULL but the id.
  d.u8(0x1e).le(3, 4);
  Rows r = make_rows(30, 5, {0x1f}, {}, d);
  ColumnBytes cols;
  auto s = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 3u);
  EXPECT_EQ(s->images, 3u);
  EXPECT_EQ(s->image_bytes, d.size());
  ASSERT_EQ(cols.after.size(), 5u);
  EXPECT_EQ(cols.after[0], 12u);       // 3 x INT
  EXPECT_EQ(cols.after[1], 1u + 3);    // prefix + "abc"
  EXPECT_EQ(cols.after[2], 2u + 5);    // prefix + "hello"
  EXPECT_EQ(cols.after[3], 10u);       // 2 x DECIMAL(10,2) = 5 bytes
  EXPECT_EQ(cols.after[4], 16u);       // 2 x DATETIME(6) = 8 bytes
  EXPECT_EQ(cols.nulls, (std::vector<uint64_t>{0, 2, 2, 1, 1}));
  EXPECT_EQ(cols.before, (std::vector<uint64_t>(5, 0)));
  EXPECT_EQ(cols.image_overhead, 3u);  // one NULL-bitmap byte per image
  // Everything in the images is accounted for: values + bitmaps.
  uint64_t sum = cols.image_overhead;
  for (uint64_t v : cols.after) sum += v;
  EXPECT_EQ(sum, d.size());
  // Sums accumulate over events.
  auto again = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cols.after[0], 24u);
  EXPECT_EQ(cols.image_overhead, 6u);
  // Counting only.
  EXPECT_TRUE(walk_rows(m, ev(r), nullptr).ok());
}

// binlog_row_image=MINIMAL: only some columns are present; the NULL bitmap has one bit per present
// column, not per table column.
TEST(RowWalker, MinimalImageNullBitmapCoversPresentColumnsOnly) {
  const TableMap m = orders();
  Buf d;
  // Present: id (col 0) and price (col 3) -> NULL bitmap bit 0 = id, bit 1 = price.
  d.u8(0x00).le(7, 4).zeros(5);
  d.u8(0x02).le(8, 4);  // price NULL
  Rows r = make_rows(32, 5, {0x09}, {}, d);  // delete: before image
  ColumnBytes cols;
  auto s = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 2u);
  EXPECT_EQ(cols.before[0], 8u);
  EXPECT_EQ(cols.before[3], 5u);
  EXPECT_EQ(cols.before[1] + cols.before[2] + cols.before[4], 0u);
  EXPECT_EQ(cols.nulls[3], 1u);
  EXPECT_EQ(cols.after, (std::vector<uint64_t>(5, 0)));
}

TEST(RowWalker, NullBitmapOfMoreThanEightColumns) {
  std::vector<std::pair<uint8_t, uint16_t>> spec(11, {ct::Tiny, 0});
  const TableMap m = make_map(spec);
  Buf d;
  d.u8(0x00).u8(0x00).zeros(11);         // 2-byte NULL bitmap, 11 values
  d.u8(0xff).u8(0x07);                   // all NULL
  d.u8(0x00).u8(0x04).zeros(10);         // column 11 NULL
  Rows r = make_rows(23, 11, {0xff, 0x07}, {}, d);
  ColumnBytes cols;
  auto s = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 3u);
  EXPECT_EQ(cols.after[0], 2u);
  EXPECT_EQ(cols.after[10], 1u);
  EXPECT_EQ(cols.nulls[10], 2u);
  EXPECT_EQ(cols.image_overhead, 6u);
}

// UPDATE: before image over the before bitmap, after image over the after bitmap, per row.
TEST(RowWalker, UpdatePairsWithDifferentColumnSets) {
  const TableMap m = orders();
  Buf d;
  for (int row = 0; row < 4; ++row) {
    d.u8(0x00).le(row, 4);                        // before: id only (bitmap 0x01)
    d.u8(0x00).u8(2).str("xy").le(3, 2).str("abc");  // after: name, body (bitmap 0x06)
  }
  Rows r = make_rows(31, 5, {0x01}, {0x06}, d);
  ColumnBytes cols;
  auto s = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 4u);  // a before/after pair is one row
  EXPECT_EQ(s->images, 8u);
  EXPECT_EQ(cols.before[0], 16u);
  EXPECT_EQ(cols.after[0], 0u);
  EXPECT_EQ(cols.after[1], 4u * 3);
  EXPECT_EQ(cols.after[2], 4u * 5);
  EXPECT_EQ(cols.image_overhead, 8u);

  // v1 update (24) walks the same way.
  Rows r1 = make_rows(24, 5, {0x01}, {0x06}, d);
  auto s1 = walk_rows(m, ev(r1), nullptr);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1->rows, 4u);

  // A before image without its after image is a located error.
  Buf cut = d;
  cut.b.resize(d.size() - 9);
  Rows rc = make_rows(31, 5, {0x01}, {0x06}, cut);
  auto sc = walk_rows(m, ev(rc), nullptr);
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.error().detail.find("row 4"), std::string::npos) << sc.error().detail;
}

// PARTIAL_UPDATE_ROWS (39): the after image starts with value_options (packed); with bit 0 set a
// bitmap of one bit per JSON column of the table follows (MySQL rpl_record.cc).
TEST(RowWalker, PartialJsonAfterImages) {
  // id INT, doc JSON, note VARCHAR(10), doc2 JSON
  const TableMap m = make_map({{ct::Long, 0}, {ct::Json, 4}, {ct::VarChar, 10}, {ct::Json, 4}});
  ASSERT_EQ(m.json_columns, 2u);
  Buf d;
  // Row 1: before (all 4 columns), after with PARTIAL_JSON option and the JSON bitmap (1 byte).
  d.u8(0x00).le(1, 4).le(3, 4).str("{a}").u8(1).str("n").le(2, 4).str("{}");
  d.u8(0x01).u8(0x01).u8(0x00).le(1, 4).le(5, 4).str("diff1").u8(1).str("m").le(2, 4).str("[]");
  // Row 2: after without the option (plain image).
  d.u8(0x00).le(2, 4).le(2, 4).str("{}").u8(0).le(2, 4).str("{}");
  d.u8(0x00).u8(0x00).le(2, 4).le(2, 4).str("{}").u8(0).le(2, 4).str("{}");
  Rows r = make_rows(39, 4, {0x0f}, {0x0f}, d);
  ColumnBytes cols;
  auto s = walk_rows(m, ev(r), &cols);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 2u);
  EXPECT_EQ(s->images, 4u);
  // Overhead: 4 NULL bitmaps + (options + JSON bitmap) + (options).
  EXPECT_EQ(cols.image_overhead, 4u + 2 + 1);
  EXPECT_EQ(cols.after[1], 4u + 5 + 4 + 2);
  uint64_t sum = cols.image_overhead;
  for (size_t i = 0; i < 4; ++i) sum += cols.before[i] + cols.after[i];
  EXPECT_EQ(sum, d.size());

  // The same bytes as a plain UPDATE (31): the options byte is read as a NULL bitmap and the
  // images no longer line up (here it runs out of bytes); no crash, a located failure.
  Rows plain = make_rows(31, 4, {0x0f}, {0x0f}, d);
  EXPECT_FALSE(walk_rows(m, ev(plain), nullptr).ok());
  // A value_options byte with the partial bit but no room for the JSON bitmap.
  Buf cut;
  cut.u8(0x00).le(1, 4).le(2, 4).str("{}").u8(0).le(2, 4).str("{}");
  cut.u8(0x01);
  Rows rc = make_rows(39, 4, {0x0f}, {0x0f}, cut);
  auto sc = walk_rows(m, ev(rc), nullptr);
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().kind, ErrorKind::Malformed);
}

TEST(RowWalker, EmptyEventHasNoRows) {
  const TableMap m = orders();
  Rows r = make_rows(30, 5, {0x1f}, {}, Buf{});
  auto s = walk_rows(m, ev(r), nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rows, 0u);
  EXPECT_EQ(s->images, 0u);
}

TEST(RowWalker, FailuresAreLocatedAndAddNothing) {
  const TableMap m = orders();
  ColumnBytes cols;
  cols.resize(5);
  cols.after[0] = 100;
  const ColumnBytes saved = cols;
  auto expect_untouched = [&] {
    EXPECT_EQ(cols.after, saved.after);
    EXPECT_EQ(cols.before, saved.before);
    EXPECT_EQ(cols.nulls, saved.nulls);
    EXPECT_EQ(cols.image_overhead, saved.image_overhead);
  };
  {  // A value that runs past the event, in row 2.
    Buf d;
    d.u8(0x1e).le(1, 4);
    d.u8(0x1e).le(2, 2);
    Rows r = make_rows(30, 5, {0x1f}, {}, d);
    auto s = walk_rows(m, ev(r), &cols);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Malformed);
    EXPECT_NE(s.error().detail.find("shop.orders"), std::string::npos) << s.error().detail;
    EXPECT_NE(s.error().detail.find("row 2"), std::string::npos) << s.error().detail;
    EXPECT_NE(s.error().detail.find("column 1"), std::string::npos) << s.error().detail;
    expect_untouched();
  }
  {  // A length prefix past the end.
    Buf d;
    d.u8(0x1c).le(1, 4).u8(200).str("short");
    Rows r = make_rows(30, 5, {0x1f}, {}, d);
    auto s = walk_rows(m, ev(r), &cols);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().detail.find("column 2"), std::string::npos) << s.error().detail;
    expect_untouched();
  }
  {  // A 2-byte prefix cut in half.
    Buf d;
    d.u8(0x1a).le(1, 4).u8(0x05);
    Rows r = make_rows(30, 5, {0x1f}, {}, d);
    EXPECT_FALSE(walk_rows(m, ev(r), &cols).ok());
    expect_untouched();
  }
  {  // The NULL bitmap itself cut: 11 present columns need 2 bytes.
    std::vector<std::pair<uint8_t, uint16_t>> spec(11, {ct::Tiny, 0});
    const TableMap m11 = make_map(spec);
    Buf d;
    d.u8(0xff);
    Rows r = make_rows(30, 11, {0xff, 0x07}, {}, d);
    auto s = walk_rows(m11, ev(r), nullptr);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().detail.find("NULL bitmap"), std::string::npos) << s.error().detail;
  }
  {  // A present column the table map does not have.
    Buf d;
    d.u8(0x00).le(1, 4);
    Rows r = make_rows(30, 8, {0x21}, {}, d);  // bit 5: a 6th column of a 5-column table
    auto s = walk_rows(m, ev(r), &cols);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Malformed);
    expect_untouched();
  }
  {  // A column type whose size cannot be computed is Unsupported, not guessed.
    const TableMap odd = make_map({{ct::Long, 0}, {ct::Decimal, 0}});
    Buf d;
    d.u8(0x00).le(1, 4).zeros(4);
    Rows r = make_rows(30, 2, {0x03}, {}, d);
    auto s = walk_rows(odd, ev(r), nullptr);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Unsupported);
    // NULL values of such a column need no size: that row walks.
    Buf n;
    n.u8(0x02).le(1, 4);
    Rows rn = make_rows(30, 2, {0x03}, {}, n);
    EXPECT_TRUE(walk_rows(odd, ev(rn), nullptr).ok());
  }
}

// Found by the fuzzer (a mutated write-full-row.binlog): with no column present an image is 0
// bytes and the walk never advanced. Such events are malformed, not an endless loop.
TEST(RowWalker, NoPresentColumnIsMalformedNotAHang) {
  const TableMap m = orders();
  Buf d;
  d.u8(0).u8(0);
  for (uint8_t type : {30, 31, 32, 25}) {
    Rows r = make_rows(type, 5, {0x00}, {0x00}, d);
    auto s = walk_rows(m, ev(r), nullptr);
    ASSERT_FALSE(s.ok()) << int(type);
    EXPECT_EQ(s.error().kind, ErrorKind::Malformed);
  }
  Rows zero = make_rows(25, 0, {}, {}, d);  // width 0
  EXPECT_FALSE(walk_rows(m, ev(zero), nullptr).ok());
  // An update whose before image is empty still advances through its after images.
  Buf u;
  u.u8(0x00).le(7, 4).u8(0x00).le(8, 4);
  Rows r = make_rows(31, 5, {0x00}, {0x01}, u);
  auto s = walk_rows(m, ev(r), nullptr);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 2u);
}

// Width beyond the table map is tolerated while no present bit names a missing column.
TEST(RowWalker, WiderBitmapWithoutExtraColumnsPresent) {
  const TableMap m = make_map({{ct::Long, 0}});
  Buf d;
  d.u8(0x00).le(9, 4);
  Rows r = make_rows(30, 12, {0x01, 0x00}, {}, d);
  auto s = walk_rows(m, ev(r), nullptr);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->rows, 1u);
}

// Huge declared lengths never read past the event (4-byte prefix of LONGBLOB).
TEST(RowWalker, HugeLengthPrefixFailsCleanly) {
  const TableMap m = make_map({{ct::LongBlob, 4}});
  Buf d;
  d.u8(0x00).le(0xffffffff, 4).str("tiny");
  Rows r = make_rows(30, 1, {0x01}, {}, d);
  auto s = walk_rows(m, ev(r), nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::Malformed);
}

}  // namespace
}  // namespace binwatch::binlog
