#pragma once
// Located decoding errors. A decoder returns an event or one of these, never a half-valid object.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace binwatch::binlog {

enum class ErrorKind : uint8_t {
  Checksum,     // CRC32 of the event does not match its footer
  Truncated,    // the bytes end inside an event (torn tail, short read)
  Malformed,    // lengths or values inconsistent with the format
  Encrypted,    // MariaDB START_ENCRYPTION: the rest of the file is encrypted
  Unsupported,  // valid but not decodable by this build (e.g. an unknown column type)
};

std::string_view error_kind_name(ErrorKind kind);

struct DecodeError {
  ErrorKind kind = ErrorKind::Malformed;
  uint64_t offset = 0;  // absolute offset of the event in its file/stream (set by the caller)
  std::string detail;
};

// Minimal expected-like result (C++23 std::expected is not available with g++ 12 in C++20 mode).
template <typename T>
class Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(DecodeError error) : m_v(std::in_place_index<1>, std::move(error)) {}
  [[nodiscard]] bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(m_v); }
  const T& value() const { return std::get<0>(m_v); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  DecodeError& error() { return std::get<1>(m_v); }
  const DecodeError& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, DecodeError> m_v;
};

inline DecodeError malformed(std::string detail) { return {ErrorKind::Malformed, 0, std::move(detail)}; }
inline DecodeError truncated(std::string detail) { return {ErrorKind::Truncated, 0, std::move(detail)}; }
inline DecodeError unsupported(std::string detail) { return {ErrorKind::Unsupported, 0, std::move(detail)}; }

}  // namespace binwatch::binlog
