// Line and number alignment for `binwatch delta`; rules in include/binwatch/net/delta.h.
#include "binwatch/net/delta.h"

#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace binwatch::net {

namespace {

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::vector<NumberToken> find_numbers(std::string_view line) {
  std::vector<NumberToken> out;
  size_t i = 0;
  while (i < line.size()) {
    if (!is_digit(line[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    int dots = 0;
    size_t end = i;
    while (end < line.size() && (is_digit(line[end]) || line[end] == '.')) {
      if (line[end] == '.') ++dots;
      ++end;
    }
    // A trailing '.' ends a sentence, it is not part of the number.
    size_t num_end = end;
    if (line[num_end - 1] == '.') {
      --num_end;
      --dots;
    }
    const bool before_ok = start == 0 || (!is_word(line[start - 1]) && line[start - 1] != '.');
    const bool after_ok = end == line.size() || !is_word(line[end]);
    i = end;
    if (!before_ok || !after_ok || dots > 1) continue;
    if (start > 0 && line[start - 1] == '-' &&
        (start == 1 || line[start - 2] == ' ' || line[start - 2] == '\t' || line[start - 2] == '(' ||
         line[start - 2] == '|' || line[start - 2] == ':' || line[start - 2] == '=')) {
      --start;
    }
    NumberToken t;
    t.pos = start;
    t.len = num_end - start;
    const std::string text(line.substr(start, t.len));
    t.value = std::strtod(text.c_str(), nullptr);
    const size_t dot = text.find('.');
    t.decimals = dot == std::string::npos ? 0 : static_cast<int>(text.size() - dot - 1);
    out.push_back(t);
  }
  return out;
}

std::string line_shape(std::string_view line) {
  std::string shape;
  const auto nums = find_numbers(line);
  size_t next = 0;
  bool space = false;
  for (size_t i = 0; i < line.size();) {
    if (next < nums.size() && i == nums[next].pos) {
      if (space && !shape.empty()) shape += ' ';
      space = false;
      shape += '#';
      i += nums[next].len;
      ++next;
      continue;
    }
    const char c = line[i++];
    if (c == ' ' || c == '\t' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !shape.empty()) shape += ' ';
    space = false;
    shape += c;
  }
  return shape;
}

std::string format_rate(double r) {
  if (!std::isfinite(r)) return "?";
  const double a = std::fabs(r);
  std::string s;
  if (a >= 100) {
    s = fmt::format("{:.0f}", r);
  } else if (a >= 10) {
    s = fmt::format("{:.1f}", r);
  } else if (a >= 1) {
    s = fmt::format("{:.2f}", r);
  } else {
    s = fmt::format("{:.3f}", r);
  }
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string format_delta(double d, int decimals) {
  std::string s = fmt::format("{:.{}f}", d, decimals);
  if (s == "-0" || (s.starts_with("-0.") && s.find_first_not_of("-0.") == std::string::npos)) {
    s = s.substr(1);
  }
  return (d >= 0 && s[0] != '-') ? "+" + s : s;
}

}  // namespace

std::string annotate_delta(std::string_view previous, std::string_view current, double seconds,
                           const DeltaStyle& style) {
  // shape -> the previous lines of that shape, in order
  std::map<std::string, std::vector<std::string_view>> before;
  for (auto line : lines_of(previous)) before[line_shape(line)].push_back(line);
  std::map<std::string, size_t> used;

  std::string out;
  const auto cur_lines = lines_of(current);
  for (auto line : cur_lines) {
    const std::string shape = line_shape(line);
    auto it = before.find(shape);
    const size_t k = used[shape]++;
    if (it == before.end() || k >= it->second.size()) {
      out.append(line);
      out += '\n';
      continue;
    }
    const auto prev_nums = find_numbers(it->second[k]);
    const auto cur_nums = find_numbers(line);
    size_t copied = 0;
    for (size_t n = 0; n < cur_nums.size() && n < prev_nums.size(); ++n) {
      const auto& c = cur_nums[n];
      const double d = c.value - prev_nums[n].value;
      if (d == 0 && !style.show_unchanged) continue;
      out.append(line.substr(copied, c.pos + c.len - copied));
      copied = c.pos + c.len;
      out += " [";
      out += format_delta(d, std::max(c.decimals, prev_nums[n].decimals));
      if (style.show_rate && seconds > 0 && d != 0) {
        out += ' ';
        out += format_rate(d / seconds);
        out += "/s";
      }
      out += ']';
    }
    out.append(line.substr(copied));
    out += '\n';
  }
  if (!current.empty() && current.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

}  // namespace binwatch::net
