// ByteCursor (include/binwatch/byte_cursor.h): every read checks what is left, fails without moving
// the cursor past the end, and decodes little-endian, big-endian and packed integers exactly.
#include "binwatch/byte_cursor.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace binwatch {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(ByteCursor, EmptyCursorReportsNothingLeft) {
  ByteCursor c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.remaining(), 0u);
  EXPECT_EQ(c.offset(), 0u);
  EXPECT_TRUE(c.rest().empty());
  uint8_t v = 7;
  EXPECT_FALSE(c.u8(v));
  EXPECT_EQ(v, 7);  // untouched on failure
}

TEST(ByteCursor, LittleEndianWidths) {
  const auto data = bytes_of({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
  {
    ByteCursor c(data);
    uint8_t v = 0;
    ASSERT_TRUE(c.u8(v));
    EXPECT_EQ(v, 0x01);
    EXPECT_EQ(c.offset(), 1u);
    EXPECT_EQ(c.remaining(), 7u);
  }
  {
    ByteCursor c(data);
    uint16_t v = 0;
    ASSERT_TRUE(c.u16le(v));
    EXPECT_EQ(v, 0x0201);
  }
  {
    ByteCursor c(data);
    uint32_t v = 0;
    ASSERT_TRUE(c.u24le(v));
    EXPECT_EQ(v, 0x030201u);
  }
  {
    ByteCursor c(data);
    uint32_t v = 0;
    ASSERT_TRUE(c.u32le(v));
    EXPECT_EQ(v, 0x04030201u);
  }
  {
    ByteCursor c(data);
    uint64_t v = 0;
    ASSERT_TRUE(c.u48le(v));
    EXPECT_EQ(v, 0x060504030201ull);
  }
  {
    ByteCursor c(data);
    uint64_t v = 0;
    ASSERT_TRUE(c.u64le(v));
    EXPECT_EQ(v, 0x0807060504030201ull);
    EXPECT_TRUE(c.empty());
  }
}

TEST(ByteCursor, HighBitsAreNotSignExtended) {
  const auto data = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  ByteCursor c(data);
  uint32_t v24 = 0;
  ASSERT_TRUE(c.u24le(v24));
  EXPECT_EQ(v24, 0xffffffu);
  ByteCursor d(data);
  uint64_t v48 = 0;
  ASSERT_TRUE(d.u48le(v48));
  EXPECT_EQ(v48, 0xffffffffffffull);
  ByteCursor e(data);
  uint64_t v64 = 0;
  ASSERT_TRUE(e.u64le(v64));
  EXPECT_EQ(v64, ~uint64_t{0});
}

TEST(ByteCursor, UintLeAndBeOfEveryWidth) {
  const auto data = bytes_of({0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99});
  for (size_t n = 0; n <= 8; ++n) {
    SCOPED_TRACE("width " + std::to_string(n));
    uint64_t le_expected = 0, be_expected = 0;
    for (size_t i = 0; i < n; ++i) {
      le_expected |= uint64_t{std::to_integer<uint8_t>(data[i])} << (8 * i);
      be_expected = (be_expected << 8) | std::to_integer<uint8_t>(data[i]);
    }
    ByteCursor a(data);
    uint64_t v = 1234;
    ASSERT_TRUE(a.uint_le(n, v));
    EXPECT_EQ(v, le_expected);
    EXPECT_EQ(a.offset(), n);
    ByteCursor b(data);
    ASSERT_TRUE(b.uint_be(n, v));
    EXPECT_EQ(v, be_expected);
    EXPECT_EQ(b.offset(), n);
  }
  ByteCursor c(data);
  uint64_t v = 5;
  EXPECT_FALSE(c.uint_le(9, v));  // wider than a u64: refused, not truncated
  EXPECT_FALSE(c.uint_be(9, v));
  EXPECT_EQ(c.offset(), 0u);
  EXPECT_EQ(v, 5u);
}

// Every fixed-width read, at every length short of what it needs, fails and leaves the cursor
// where it was, so a caller can report the exact offset.
TEST(ByteCursor, EveryReadFailsCleanlyAtTheEnd) {
  struct Read {
    const char* name;
    size_t need;
    std::function<bool(ByteCursor&)> fn;
  };
  const std::vector<Read> reads = {
      {"u8", 1, [](ByteCursor& c) { uint8_t v = 0; return c.u8(v); }},
      {"u16le", 2, [](ByteCursor& c) { uint16_t v = 0; return c.u16le(v); }},
      {"u24le", 3, [](ByteCursor& c) { uint32_t v = 0; return c.u24le(v); }},
      {"u32le", 4, [](ByteCursor& c) { uint32_t v = 0; return c.u32le(v); }},
      {"u48le", 6, [](ByteCursor& c) { uint64_t v = 0; return c.u48le(v); }},
      {"u64le", 8, [](ByteCursor& c) { uint64_t v = 0; return c.u64le(v); }},
      {"uint_le(5)", 5, [](ByteCursor& c) { uint64_t v = 0; return c.uint_le(5, v); }},
      {"uint_be(7)", 7, [](ByteCursor& c) { uint64_t v = 0; return c.uint_be(7, v); }},
      {"bytes(10)", 10, [](ByteCursor& c) { Bytes b; return c.bytes(10, b); }},
      {"text(3)", 3, [](ByteCursor& c) { std::string_view s; return c.text(3, s); }},
      {"skip(4)", 4, [](ByteCursor& c) { return c.skip(4); }},
      {"sub(5)", 5, [](ByteCursor& c) { ByteCursor s; return c.sub(5, s); }},
  };
  const std::vector<std::byte> data(16, std::byte{0xab});
  for (const auto& r : reads) {
    for (size_t have = 0; have <= r.need; ++have) {
      SCOPED_TRACE(std::string(r.name) + " with " + std::to_string(have) + " bytes");
      // Put the short tail after a prefix, so the check is against what is left, not the size.
      const size_t prefix = 3;
      ByteCursor c(Bytes(data).first(prefix + have));
      ASSERT_TRUE(c.skip(prefix));
      const bool ok = r.fn(c);
      EXPECT_EQ(ok, have >= r.need);
      EXPECT_EQ(c.offset(), ok ? prefix + r.need : prefix);
      EXPECT_EQ(c.remaining(), ok ? have - r.need : have);
    }
  }
}

TEST(ByteCursor, HugeLengthsDoNotWrap) {
  const std::vector<std::byte> data(8, std::byte{1});
  ByteCursor c(data);
  ASSERT_TRUE(c.skip(3));
  Bytes b;
  EXPECT_FALSE(c.bytes(SIZE_MAX, b));
  EXPECT_FALSE(c.bytes(SIZE_MAX - 2, b));
  EXPECT_FALSE(c.skip(SIZE_MAX));
  ByteCursor s;
  EXPECT_FALSE(c.sub(SIZE_MAX - 1, s));
  std::string_view t;
  EXPECT_FALSE(c.text(uint64_t{1} << 40, t));
  EXPECT_EQ(c.offset(), 3u);
  EXPECT_EQ(c.remaining(), 5u);
}

TEST(ByteCursor, BytesTextSkipAndRest) {
  const std::string text("schema\0table", 12);
  const std::string_view sv(text);
  ByteCursor c(as_bytes(sv));
  std::string_view s;
  ASSERT_TRUE(c.text(6, s));
  EXPECT_EQ(s, "schema");
  ASSERT_TRUE(c.skip(1));
  Bytes b;
  ASSERT_TRUE(c.bytes(2, b));
  EXPECT_EQ(as_string_view(b), "ta");
  EXPECT_EQ(as_string_view(c.rest()), "ble");
  ASSERT_TRUE(c.bytes(0, b));  // zero-length reads succeed even at the end
  EXPECT_TRUE(b.empty());
  ASSERT_TRUE(c.skip(3));
  EXPECT_TRUE(c.empty());
  EXPECT_TRUE(c.skip(0));
  EXPECT_TRUE(c.text(0, s));
  EXPECT_TRUE(s.empty());
}

TEST(ByteCursor, SubCursorIsBoundedAndAdvancesParent) {
  const auto data = bytes_of({1, 2, 3, 4, 5, 6});
  ByteCursor c(data);
  ByteCursor child;
  ASSERT_TRUE(c.sub(3, child));
  EXPECT_EQ(c.offset(), 3u);
  EXPECT_EQ(child.remaining(), 3u);
  uint32_t v = 0;
  EXPECT_FALSE(child.u32le(v));  // cannot see the parent's bytes past its end
  ASSERT_TRUE(child.u24le(v));
  EXPECT_EQ(v, 0x030201u);
  EXPECT_TRUE(child.empty());
  ASSERT_TRUE(c.u24le(v));
  EXPECT_EQ(v, 0x060504u);
}

// MySQL length-encoded integers (mysys/pack.cc net_field_length_ll).
TEST(ByteCursor, PackedIntegers) {
  struct Case {
    std::vector<std::byte> in;
    uint64_t value;
    size_t used;
  };
  const std::vector<Case> cases = {
      {bytes_of({0x00}), 0, 1},
      {bytes_of({0x01}), 1, 1},
      {bytes_of({0xfa}), 250, 1},
      {bytes_of({0xfc, 0xfb, 0x00}), 251, 3},
      {bytes_of({0xfc, 0x34, 0x12}), 0x1234, 3},
      {bytes_of({0xfc, 0xff, 0xff}), 0xffff, 3},
      {bytes_of({0xfd, 0x00, 0x00, 0x01}), 0x10000, 4},
      {bytes_of({0xfd, 0x56, 0x34, 0x12}), 0x123456, 4},
      {bytes_of({0xfe, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}), 0x0102030405060708ull, 9},
      {bytes_of({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), ~uint64_t{0}, 9},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE("first byte " + std::to_string(std::to_integer<int>(k.in[0])));
    ByteCursor c(k.in);
    uint64_t v = 0;
    ASSERT_TRUE(c.packed(v));
    EXPECT_EQ(v, k.value);
    EXPECT_EQ(c.offset(), k.used);
    // Every truncation of it fails and leaves the cursor at its start.
    for (size_t have = 0; have < k.in.size(); ++have) {
      ByteCursor t(Bytes(k.in).first(have));
      uint64_t w = 99;
      EXPECT_FALSE(t.packed(w)) << "with " << have << " bytes";
      // Only the first byte may have been consumed on a short multi-byte value; either way the
      // value must not be used, and the cursor never moves past what exists.
      EXPECT_LE(t.offset(), have);
    }
  }
}

TEST(ByteCursor, PackedNullMarkerAnd255AreInvalid) {
  for (int first : {0xfb, 0xff}) {
    SCOPED_TRACE(first);
    const auto data = bytes_of({first, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
    ByteCursor c(data);
    uint64_t v = 42;
    EXPECT_FALSE(c.packed(v));
    EXPECT_EQ(c.offset(), 0u);  // left where it was
    EXPECT_EQ(v, 42u);
  }
}

TEST(ByteCursor, PackedSequence) {
  // 3 values back to back: 5, 300, 70000.
  const auto data = bytes_of({0x05, 0xfc, 0x2c, 0x01, 0xfd, 0x70, 0x11, 0x01});
  ByteCursor c(data);
  uint64_t a = 0, b = 0, d = 0;
  ASSERT_TRUE(c.packed(a));
  ASSERT_TRUE(c.packed(b));
  ASSERT_TRUE(c.packed(d));
  EXPECT_EQ(a, 5u);
  EXPECT_EQ(b, 300u);
  EXPECT_EQ(d, 70000u);
  EXPECT_TRUE(c.empty());
}

TEST(ByteCursor, StringViewHelpersRoundTrip) {
  const std::string s = std::string("a\0b\xff", 4);
  const Bytes b = as_bytes(s);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(std::to_integer<int>(b[3]), 0xff);
  EXPECT_EQ(as_string_view(b), std::string_view(s));
}

}  // namespace
}  // namespace binwatch
