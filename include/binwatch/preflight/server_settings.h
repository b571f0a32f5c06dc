#pragma once
// The server settings that decide how many binlog bytes a change writes, read from the server
// (SHOW GLOBAL VARIABLES / SHOW SESSION VARIABLES) and turned into one typed struct. Parsing is a
// pure function of the variable map so it is unit-tested without a server.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace binwatch::mysql {
class Connection;
}

namespace binwatch::preflight {

enum class Flavor { MariaDB, MySQL };
enum class BinlogFormat { Row, Statement, Mixed };
enum class RowImage { Full, Minimal, NoBlob };
enum class RowMetadata { NoLog, Minimal, Full };

struct ServerSettings {
  Flavor flavor = Flavor::MariaDB;
  std::string version;
  bool log_bin = true;
  BinlogFormat format = BinlogFormat::Row;
  RowImage row_image = RowImage::Full;
  RowMetadata row_metadata = RowMetadata::NoLog;
  bool checksum_crc32 = true;
  // MariaDB binlog_annotate_row_events / MySQL binlog_rows_query_log_events: the statement text
  // is logged before its row events.
  bool log_statement_with_rows = true;
  // MariaDB log_bin_compress: row and query events compressed with zlib when their data is at
  // least `compress_min_len` bytes.
  bool mariadb_compress = false;
  uint64_t compress_min_len = 256;
  // MySQL 8.0.20+ binlog_transaction_compression (zstd per transaction).
  bool mysql_transaction_compression = false;
  int zstd_level = 3;
  uint64_t row_event_max_size = 8192;  // binlog_row_event_max_size (not a variable in MariaDB 10.11)
  uint64_t max_binlog_cache_size = UINT64_MAX;
  uint64_t max_binlog_size = 1ull << 30;
  uint64_t expire_seconds = 0;  // 0 = never purged automatically
  std::string log_bin_basename;  // e.g. /var/lib/mysql/mariadb-bin (empty if unknown)
  std::string collation;         // collation_server, for the table map's charset field

  [[nodiscard]] bool is_mariadb() const { return flavor == Flavor::MariaDB; }
};

std::string to_string(BinlogFormat v);
std::string to_string(RowImage v);
std::string to_string(RowMetadata v);

// From a name -> value map (lower-case names, as SHOW VARIABLES prints them). Unknown or missing
// variables keep the defaults above; `warnings` gets one line per value it could not read.
ServerSettings settings_from_variables(const std::map<std::string, std::string>& vars,
                                       std::vector<std::string>* warnings = nullptr);

// Reads the variables settings_from_variables() looks at. Session values win over global ones
// for the row settings, since the job will run in a session like this one (a job that sets its
// own binlog_format/row image must say so with the overrides in PreflightOptions).
ServerSettings read_server_settings(mysql::Connection& connection,
                                    std::vector<std::string>* warnings = nullptr);

}  // namespace binwatch::preflight
