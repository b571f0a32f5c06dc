#pragma once
// Line and field splitting shared by the /proc text parsers (internal to parsers/procfs).
#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

namespace binwatch::procfs::detail {

struct Line {
  size_t number = 0;  // 1-based
  std::string_view text;
};

inline std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  size_t n = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    lines.push_back({++n, line});
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

struct Field {
  size_t column = 0;  // 1-based
  std::string_view text;
};

inline std::vector<Field> split_fields(std::string_view line) {
  std::vector<Field> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    fields.push_back({start + 1, line.substr(start, i - start)});
  }
  return fields;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Signed decimal; values above INT64_MAX (a u64 counter past 2^63) saturate rather than fail.
inline bool to_int64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto r = std::from_chars(b, e, out);
  if (r.ec == std::errc() && r.ptr == e) return true;
  if (r.ec == std::errc::result_out_of_range && s.front() != '-') {
    uint64_t u = 0;
    auto ru = std::from_chars(b, e, u);
    if (ru.ptr != e) return false;
    out = INT64_MAX;
    return true;
  }
  return false;
}

inline bool hex_to_int64(std::string_view s, int64_t& out) {
  uint64_t u = 0;
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), u, 16);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  out = u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
  return true;
}

}  // namespace binwatch::procfs::detail
