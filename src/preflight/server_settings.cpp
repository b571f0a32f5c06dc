#include "binwatch/preflight/server_settings.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "binwatch/mysql/connection.h"

namespace binwatch::preflight {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool truthy(const std::string& v) {
  const std::string u = upper(v);
  return u == "ON" || u == "1" || u == "YES" || u == "TRUE";
}

const std::string* find(const std::map<std::string, std::string>& vars, const char* name) {
  auto it = vars.find(name);
  return it == vars.end() ? nullptr : &it->second;
}

bool to_u64(const std::string& s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string to_string(BinlogFormat v) {
  switch (v) {
    case BinlogFormat::Row: return "ROW";
    case BinlogFormat::Statement: return "STATEMENT";
    case BinlogFormat::Mixed: return "MIXED";
  }
  return "?";
}
std::string to_string(RowImage v) {
  switch (v) {
    case RowImage::Full: return "FULL";
    case RowImage::Minimal: return "MINIMAL";
    case RowImage::NoBlob: return "NOBLOB";
  }
  return "?";
}
std::string to_string(RowMetadata v) {
  switch (v) {
    case RowMetadata::NoLog: return "NO_LOG";
    case RowMetadata::Minimal: return "MINIMAL";
    case RowMetadata::Full: return "FULL";
  }
  return "?";
}

ServerSettings settings_from_variables(const std::map<std::string, std::string>& vars,
                                       std::vector<std::string>* warnings) {
  ServerSettings s;
  auto warn = [&](const std::string& w) {
    if (warnings) warnings->push_back(w);
  };
  auto u64 = [&](const char* name, uint64_t& out) {
    if (const auto* v = find(vars, name)) {
      if (!to_u64(*v, out)) warn(std::string(name) + ": cannot read '" + *v + "'");
    }
  };
  if (const auto* v = find(vars, "version")) {
    s.version = *v;
    s.flavor = v->find("MariaDB") != std::string::npos ? Flavor::MariaDB : Flavor::MySQL;
  }
  if (const auto* v = find(vars, "log_bin")) s.log_bin = truthy(*v);
  if (const auto* v = find(vars, "binlog_format")) {
    const std::string u = upper(*v);
    if (u == "ROW") s.format = BinlogFormat::Row;
    else if (u == "STATEMENT") s.format = BinlogFormat::Statement;
    else if (u == "MIXED") s.format = BinlogFormat::Mixed;
    else warn("binlog_format: unknown value '" + *v + "', assuming ROW");
  }
  if (const auto* v = find(vars, "binlog_row_image")) {
    const std::string u = upper(*v);
    if (u == "FULL") s.row_image = RowImage::Full;
    else if (u == "MINIMAL") s.row_image = RowImage::Minimal;
    else if (u == "NOBLOB") s.row_image = RowImage::NoBlob;
    else warn("binlog_row_image: unknown value '" + *v + "', assuming FULL");
  }
  if (const auto* v = find(vars, "binlog_row_metadata")) {
    const std::string u = upper(*v);
    if (u == "NO_LOG") s.row_metadata = RowMetadata::NoLog;
    else if (u == "MINIMAL") s.row_metadata = RowMetadata::Minimal;
    else if (u == "FULL") s.row_metadata = RowMetadata::Full;
    else warn("binlog_row_metadata: unknown value '" + *v + "', assuming NO_LOG");
  } else if (s.flavor == Flavor::MySQL) {
    s.row_metadata = RowMetadata::Minimal;  // MySQL 8.0 default; absent before 8.0.1 (= none)
    if (!find(vars, "binlog_row_value_options")) s.row_metadata = RowMetadata::NoLog;
  }
  if (const auto* v = find(vars, "binlog_checksum")) s.checksum_crc32 = upper(*v) == "CRC32";
  if (s.flavor == Flavor::MariaDB) {
    if (const auto* v = find(vars, "binlog_annotate_row_events")) {
      s.log_statement_with_rows = truthy(*v);
    }
  } else {
    s.log_statement_with_rows = false;
    if (const auto* v = find(vars, "binlog_rows_query_log_events")) {
      s.log_statement_with_rows = truthy(*v);
    }
  }
  if (const auto* v = find(vars, "log_bin_compress")) s.mariadb_compress = truthy(*v);
  u64("log_bin_compress_min_len", s.compress_min_len);
  if (const auto* v = find(vars, "binlog_transaction_compression")) {
    s.mysql_transaction_compression = truthy(*v);
  }
  uint64_t level = 0;
  if (const auto* v = find(vars, "binlog_transaction_compression_level_zstd");
      v && to_u64(*v, level)) {
    s.zstd_level = static_cast<int>(level);
  }
  u64("binlog_row_event_max_size", s.row_event_max_size);
  u64("max_binlog_cache_size", s.max_binlog_cache_size);
  u64("max_binlog_size", s.max_binlog_size);
  uint64_t seconds = 0;
  if (const auto* v = find(vars, "binlog_expire_logs_seconds"); v && to_u64(*v, seconds)) {
    s.expire_seconds = seconds;
  }
  if (s.expire_seconds == 0) {
    if (const auto* v = find(vars, "expire_logs_days")) {
      // MariaDB prints a fraction ("0.000000"); MySQL an integer.
      const double days = std::strtod(v->c_str(), nullptr);
      if (days > 0) s.expire_seconds = static_cast<uint64_t>(std::llround(days * 86400.0));
    }
  }
  if (const auto* v = find(vars, "log_bin_basename")) s.log_bin_basename = *v;
  if (const auto* v = find(vars, "collation_server")) s.collation = *v;
  return s;
}

ServerSettings read_server_settings(mysql::Connection& c, std::vector<std::string>* warnings) {
  static const char* kNames =
      "'version','log_bin','binlog_format','binlog_row_image','binlog_row_metadata',"
      "'binlog_checksum','binlog_annotate_row_events','binlog_rows_query_log_events',"
      "'log_bin_compress','log_bin_compress_min_len','binlog_transaction_compression',"
      "'binlog_transaction_compression_level_zstd','binlog_row_event_max_size',"
      "'max_binlog_cache_size','max_binlog_size','binlog_expire_logs_seconds','expire_logs_days',"
      "'log_bin_basename','collation_server'";
  std::map<std::string, std::string> vars;
  auto load = [&](const char* scope) {
    const auto r = c.query(std::string("SHOW ") + scope + " VARIABLES WHERE Variable_name IN (" +
                           kNames + ")");
    for (const auto& row : r.rows) {
      if (row.size() >= 2 && row[0]) {
        std::string name = *row[0];
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        vars[name] = row[1].value_or("");
      }
    }
  };
  load("GLOBAL");
  load("SESSION");  // session values (binlog_format, row image) override
  return settings_from_variables(vars, warnings);
}

}  // namespace binwatch::preflight
