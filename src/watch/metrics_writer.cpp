#include "binwatch/watch/metrics_writer.h"

#include <cmath>
#include <cstdio>

namespace binwatch::watch {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    const size_t n = utf8_len(v, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (n == 1) {
      const char c = v[i];
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    } else {
      out.append(v.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  m_out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  m_out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void MetricsWriter::sample(std::string_view name, const Labels& labels, double value) {
  m_out.append(name);
  if (!labels.empty()) {
    m_out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) m_out += ',';
      first = false;
      m_out.append(k).append("=\"").append(escape_label_value(v)).append("\"");
    }
    m_out += '}';
  }
  m_out.append(" ").append(format_metric_value(value)).append("\n");
}

}  // namespace binwatch::watch
