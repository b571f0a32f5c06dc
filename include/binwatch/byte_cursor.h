#pragma once
// Bounds-checked little-endian reader over a byte span. Every read checks the remaining length
// first and reports failure instead of reading past the end (STYLE.md "Decoding bytes").
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace binwatch {

using Bytes = std::span<const std::byte>;

inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class ByteCursor {
 public:
  ByteCursor() = default;
  explicit ByteCursor(Bytes data) : m_data(data) {}

  [[nodiscard]] size_t remaining() const { return m_data.size() - m_pos; }
  [[nodiscard]] size_t offset() const { return m_pos; }
  [[nodiscard]] bool empty() const { return m_pos == m_data.size(); }
  [[nodiscard]] Bytes rest() const { return m_data.subspan(m_pos); }

  [[nodiscard]] bool u8(uint8_t& v) { return le(v, 1); }
  [[nodiscard]] bool u16le(uint16_t& v) { return le(v, 2); }
  [[nodiscard]] bool u24le(uint32_t& v) { return le(v, 3); }
  [[nodiscard]] bool u32le(uint32_t& v) { return le(v, 4); }
  [[nodiscard]] bool u48le(uint64_t& v) { return le(v, 6); }
  [[nodiscard]] bool u64le(uint64_t& v) { return le(v, 8); }
  // Unsigned little-endian integer of n (0..8) bytes.
  [[nodiscard]] bool uint_le(size_t n, uint64_t& v) { return n <= 8 && le(v, n); }
  // Unsigned big-endian integer of n (0..8) bytes.
  [[nodiscard]] bool uint_be(size_t n, uint64_t& v) {
    if (n > 8 || remaining() < n) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | std::to_integer<uint64_t>(m_data[m_pos + i]);
    m_pos += n;
    return true;
  }

  // MySQL packed (length-encoded) integer: < 251 one byte; 252 + u16; 253 + u24; 254 + u64.
  // 251 (NULL marker) and 255 are invalid here.
  [[nodiscard]] bool packed(uint64_t& v) {
    const size_t start = m_pos;
    uint8_t first = 0;
    if (!u8(first)) return false;
    if (first < 251) { v = first; return true; }
    if (first == 252 && le(v, 2)) return true;
    if (first == 253 && le(v, 3)) return true;
    if (first == 254 && le(v, 8)) return true;
    m_pos = start;  // leave the cursor where it was on failure
    return false;
  }

  [[nodiscard]] bool bytes(size_t n, Bytes& out) {
    if (remaining() < n) return false;
    out = m_data.subspan(m_pos, n);
    m_pos += n;
    return true;
  }
  [[nodiscard]] bool text(size_t n, std::string_view& out) {
    Bytes b;
    if (!bytes(n, b)) return false;
    out = as_string_view(b);
    return true;
  }
  [[nodiscard]] bool skip(size_t n) {
    if (remaining() < n) return false;
    m_pos += n;
    return true;
  }
  // A child cursor over the next n bytes; this cursor moves past them.
  [[nodiscard]] bool sub(size_t n, ByteCursor& child) {
    Bytes b;
    if (!bytes(n, b)) return false;
    child = ByteCursor(b);
    return true;
  }

 private:
  template <typename T>
  bool le(T& v, size_t n) {
    if (remaining() < n) return false;
    uint64_t r = 0;
    for (size_t i = 0; i < n; ++i) r |= std::to_integer<uint64_t>(m_data[m_pos + i]) << (8 * i);
    v = static_cast<T>(r);
    m_pos += n;
    return true;
  }

  Bytes m_data;
  size_t m_pos = 0;
};

}  // namespace binwatch
