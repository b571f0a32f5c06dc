#include "binwatch/preflight/render.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace binwatch::preflight {

std::string human_bytes(double b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::fabs(b) >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, kUnits[u]);
}

namespace {

std::string human_seconds(double s) {
  if (!std::isfinite(s)) return "never";
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} d", s / 86400);
}

nlohmann::ordered_json finite(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

}  // namespace

nlohmann::ordered_json result_json(const PreflightResult& r) {
  using nlohmann::ordered_json;
  const auto& e = r.estimate;
  const auto& s = r.settings;
  ordered_json j;
  j["verdict"] = r.verdict ? policy::to_string(r.verdict->decision) : "unknown";
  j["exit_code"] = r.verdict ? policy::exit_code(r.verdict->decision) : 2;
  j["table"] = r.table;
  j["statement"] = r.statement;
  j["server"] = {{"version", s.version},
                 {"log_bin", s.log_bin},
                 {"binlog_format", to_string(s.format)},
                 {"binlog_row_image", to_string(s.row_image)},
                 {"binlog_row_metadata", to_string(s.row_metadata)},
                 {"binlog_checksum", s.checksum_crc32 ? "CRC32" : "NONE"},
                 {"statement_text_logged", s.log_statement_with_rows},
                 {"log_bin_compress", s.mariadb_compress},
                 {"log_bin_compress_min_len", s.compress_min_len},
                 {"binlog_transaction_compression", s.mysql_transaction_compression},
                 {"binlog_row_event_max_size", s.row_event_max_size},
                 {"max_binlog_cache_size", s.max_binlog_cache_size},
                 {"max_binlog_size", s.max_binlog_size},
                 {"expire_seconds", s.expire_seconds},
                 {"log_bin_basename", s.log_bin_basename}};
  ordered_json comps = ordered_json::array();
  for (const auto& c : e.components) comps.push_back({{"name", c.name}, {"bytes", c.bytes}, {"detail", c.detail}});
  j["estimate"] = {{"bytes", e.bytes},
                   {"low", e.low},
                   {"high", e.high},
                   {"uncompressed_bytes", e.uncompressed_bytes},
                   {"model", e.model},
                   {"rows", e.rows.rows},
                   {"rows_low", e.rows.low},
                   {"rows_high", e.rows.high},
                   {"rows_method", e.rows.method},
                   {"changed_rows", e.changed_rows},
                   {"sampled_rows", e.sampled_rows},
                   {"bytes_per_row", e.bytes_per_row},
                   {"row_image_bytes_per_row", e.row_image_bytes_per_row},
                   {"compression_ratio", e.compression_ratio},
                   {"transactions", e.transactions},
                   {"statements", e.statements},
                   {"events", e.events},
                   {"rows_per_transaction", e.batch_rows},
                   {"largest_transaction_bytes", e.largest_transaction_bytes},
                   {"components", comps}};
  if (r.calibration) {
    const auto& c = *r.calibration;
    j["estimate"]["calibration"] = {
        {"source", c.source},
        {"observed", c.observed},
        {"observed_bytes", c.table.bytes},
        {"observed_rows", c.table.rows},
        {"observed_inserts", c.table.inserts},
        {"observed_updates", c.table.updates},
        {"observed_deletes", c.table.deletes},
        {"observed_bytes_per_row", c.observed ? ordered_json(c.observed_bytes_per_row) : ordered_json(nullptr)},
        {"sampled_bytes_per_row", c.sampled_bytes_per_row},
        {"used", c.used},
        {"reason", c.reason},
        {"sampled_bytes", c.sampled_bytes},
        {"sampled_low", c.sampled_low},
        {"sampled_high", c.sampled_high}};
  } else {
    j["estimate"]["calibration"] = nullptr;
  }
  j["plan"] = {{"batch_rows", r.batch_rows}, {"sleep_ms", r.sleep_ms}};
  const auto& p = r.partition;
  j["partition"] = {{"known", p.known},
                    {"path", p.path},
                    {"source", p.source},
                    {"total_bytes", p.total_bytes},
                    {"free_bytes", p.free_bytes},
                    {"binlog_bytes", p.binlog_bytes},
                    {"growth_bytes_per_second", p.growth_bytes_per_second},
                    {"growth_source", p.growth_source}};
  if (r.verdict) {
    const auto& v = *r.verdict;
    ordered_json vj = {{"decision", policy::to_string(v.decision)},
                       {"reasons", v.reasons},
                       {"reserve_bytes", v.reserve_bytes},
                       {"usable_bytes", v.usable_bytes},
                       {"missing_bytes", v.missing_bytes},
                       {"duration_seconds", finite(v.duration_seconds)},
                       {"job_bytes_per_second", finite(v.job_bytes_per_second)},
                       {"time_to_full_seconds", finite(v.time_to_full_seconds)},
                       {"free_after_job_bytes", v.free_after_job_bytes}};
    vj["recommended"] = v.recommended_batch_rows
                            ? ordered_json{{"batch_rows", *v.recommended_batch_rows},
                                           {"sleep_ms", v.recommended_sleep_ms.value_or(0)},
                                           {"duration_seconds", finite(v.recommended_duration_seconds.value_or(0))}}
                            : ordered_json(nullptr);
    j["decision"] = vj;
  } else {
    j["decision"] = nullptr;
  }
  j["policy"] = {{"reserve_bytes", r.policy.reserve_bytes},
                 {"reserve_percent", r.policy.reserve_percent},
                 {"warn_time_to_full_seconds", r.policy.warn_time_to_full_seconds},
                 {"max_transaction_bytes", r.policy.max_transaction_bytes},
                 {"assumed_rows_per_second", r.policy.assumed_rows_per_second},
                 {"assumed_orm_rows_per_second", r.policy.assumed_orm_rows_per_second}};
  std::vector<std::string> warnings = r.warnings;
  warnings.insert(warnings.end(), e.warnings.begin(), e.warnings.end());
  j["warnings"] = warnings;
  j["notes"] = e.notes;
  j["elapsed_seconds"] = r.elapsed_seconds;
  return j;
}

std::string result_table(const PreflightResult& r) {
  const auto& e = r.estimate;
  const auto& s = r.settings;
  std::string o;
  const std::string verdict = r.verdict ? policy::to_string(r.verdict->decision) : "unknown";
  o += fmt::format("binwatch preflight: {}  ({})\n", verdict, r.table);
  o += fmt::format("  job        {}\n", r.statement.size() > 100 ? r.statement.substr(0, 97) + "..." : r.statement);
  o += fmt::format("  server     {} format={} image={} metadata={} checksum={} compress={}\n",
                   s.version, to_string(s.format), to_string(s.row_image), to_string(s.row_metadata),
                   s.checksum_crc32 ? "CRC32" : "NONE",
                   s.mariadb_compress ? fmt::format("zlib>={}B", s.compress_min_len)
                                      : (s.mysql_transaction_compression ? "zstd" : "off"));
  o += fmt::format("  rows       {} (range {} .. {}; {})\n", e.rows.rows, e.rows.low, e.rows.high, e.rows.method);
  if (e.changed_rows != e.rows.rows) o += fmt::format("             {} expected to change\n", e.changed_rows);
  o += fmt::format("  estimate   {}  (range {} .. {})  = {} bytes\n", human_bytes(static_cast<double>(e.bytes)),
                   human_bytes(static_cast<double>(e.low)), human_bytes(static_cast<double>(e.high)), e.bytes);
  o += fmt::format("             {:.0f} B/row, {} transactions, largest {}, model {}\n", e.bytes_per_row,
                   e.transactions, human_bytes(static_cast<double>(e.largest_transaction_bytes)), e.model);
  if (e.compression_ratio < 0.999) o += fmt::format("             compression: {:.1f}% of uncompressed\n", e.compression_ratio * 100);
  for (const auto& c : e.components) {
    o += fmt::format("    {:<36} {:>12}  {}\n", c.name.size() > 36 ? c.name.substr(0, 33) + "..." : c.name,
                     human_bytes(static_cast<double>(c.bytes)), c.detail);
  }
  const auto& p = r.partition;
  if (p.known) {
    o += fmt::format("  partition  {}: {} free of {}, binlogs now {}, growth {}/s ({})\n",
                     p.path.empty() ? p.source : p.path, human_bytes(static_cast<double>(p.free_bytes)),
                     human_bytes(static_cast<double>(p.total_bytes)), human_bytes(static_cast<double>(p.binlog_bytes)),
                     human_bytes(p.growth_bytes_per_second), p.growth_source);
  } else {
    o += fmt::format("  partition  {}\n", p.source);
  }
  if (s.expire_seconds) {
    o += fmt::format("  expiry     binlogs are kept {}: the job's bytes stay on disk that long\n",
                     human_seconds(static_cast<double>(s.expire_seconds)));
  } else {
    o += "  expiry     none: binlogs are never purged automatically\n";
  }
  if (r.verdict) {
    const auto& v = *r.verdict;
    o += fmt::format("  plan       batch {} rows, sleep {} ms: ~{}, {}/s, time to full {}\n",
                     r.batch_rows ? std::to_string(r.batch_rows) : "all", r.sleep_ms, human_seconds(v.duration_seconds),
                     human_bytes(v.job_bytes_per_second), human_seconds(v.time_to_full_seconds));
    o += fmt::format("  reserve    {} kept free; usable {}\n", human_bytes(static_cast<double>(v.reserve_bytes)),
                     human_bytes(static_cast<double>(v.usable_bytes)));
    o += fmt::format("  verdict    {}\n", verdict);
    for (const auto& reason : v.reasons) o += fmt::format("             {}\n", reason);
    if (v.missing_bytes) o += fmt::format("             missing: {} ({} bytes)\n", human_bytes(static_cast<double>(v.missing_bytes)), v.missing_bytes);
    if (v.recommended_batch_rows) {
      o += fmt::format("             run with --batch-rows {} --sleep-ms {} (~{})\n", *v.recommended_batch_rows,
                       v.recommended_sleep_ms.value_or(0), human_seconds(v.recommended_duration_seconds.value_or(0)));
    }
  }
  for (const auto& w : r.warnings) o += fmt::format("  warning    {}\n", w);
  for (const auto& w : e.warnings) o += fmt::format("  warning    {}\n", w);
  for (const auto& n : e.notes) o += fmt::format("  note       {}\n", n);
  if (r.calibration) {
    const auto& c = *r.calibration;
    if (c.observed) {
      o += fmt::format("  calibration observed by the sidecar: {:.0f} B/row over {} rows ({} inserts, {} updates, "
                       "{} deletes); sampled {:.0f} B/row (row events + table maps)\n",
                       c.observed_bytes_per_row, c.table.rows, c.table.inserts, c.table.updates, c.table.deletes,
                       c.sampled_bytes_per_row);
    } else {
      o += fmt::format("  calibration sidecar {}: no rows of this table observed yet\n", c.source);
    }
    o += fmt::format("             {}\n", c.reason);
    if (c.used) {
      o += fmt::format("             sampled estimate was {} (range {} .. {})\n", human_bytes(static_cast<double>(c.sampled_bytes)),
                       human_bytes(static_cast<double>(c.sampled_low)), human_bytes(static_cast<double>(c.sampled_high)));
    }
  } else {
    bool unread = false;
    for (const auto& w : r.warnings) unread = unread || w.rfind("sidecar not used", 0) == 0;
    o += unread ? "  calibration none (the sidecar could not be read: see the warning)\n"
                : "  calibration none (give --sidecar URL of a running `binwatch watch` to compare with observed bytes per row)\n";
  }
  o += fmt::format("  took {:.2f} s\n", r.elapsed_seconds);
  return o;
}

}  // namespace binwatch::preflight
