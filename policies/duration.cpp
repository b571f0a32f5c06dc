#include "binwatch/policy/duration.h"

#include <array>
#include <limits>
#include <utility>

namespace binwatch::policy {
namespace {

constexpr std::array<std::pair<std::string_view, int64_t>, 5> kUnits{{
    {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    const size_t digits_from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i++] - '0');
    }
    if (i == digits_from) return std::nullopt;
    const size_t unit_from = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    const std::string_view unit = text.substr(unit_from, i - unit_from);
    int64_t scale = 0;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) scale = ms;
    }
    if (scale == 0) return std::nullopt;
    if (n > (std::numeric_limits<int64_t>::max() - total) / scale) return std::nullopt;
    total += n * scale;
  }
  return total;
}

std::string format_duration_ms(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  uint64_t rest = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (ms < 0) out = "-";
  for (const auto& [name, scale] : kUnits) {
    const uint64_t n = rest / static_cast<uint64_t>(scale);
    if (n == 0) continue;
    out += std::to_string(n);
    out += name;
    rest -= n * static_cast<uint64_t>(scale);
  }
  return out;
}

}  // namespace binwatch::policy
