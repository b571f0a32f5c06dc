// /proc/net/route parser; layout in include/binwatch/procfs/route.h.
#include "binwatch/procfs/route.h"

#include <array>

#include "text_util.h"

namespace binwatch::procfs {

ParseResult<std::vector<Route>> parse_route(std::string_view text) {
  std::vector<Route> out;
  const auto lines = detail::split_lines(text);
  if (lines.empty() || detail::trim(lines[0].text).empty()) return out;
  // Column positions from the header.
  constexpr std::array<std::string_view, 5> kNames = {"Iface", "Destination", "Flags", "Metric", "Mask"};
  std::array<size_t, 5> col{};
  const auto header = detail::split_fields(lines[0].text);
  for (size_t k = 0; k < kNames.size(); ++k) {
    size_t i = 0;
    while (i < header.size() && header[i].text != kNames[k]) ++i;
    if (i == header.size()) {
      return ParseError{1, 1, "header lacks the column '" + std::string(kNames[k]) + "'"};
    }
    col[k] = i;
  }
  const size_t gateway_col = [&] {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i].text == "Gateway") return i;
    }
    return header.size();
  }();
  for (size_t n = 1; n < lines.size(); ++n) {
    const auto f = detail::split_fields(lines[n].text);
    if (f.empty()) continue;
    if (f.size() < header.size()) {
      return ParseError{lines[n].number, 1,
                        "expected " + std::to_string(header.size()) + " fields, found " + std::to_string(f.size())};
    }
    Route r;
    r.interface = std::string(f[col[0]].text);
    auto hex = [&](size_t i, uint32_t& out_value, const char* what) -> std::optional<ParseError> {
      int64_t v = 0;
      if (!detail::hex_to_int64(f[i].text, v) || v > 0xFFFFFFFF) {
        return ParseError{lines[n].number, f[i].column, std::string(what) + " is not a 32-bit hexadecimal word"};
      }
      out_value = static_cast<uint32_t>(v);
      return std::nullopt;
    };
    if (auto e = hex(col[1], r.destination, "Destination")) return *e;
    if (auto e = hex(col[2], r.flags, "Flags")) return *e;
    if (auto e = hex(col[4], r.mask, "Mask")) return *e;
    if (gateway_col < f.size()) {
      if (auto e = hex(gateway_col, r.gateway, "Gateway")) return *e;
    }
    if (!detail::to_int64(f[col[3]].text, r.metric)) {
      return ParseError{lines[n].number, f[col[3]].column, "Metric is not an integer"};
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::string> default_route_interface(const std::vector<Route>& routes) {
  const Route* best = nullptr;
  for (const auto& r : routes) {
    if (r.destination != 0 || r.mask != 0 || !(r.flags & kRouteUp) || (r.flags & kRouteReject)) continue;
    if (r.interface.empty() || r.interface == "*") continue;
    if (!best || r.metric < best->metric) best = &r;
  }
  if (!best) return std::nullopt;
  return best->interface;
}

}  // namespace binwatch::procfs
