#pragma once
// Partition fill projection: pure functions, observation in, projection out (no clock, no I/O),
// so every case is unit-tested with made-up times.
//
// Model (docs/watch-projection.md):
//   headroom  H = avail - reserve (never below 0; no static "% free" gate anywhere)
//   growth    g = the larger of the statvfs growth (least-squares slope of used bytes over the
//               short window) and, on the binlog's mount, the binlog byte rate over the short
//               window; the long-window figures are reported beside it
//   purge     binlog files due to expire (mtime + expiry) free their bytes at that time: the
//               partition is full at the first t with g*t >= H + freed(t)
//   burst     open write transactions land at commit: pending = sum of rows_modified times the
//               learned bytes per row of the table each one writes (the global average when the
//               table is unknown); time to full with the burst uses H - pending
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "binwatch/attribution.h"

namespace binwatch::watch {

inline constexpr double kNever = std::numeric_limits<double>::infinity();

struct UsageSample {
  double t = 0;       // seconds (any monotonic origin)
  uint64_t used = 0;  // bytes in use on the partition
};

// Least-squares slope (bytes/s) of the samples in [now - window, now]; 0 with fewer than two.
double growth_rate(std::span<const UsageSample> samples, double now, double window);

struct ExpiringFile {
  uint64_t bytes = 0;
  double expires_in = 0;  // seconds from now (0: due now)
};

struct PartitionInput {
  uint64_t size = 0, avail = 0, reserve = 0;
  double statvfs_growth_short = 0, statvfs_growth_long = 0;
  std::optional<double> binlog_growth_short, binlog_growth_long;  // when the binlog lives here
  std::vector<ExpiringFile> expiring;  // binlog files on this partition that will be purged
  uint64_t pending_burst_bytes = 0;    // open transactions' bytes that land here at commit
};

struct PartitionProjection {
  double growth = 0;           // bytes/s used for the projection
  double growth_long = 0;      // long-window counterpart (reported)
  double headroom = 0;         // avail - reserve, >= 0
  double time_to_full = kNever;        // seconds, without the pending burst
  double time_to_full_burst = kNever;  // seconds, if the pending burst committed now
  std::string basis;           // "statvfs" or "binlog": which rate won
};

// Seconds until `headroom` is used up at `growth` bytes/s, with purges freeing space on the way.
double time_to_full(double headroom, double growth, std::vector<ExpiringFile> expiring);

PartitionProjection project(const PartitionInput& in);

// One open transaction from information_schema.INNODB_TRX.
struct OpenTransaction {
  uint64_t rows_modified = 0;
  std::string query;  // trx_query, may be empty (idle between statements)
};

// Learned binlog bytes per row change: per table (bytes / rows of its rows events) and overall.
struct BytesPerRow {
  std::map<TableKey, double> per_table;
  double global = 0;  // 0 when nothing was learned yet
};
BytesPerRow learn_bytes_per_row(const Attribution& totals);

// The table an open transaction's current statement writes ("db.t" from UPDATE/DELETE/INSERT/
// REPLACE), or nullopt.
std::optional<TableKey> statement_table(const std::string& query, const std::string& default_schema = "");

// Pending binlog bytes of open transactions (see the model above).
uint64_t pending_burst_bytes(const std::vector<OpenTransaction>& open, const BytesPerRow& learned);

}  // namespace binwatch::watch
