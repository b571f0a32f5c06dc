#pragma once
// What a running sidecar (`binwatch watch`) has seen, for preflight: the binlog bytes and rows it
// attributed to the job's table (GET /api/v1/status, `tables[]`), turned into a learned bytes per
// row, and the binlog partition it watches (`partitions[]`, the mount with the "binlog" role).
//
// The sidecar attributes to a table its TABLE_MAP and ROWS events, whole (ARCHITECTURE.md "The
// attribution contract"); GTID, XID and ANNOTATE_ROWS events are not the table's. So the learned
// figure replaces only the estimate's table part (row events + table maps); the per-transaction
// and per-statement events of the job's own plan are added to it as before.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "binwatch/preflight/estimate.h"
#include "binwatch/sql/statement.h"

namespace binwatch::preflight {

// The sidecar's counters for one table.
struct SidecarTable {
  uint64_t bytes = 0, rows = 0, inserts = 0, updates = 0, deletes = 0, events = 0;
};

struct SidecarPartition {
  std::string mount;
  uint64_t size = 0, avail = 0;
  std::optional<double> growth_bytes_per_second;  // the projection's `used` growth
};

// Reads a status document; nullopt when the table (or a binlog partition) is not in it.
std::optional<SidecarTable> sidecar_table(const nlohmann::json& status, const std::string& schema,
                                          const std::string& table);
std::optional<SidecarPartition> sidecar_binlog_partition(const nlohmann::json& status);

// GET <url>/api/v1/status. Throws std::runtime_error naming the URL and the failure
// (unreachable, HTTP status, not JSON).
nlohmann::json fetch_sidecar_status(const std::string& url, int timeout_seconds = 3);

// Rows of the job's kind the sidecar must have seen before its figure is used for the verdict.
inline constexpr uint64_t kCalibrationMinRows = 1000;
// Share of the table's observed rows that must be of the job's kind (DELETE: deletes, UPDATE:
// updates): the sidecar keeps one byte counter per table, not one per kind.
inline constexpr double kCalibrationMinShare = 0.9;

struct Calibration {
  std::string source;           // the sidecar URL
  bool observed = false;        // the sidecar has rows of this table
  SidecarTable table;
  double observed_bytes_per_row = 0;  // table bytes / rows, as the sidecar saw them
  double sampled_bytes_per_row = 0;   // the estimate's table bytes (row events + maps) per row
  bool used = false;                  // the verdict uses the learned figure
  std::string reason;                 // why it is used or not
  uint64_t sampled_bytes = 0, sampled_low = 0, sampled_high = 0;  // the estimate before
};

// Decides whether the sidecar's figure applies to the job (row format, not an ORM loop, enough
// rows, mostly of the job's kind) and, when it does, rewrites `e` (bytes, low, high, bytes per
// row; the sampled figures are kept in the returned Calibration). Pure.
Calibration calibrate(Estimate& e, sql::DmlKind kind, const SidecarTable& observed, const std::string& source);

}  // namespace binwatch::preflight
