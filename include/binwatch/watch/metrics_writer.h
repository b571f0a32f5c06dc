#pragma once
// Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// one HELP and TYPE line per family, then its samples. Label values are escaped (backslash, double
// quote, line feed) and invalid UTF-8 (table names come from binlogs that may be damaged) is
// replaced by U+FFFD, so a scrape never fails on a hostile name.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace binwatch::watch {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

std::string escape_label_value(std::string_view value);
// "+Inf", "-Inf", "NaN" or the shortest exact decimal form.
std::string format_metric_value(double value);

class MetricsWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  [[nodiscard]] const std::string& text() const { return m_out; }

 private:
  std::string m_out;
};

}  // namespace binwatch::watch
