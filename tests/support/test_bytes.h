#pragma once
// Shared helpers for decoder tests: a little-endian byte builder for hand-made events, and file
// readers for fixtures. Header-only; test code only.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/binlog/event_header.h"
#include "binwatch/byte_cursor.h"

namespace binwatch::test {

struct ByteBuilder {
  std::vector<std::byte> b;
  ByteBuilder& u8(uint64_t v) { b.push_back(static_cast<std::byte>(v & 0xff)); return *this; }
  ByteBuilder& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) u8(v >> (8 * i));
    return *this;
  }
  ByteBuilder& u16(uint64_t v) { return le(v, 2); }
  ByteBuilder& u32(uint64_t v) { return le(v, 4); }
  ByteBuilder& u48(uint64_t v) { return le(v, 6); }
  ByteBuilder& u64(uint64_t v) { return le(v, 8); }
  ByteBuilder& packed(uint64_t v) {
    if (v < 251) return u8(v);
    if (v <= 0xffff) return u8(252).le(v, 2);
    if (v <= 0xffffff) return u8(253).le(v, 3);
    return u8(254).le(v, 8);
  }
  ByteBuilder& str(std::string_view s) {
    for (char c : s) u8(static_cast<unsigned char>(c));
    return *this;
  }
  ByteBuilder& zeros(size_t n) {
    b.resize(b.size() + n);
    return *this;
  }
  ByteBuilder& raw(Bytes s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  ByteBuilder& raw(const std::vector<std::byte>& s) { return raw(Bytes(s)); }
  ByteBuilder& raw(const ByteBuilder& o) { return raw(Bytes(o.b)); }
  [[nodiscard]] size_t size() const { return b.size(); }
  operator Bytes() const { return b; }
};

inline std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  if (!c.empty()) std::memcpy(out.data(), c.data(), c.size());
  return out;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Starts with the binlog magic fe 62 69 6e.
inline bool is_binlog(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  char m[4] = {};
  in.read(m, 4);
  return in.gcount() == 4 && std::memcmp(m, binlog::kMagic, 4) == 0;
}

// An event's place in its file.
struct EventSpan {
  uint64_t offset = 0, size = 0;
};

// Event offsets and sizes of a binlog's bytes, read from the 19-byte headers alone (event_size:
// u32 little-endian at 9): the tests' own reading, independent of the scanner. Stops at the first
// header that does not fit.
inline std::vector<EventSpan> walk_event_headers(std::string_view file) {
  std::vector<EventSpan> out;
  for (uint64_t off = 4; off + 19 <= file.size();) {
    const auto b = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(file[off + 9 + i])); };
    const uint64_t size = b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24;
    if (size < 19 || off + size > file.size()) break;
    out.push_back({off, size});
    off += size;
  }
  return out;
}

}  // namespace binwatch::test
