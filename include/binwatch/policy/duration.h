#pragma once
// Durations as operators write them in policies and on the command line ("30m", "4h", "1h30m",
// "90s", "250ms", "2d"). Milliseconds internally: the alert policy's clock is int64 ms.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace binwatch::policy {

// One or more <integer><unit> groups, units ms, s, m, h, d; no sign, no spaces. nullopt when the
// text is not such a duration or overflows.
std::optional<int64_t> parse_duration_ms(std::string_view text);

// The shortest exact spelling with the largest units: 14400000 -> "4h", 5400000 -> "1h30m",
// 1500 -> "1s500ms", 0 -> "0s". Negative values get a leading '-'.
std::string format_duration_ms(int64_t ms);

}  // namespace binwatch::policy
