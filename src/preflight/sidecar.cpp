// The sidecar's status for preflight: the document is the one Daemon::status_json() writes
// (src/watch/daemon.cpp): tables[] {schema, table, bytes, rows, events, inserts, updates,
// deletes, columns}, partitions[] {mount, roles, size, avail, growth_bytes_per_second{used}}.
#include "binwatch/preflight/sidecar.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <httplib.h>

namespace binwatch::preflight {

namespace {

uint64_t u64(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return it->get<int64_t>() < 0 ? 0 : static_cast<uint64_t>(it->get<int64_t>());
  const double d = it->get<double>();
  return d > 0 ? static_cast<uint64_t>(d) : 0;
}

std::string fixed1(double v) {
  std::string s = std::to_string(std::round(v * 10) / 10);
  return s.substr(0, s.find('.') + 2);
}

}  // namespace

std::optional<SidecarTable> sidecar_table(const nlohmann::json& status, const std::string& schema,
                                          const std::string& table) {
  if (!status.is_object() || !status.contains("tables") || !status["tables"].is_array()) return std::nullopt;
  for (const auto& t : status["tables"]) {
    if (!t.is_object() || t.value("schema", "") != schema || t.value("table", "") != table) continue;
    SidecarTable out;
    out.bytes = u64(t, "bytes");
    out.rows = u64(t, "rows");
    out.inserts = u64(t, "inserts");
    out.updates = u64(t, "updates");
    out.deletes = u64(t, "deletes");
    out.events = u64(t, "events");
    return out;
  }
  return std::nullopt;
}

std::optional<SidecarPartition> sidecar_binlog_partition(const nlohmann::json& status) {
  if (!status.is_object() || !status.contains("partitions") || !status["partitions"].is_array()) return std::nullopt;
  for (const auto& p : status["partitions"]) {
    if (!p.is_object() || !p.contains("roles") || !p["roles"].is_array()) continue;
    const auto& roles = p["roles"];
    if (std::find(roles.begin(), roles.end(), "binlog") == roles.end()) continue;
    SidecarPartition out;
    out.mount = p.value("mount", "");
    out.size = u64(p, "size");
    out.avail = u64(p, "avail");
    if (p.contains("growth_bytes_per_second") && p["growth_bytes_per_second"].is_object()) {
      const auto& g = p["growth_bytes_per_second"];
      if (g.contains("used") && g["used"].is_number()) out.growth_bytes_per_second = g["used"].get<double>();
    }
    return out;
  }
  return std::nullopt;
}

nlohmann::json fetch_sidecar_status(const std::string& url, int timeout_seconds) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string suffix = "/api/v1/status";
  if (base.size() >= suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base.resize(base.size() - suffix.size());
  }
  if (base.find("://") == std::string::npos) base = "http://" + base;
  httplib::Client client(base);
  client.set_connection_timeout(timeout_seconds);
  client.set_read_timeout(timeout_seconds);
  const auto res = client.Get(suffix);
  if (!res) throw std::runtime_error("cannot reach the sidecar at " + base + " (" + httplib::to_string(res.error()) + ")");
  if (res->status != 200) {
    throw std::runtime_error("the sidecar at " + base + " answered HTTP " + std::to_string(res->status) + " for " + suffix);
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("the sidecar at " + base + " sent no JSON object for " + suffix);
  return j;
}

Calibration calibrate(Estimate& e, sql::DmlKind kind, const SidecarTable& observed, const std::string& source) {
  Calibration c;
  c.source = source;
  c.table = observed;
  c.observed = observed.rows > 0;
  c.sampled_bytes = e.bytes;
  c.sampled_low = e.low;
  c.sampled_high = e.high;
  if (e.changed_rows > 0) {
    c.sampled_bytes_per_row = static_cast<double>(e.table_bytes) / static_cast<double>(e.changed_rows);
  }
  if (!c.observed) {
    c.reason = "the sidecar has seen no rows of this table yet";
    return c;
  }
  c.observed_bytes_per_row = static_cast<double>(observed.bytes) / static_cast<double>(observed.rows);
  const bool del = kind == sql::DmlKind::Delete;
  const uint64_t of_kind = del ? observed.deletes : observed.updates;
  const std::string kind_name = del ? "deletes" : "updates";
  const double share = static_cast<double>(of_kind) / static_cast<double>(observed.rows);
  if (e.model.find("ORM") != std::string::npos) {
    c.reason = "not used: in an ORM per-row loop most bytes are the --per-row tables' rows";
  } else if (e.model.rfind("row", 0) != 0 || e.table_bytes == 0) {
    c.reason = "not used: the job is not logged as rows (model " + e.model + ")";
  } else if (of_kind < kCalibrationMinRows) {
    c.reason = "not used: " + std::to_string(of_kind) + " " + kind_name + " observed, fewer than " +
               std::to_string(kCalibrationMinRows);
  } else if (share < kCalibrationMinShare) {
    c.reason = "not used: only " + fixed1(share * 100) + "% of the observed rows are " + kind_name +
               " (the sidecar counts bytes per table, not per kind; needs " +
               fixed1(kCalibrationMinShare * 100) + "%)";
  } else {
    c.used = true;
    c.reason = "used for the verdict: " + std::to_string(of_kind) + " " + kind_name + " observed (" +
               fixed1(share * 100) + "% of the table's rows); range +-10% around it";
    const double rows = static_cast<double>(e.changed_rows);
    const double fixed = static_cast<double>(e.bytes - std::min(e.bytes, e.table_bytes));
    const double learned = c.observed_bytes_per_row * rows + fixed;
    const double n = static_cast<double>(std::max<uint64_t>(e.rows.rows, 1));
    const double lo_rows = e.rows.rows ? static_cast<double>(e.rows.low) / n : 1.0;
    const double hi_rows = e.rows.rows ? static_cast<double>(e.rows.high) / n : 1.0;
    e.bytes = static_cast<uint64_t>(std::llround(learned));
    e.low = static_cast<uint64_t>(std::llround(learned * 0.9 * lo_rows));
    e.high = static_cast<uint64_t>(std::llround(learned * 1.1 * hi_rows));
    e.notes.push_back("the estimate uses the sidecar's observed " + fixed1(c.observed_bytes_per_row) +
                      " B/row for the table's events (sampled: " + fixed1(c.sampled_bytes_per_row) +
                      " B/row); the components are the sampled model's");
    e.table_bytes = static_cast<uint64_t>(std::llround(c.observed_bytes_per_row * rows));
    e.bytes_per_row = e.rows.rows ? static_cast<double>(e.bytes) / static_cast<double>(e.rows.rows) : 0;
    // The largest transaction scales with the table part too.
    if (c.sampled_bytes_per_row > 0) {
      const double k = c.observed_bytes_per_row / c.sampled_bytes_per_row;
      e.largest_transaction_bytes = static_cast<uint64_t>(std::llround(static_cast<double>(e.largest_transaction_bytes) * std::max(k, 0.0)));
    }
  }
  return c;
}

}  // namespace binwatch::preflight
