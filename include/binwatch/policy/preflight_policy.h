#pragma once
// Pre-flight verdict policy: data (policies/preflight.toml, flags override) plus the pure
// decide(policy, job, partition) -> verdict. No I/O and no clock: unit-tested without a server.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::policy {

struct PreflightPolicy {
  // Space that must stay free on the binlog partition after the job: the larger of the two.
  uint64_t reserve_bytes = 1ull << 30;
  double reserve_percent = 10.0;
  // The projected time to full while the job runs (free space over job + background write rate)
  // must stay above this, so alerts keep their lead time and replicas keep up.
  double warn_time_to_full_seconds = 4 * 3600.0;
  // Largest transaction the job may write in one burst (also capped by max_binlog_cache_size).
  uint64_t max_transaction_bytes = 256ull << 20;
  // How fast the server is assumed to apply the job without sleeps, to turn a plan into a write
  // rate (calibration from the sidecar will replace these when it exists).
  double assumed_rows_per_second = 20000;      // batched DELETE/UPDATE statements
  double assumed_orm_rows_per_second = 500;    // one transaction per row plus follow-ups
};

// Reads a TOML policy ([reserve] bytes, percent; [throttle] warn_time_to_full_seconds,
// max_transaction_bytes, assumed_rows_per_second, assumed_orm_rows_per_second) over `base`.
// Throws std::invalid_argument with the file position on a syntax error or a wrong type.
PreflightPolicy parse_preflight_policy(std::string_view toml, const PreflightPolicy& base = {});

// What the job will write, from the estimate and the plan.
struct JobFigures {
  uint64_t bytes = 0;       // expected
  uint64_t high = 0;        // upper bound of the range: decisions use this
  uint64_t rows = 0;
  uint64_t batch_rows = 0;  // rows between sleeps (plan); 0 = all at once
  uint64_t sleep_ms = 0;
  bool per_row_transactions = false;  // ORM mode: one transaction per row
  uint64_t largest_transaction_bytes = 0;
  uint64_t max_binlog_cache_size = UINT64_MAX;
};

struct Partition {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;              // available to the server (statvfs f_bavail)
  double growth_bytes_per_second = 0;   // current binlog growth without the job
};

enum class Decision { Go, Throttle, NoGo };
std::string to_string(Decision d);  // "go", "throttle", "no-go"
int exit_code(Decision d);          // 0, 10, 20

struct Verdict {
  Decision decision = Decision::Go;
  std::vector<std::string> reasons;
  uint64_t reserve_bytes = 0;
  uint64_t usable_bytes = 0;      // free - reserve (0 if negative)
  uint64_t missing_bytes = 0;     // no-go: bytes that would have to be freed
  double duration_seconds = 0;    // the plan's projected run time
  double job_bytes_per_second = 0;
  double time_to_full_seconds = 0;  // projected while the job runs; infinity if nothing grows
  double free_after_job_bytes = 0;
  // throttle: a plan that keeps time to full above the policy's warning level
  std::optional<uint64_t> recommended_batch_rows;
  std::optional<uint64_t> recommended_sleep_ms;
  std::optional<double> recommended_duration_seconds;
};

Verdict decide(const PreflightPolicy& policy, const JobFigures& job, const Partition& partition);

}  // namespace binwatch::policy
