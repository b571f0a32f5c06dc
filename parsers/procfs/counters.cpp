// /proc text parsers for lists of named integers (see include/binwatch/procfs/counters.h for the
// files, the names they produce and the kernel sources they follow).
#include "binwatch/procfs/counters.h"

#include <array>
#include <cctype>

#include "text_util.h"

namespace binwatch::procfs {

using detail::Field;
using detail::Line;
using detail::split_fields;
using detail::split_lines;

std::string to_string(const ParseError& e) {
  std::string s = "line " + std::to_string(e.line);
  if (e.column != 0) s += ", column " + std::to_string(e.column);
  return s + ": " + e.detail;
}

namespace {

ParseError error_at(size_t line, size_t column, std::string detail) {
  return {line, column, std::move(detail)};
}

std::string quoted(std::string_view s) {
  if (s.size() > 40) s = s.substr(0, 40);
  std::string out = "'";
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out + "'";
}

}  // namespace

ParseResult<CounterMap> parse_snmp_pairs(std::string_view text) {
  CounterMap out;
  const auto lines = split_lines(text);
  size_t i = 0;
  while (i < lines.size()) {
    const Line& header = lines[i];
    const auto hf = split_fields(header.text);
    if (hf.empty()) { ++i; continue; }
    if (hf[0].text.size() < 2 || hf[0].text.back() != ':') {
      return error_at(header.number, hf[0].column,
                      "expected 'Prefix:' at the start of a header line, found " + quoted(hf[0].text));
    }
    if (i + 1 >= lines.size()) {
      return error_at(header.number, 1, "header line " + quoted(hf[0].text) + " has no value line");
    }
    const Line& values = lines[i + 1];
    const auto vf = split_fields(values.text);
    if (vf.empty() || vf[0].text != hf[0].text) {
      return error_at(values.number, 1,
                      "value line does not start with the header's prefix " + quoted(hf[0].text));
    }
    if (vf.size() != hf.size()) {
      return error_at(values.number, 1,
                      std::to_string(hf.size() - 1) + " names in the header but " +
                          std::to_string(vf.size() - 1) + " values");
    }
    const std::string_view prefix = hf[0].text.substr(0, hf[0].text.size() - 1);
    for (size_t k = 1; k < hf.size(); ++k) {
      int64_t v = 0;
      if (!detail::to_int64(vf[k].text, v)) {
        return error_at(values.number, vf[k].column,
                        "value of " + std::string(prefix) + std::string(hf[k].text) +
                            " is not an integer: " + quoted(vf[k].text));
      }
      out[std::string(prefix) + std::string(hf[k].text)] = v;
    }
    i += 2;
  }
  return out;
}

ParseResult<CounterMap> parse_name_value_lines(std::string_view text, std::string_view prefix) {
  CounterMap out;
  for (const Line& line : split_lines(text)) {
    const auto f = split_fields(line.text);
    if (f.empty()) continue;
    if (f.size() != 2) {
      return error_at(line.number, 1, "expected 'name value', found " + std::to_string(f.size()) +
                                          " fields");
    }
    int64_t v = 0;
    if (!detail::to_int64(f[1].text, v)) {
      return error_at(line.number, f[1].column,
                      "value of " + std::string(f[0].text) + " is not an integer: " + quoted(f[1].text));
    }
    out[std::string(prefix) + std::string(f[0].text)] = v;
  }
  return out;
}

ParseResult<CounterMap> parse_meminfo(std::string_view text) {
  CounterMap out;
  for (const Line& line : split_lines(text)) {
    const auto f = split_fields(line.text);
    if (f.empty()) continue;
    if (f[0].text.size() < 2 || f[0].text.back() != ':' || f.size() < 2 || f.size() > 3) {
      return error_at(line.number, 1, "expected 'Name: value [kB]', found " + quoted(line.text));
    }
    int64_t v = 0;
    if (!detail::to_int64(f[1].text, v)) {
      return error_at(line.number, f[1].column, "value is not an integer: " + quoted(f[1].text));
    }
    if (f.size() == 3) {
      if (f[2].text != "kB") {
        return error_at(line.number, f[2].column, "unknown unit " + quoted(f[2].text));
      }
      v = v > INT64_MAX / 1024 ? INT64_MAX : v * 1024;
    }
    const std::string_view name = f[0].text.substr(0, f[0].text.size() - 1);
    out["meminfo." + std::string(name)] = v;
  }
  return out;
}

ParseResult<CounterMap> parse_sockstat(std::string_view text, std::string_view prefix) {
  CounterMap out;
  for (const Line& line : split_lines(text)) {
    const auto f = split_fields(line.text);
    if (f.empty()) continue;
    if (f[0].text.size() < 2 || f[0].text.back() != ':' || f.size() % 2 != 1) {
      return error_at(line.number, 1, "expected 'PROTO: name value ...', found " + quoted(line.text));
    }
    const std::string_view proto = f[0].text.substr(0, f[0].text.size() - 1);
    for (size_t k = 1; k + 1 < f.size(); k += 2) {
      int64_t v = 0;
      if (!detail::to_int64(f[k + 1].text, v)) {
        return error_at(line.number, f[k + 1].column,
                        "value of " + std::string(f[k].text) + " is not an integer: " +
                            quoted(f[k + 1].text));
      }
      out[std::string(prefix) + std::string(proto) + "." + std::string(f[k].text)] = v;
    }
  }
  return out;
}

ParseResult<CounterMap> parse_net_dev(std::string_view text) {
  CounterMap out;
  const auto lines = split_lines(text);
  // Header line 2: " face |bytes packets ...|bytes packets ..." (receive | transmit).
  if (lines.size() < 2) {
    if (detail::trim(text).empty()) return out;
    return error_at(1, 1, "missing the two header lines");
  }
  const std::string_view h = lines[1].text;
  const size_t bar1 = h.find('|');
  const size_t bar2 = bar1 == std::string_view::npos ? bar1 : h.find('|', bar1 + 1);
  if (bar2 == std::string_view::npos) {
    return error_at(2, 1, "second header line is not 'face |receive columns|transmit columns'");
  }
  std::vector<std::string> columns;
  for (const auto& f : split_fields(h.substr(bar1 + 1, bar2 - bar1 - 1))) {
    columns.push_back("rx_" + std::string(f.text));
  }
  for (const auto& f : split_fields(h.substr(bar2 + 1))) columns.push_back("tx_" + std::string(f.text));
  for (size_t i = 2; i < lines.size(); ++i) {
    const Line& line = lines[i];
    if (detail::trim(line.text).empty()) continue;
    const size_t colon = line.text.find(':');
    if (colon == std::string_view::npos) {
      return error_at(line.number, 1, "expected 'iface: values', found " + quoted(line.text));
    }
    const std::string_view iface = detail::trim(line.text.substr(0, colon));
    if (iface.empty()) return error_at(line.number, 1, "empty interface name");
    const auto vf = split_fields(line.text.substr(colon + 1));
    if (vf.size() != columns.size()) {
      return error_at(line.number, colon + 2,
                      std::to_string(columns.size()) + " columns in the header but " +
                          std::to_string(vf.size()) + " values for " + std::string(iface));
    }
    for (size_t k = 0; k < vf.size(); ++k) {
      int64_t v = 0;
      if (!detail::to_int64(vf[k].text, v)) {
        return error_at(line.number, colon + 1 + vf[k].column,
                        "value is not an integer: " + quoted(vf[k].text));
      }
      out["dev." + std::string(iface) + "." + columns[k]] = v;
    }
  }
  return out;
}

ParseResult<CounterMap> parse_conntrack_stat(std::string_view text) {
  CounterMap out;
  const auto lines = split_lines(text);
  size_t first = 0;
  while (first < lines.size() && split_fields(lines[first].text).empty()) ++first;
  if (first == lines.size()) return out;
  const auto header = split_fields(lines[first].text);
  std::vector<std::string> names;
  for (const auto& f : header) {
    if (f.text.empty() || !(std::isalpha(static_cast<unsigned char>(f.text[0])))) {
      return error_at(lines[first].number, f.column, "expected a column name, found " + quoted(f.text));
    }
    names.push_back("conntrack.stat." + std::string(f.text));
  }
  bool entries_seen = false;
  for (size_t i = first + 1; i < lines.size(); ++i) {
    const auto vf = split_fields(lines[i].text);
    if (vf.empty()) continue;
    if (vf.size() != names.size()) {
      return error_at(lines[i].number, 1,
                      std::to_string(names.size()) + " columns in the header but " +
                          std::to_string(vf.size()) + " values");
    }
    for (size_t k = 0; k < vf.size(); ++k) {
      int64_t v = 0;
      if (!detail::hex_to_int64(vf[k].text, v)) {
        return error_at(lines[i].number, vf[k].column, "value is not hexadecimal: " + quoted(vf[k].text));
      }
      if (names[k] == "conntrack.stat.entries") {
        if (!entries_seen) out[names[k]] = v;
      } else {
        int64_t& slot = out[names[k]];
        slot = (INT64_MAX - slot < v) ? INT64_MAX : slot + v;
      }
    }
    entries_seen = true;
  }
  for (const auto& n : names) out.try_emplace(n, 0);
  return out;
}

ParseResult<int64_t> parse_single_integer(std::string_view text) {
  const std::string_view t = detail::trim(text);
  int64_t v = 0;
  if (!detail::to_int64(t, v)) return error_at(1, 1, "expected one integer, found " + quoted(t));
  return v;
}

std::string normalize_sysctl_text(std::string_view text) {
  std::string out;
  for (const auto& line : split_lines(text)) {
    for (const auto& f : split_fields(line.text)) {
      if (!out.empty()) out += ' ';
      out += f.text;
    }
  }
  return out;
}

bool is_gauge(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kPrefixes = {
      "sockstat.", "sockstat6.", "meminfo.", "sysctl.", "conntrack.count", "conntrack.max",
      "conntrack.stat.entries", "vmstat.nr_", "listen."};
  for (auto p : kPrefixes) {
    if (name.starts_with(p)) return true;
  }
  // SNMP MIB gauges (RFC 2012/4293): current connections and configuration values.
  static constexpr std::array<std::string_view, 7> kSnmpGauges = {
      "TcpCurrEstab", "TcpRtoAlgorithm", "TcpRtoMin", "TcpRtoMax", "TcpMaxConn", "IpForwarding",
      "IpDefaultTTL"};
  for (auto g : kSnmpGauges) {
    if (name == g) return true;
  }
  return false;
}

}  // namespace binwatch::procfs
