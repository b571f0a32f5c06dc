#pragma once
// Located errors of the /proc text parsers. A parser returns its struct or one of these (line and
// column are 1-based, in the text it was given; the caller adds the file name), never a half-filled
// struct and never an exception. Missing or extra fields are not errors: kernels differ.
#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace binwatch::procfs {

struct ParseError {
  size_t line = 0;
  size_t column = 0;
  std::string detail;
};

std::string to_string(const ParseError& e);

template <typename T>
class ParseResult {
 public:
  ParseResult(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  ParseResult(ParseError error) : m_v(std::in_place_index<1>, std::move(error)) {}
  [[nodiscard]] bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(m_v); }
  const T& value() const { return std::get<0>(m_v); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const ParseError& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, ParseError> m_v;
};

}  // namespace binwatch::procfs
