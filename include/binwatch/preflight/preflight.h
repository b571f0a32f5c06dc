#pragma once
// `binwatch preflight`: reads the server's settings, counts and samples the rows a bulk job will
// change (and the rows its per-row follow-up statements change), runs the pure estimator
// (estimate.h), looks at the binlog partition and asks the pure policy (policy/preflight_policy.h)
// for a verdict. Read-only on the server: SELECT, EXPLAIN, SHOW VARIABLES, SHOW MASTER STATUS;
// trigger expressions only inside START TRANSACTION READ ONLY ... ROLLBACK.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/policy/preflight_policy.h"
#include "binwatch/preflight/estimate.h"
#include "binwatch/preflight/server_settings.h"
#include "binwatch/preflight/sidecar.h"

namespace binwatch::mysql {
class Connection;
}

namespace binwatch::preflight {

struct PreflightRequest {
  std::string sql;    // "DELETE FROM db.t WHERE ..." / "UPDATE ..."; or table (+ where/rows)
  std::string table;  // "db.t" (or "t" with the connection's default database)
  std::string where;
  std::optional<uint64_t> rows;  // --rows: the row count is given, rows are sampled from the table
  std::vector<std::string> per_row;
  uint64_t batch_rows = 0;
  uint64_t sleep_ms = 0;
  bool exact = false;
  size_t sample_rows = 400;
  // The binlog partition: a directory to statvfs (default: dirname of @@log_bin_basename when the
  // server is on this host), or figures given directly.
  std::string binlog_dir;
  std::optional<uint64_t> free_bytes, total_bytes;
  std::optional<double> growth_bytes_per_second;
  unsigned growth_sample_ms = 500;  // SHOW MASTER STATUS twice, this far apart (overlaps the work)
  bool local_server = true;         // connected over a socket or to localhost
  // A running sidecar (`binwatch watch`) to learn bytes per row from (and the binlog partition,
  // when it cannot be statvfs'ed here): its base URL, e.g. http://127.0.0.1:9874. Empty: none.
  std::string sidecar_url;
};

struct PartitionInfo {
  bool known = false;
  std::string path;
  std::string source;  // "statvfs", "given", "unknown: ..."
  uint64_t total_bytes = 0, free_bytes = 0;
  uint64_t binlog_bytes = 0;  // current binlog files (SHOW BINARY LOGS), 0 if not readable
  double growth_bytes_per_second = 0;
  std::string growth_source;
};

struct PreflightResult {
  ServerSettings settings;
  std::string statement;  // the job's statement as estimated
  std::string table;      // db.t
  Estimate estimate;
  PartitionInfo partition;
  std::optional<Calibration> calibration;  // with --sidecar, when its status was read
  std::optional<policy::Verdict> verdict;  // absent when the partition is unknown
  policy::PreflightPolicy policy;
  uint64_t batch_rows = 0, sleep_ms = 0;
  double elapsed_seconds = 0;
  std::vector<std::string> warnings;
};

// Throws std::invalid_argument for a job it cannot estimate (multi-table, unknown table, ...),
// mysql::MysqlError for server errors.
PreflightResult run_preflight(mysql::Connection& connection, const PreflightRequest& request,
                              const policy::PreflightPolicy& policy);

// The job's figures for decide().
policy::JobFigures job_figures(const PreflightResult& r);

}  // namespace binwatch::preflight
