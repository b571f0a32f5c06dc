#include "binwatch/policy/preflight_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

namespace binwatch::policy {

namespace {

template <typename T>
void read_number(const toml::table& t, std::string_view section, std::string_view key, T& out) {
  const toml::node* node = t.at_path(std::string(section) + "." + std::string(key)).node();
  if (!node) return;
  std::optional<double> v;
  if (auto i = node->value_exact<int64_t>()) v = static_cast<double>(*i);
  else if (auto d = node->value_exact<double>()) v = *d;
  if (!v || *v < 0) {
    std::ostringstream os;
    os << section << "." << key << " at " << node->source().begin << ": expected a number >= 0";
    throw std::invalid_argument(os.str());
  }
  out = static_cast<T>(*v);
}

}  // namespace

PreflightPolicy parse_preflight_policy(std::string_view text, const PreflightPolicy& base) {
  PreflightPolicy p = base;
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "policy: " << e.description() << " at " << e.source().begin;
    throw std::invalid_argument(os.str());
  }
  read_number(t, "reserve", "bytes", p.reserve_bytes);
  read_number(t, "reserve", "percent", p.reserve_percent);
  read_number(t, "throttle", "warn_time_to_full_seconds", p.warn_time_to_full_seconds);
  read_number(t, "throttle", "max_transaction_bytes", p.max_transaction_bytes);
  read_number(t, "throttle", "assumed_rows_per_second", p.assumed_rows_per_second);
  read_number(t, "throttle", "assumed_orm_rows_per_second", p.assumed_orm_rows_per_second);
  if (p.reserve_percent > 100) throw std::invalid_argument("reserve.percent must be <= 100");
  return p;
}

std::string to_string(Decision d) {
  switch (d) {
    case Decision::Go: return "go";
    case Decision::Throttle: return "throttle";
    case Decision::NoGo: return "no-go";
  }
  return "?";
}

int exit_code(Decision d) {
  switch (d) {
    case Decision::Go: return 0;
    case Decision::Throttle: return 10;
    case Decision::NoGo: return 20;
  }
  return 2;
}

Verdict decide(const PreflightPolicy& policy, const JobFigures& job, const Partition& part) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Verdict v;
  v.reserve_bytes = std::max<uint64_t>(
      policy.reserve_bytes,
      static_cast<uint64_t>(std::ceil(static_cast<double>(part.total_bytes) * policy.reserve_percent / 100.0)));
  v.usable_bytes = part.free_bytes > v.reserve_bytes ? part.free_bytes - v.reserve_bytes : 0;
  const double usable = static_cast<double>(v.usable_bytes);
  const double growth = std::max(0.0, part.growth_bytes_per_second);
  const double rows = static_cast<double>(job.rows);
  const double high = static_cast<double>(job.high);
  const double per_row = job.rows ? high / rows : 0;
  const double speed = job.per_row_transactions ? policy.assumed_orm_rows_per_second
                                                : policy.assumed_rows_per_second;

  // Duration of a plan: batches of `batch` rows at `speed`, `sleep_ms` between batches.
  auto duration = [&](uint64_t batch, uint64_t sleep_ms) {
    if (job.rows == 0 || speed <= 0) return 0.0;
    const uint64_t b = batch ? std::min(batch, job.rows) : job.rows;
    const double batches = std::ceil(rows / static_cast<double>(b));
    return rows / speed + (batches - 1) * static_cast<double>(sleep_ms) / 1000.0;
  };
  v.duration_seconds = duration(job.batch_rows, job.sleep_ms);
  if (job.rows == 0 || job.high == 0) {
    v.time_to_full_seconds = growth > 0 ? usable / growth : kInf;
    v.decision = Decision::Go;
    v.reasons.push_back("the job writes no binlog (no matching rows or binary logging off)");
    return v;
  }
  v.job_bytes_per_second = v.duration_seconds > 0 ? high / v.duration_seconds : (job.high ? kInf : 0);
  const double need = high + growth * v.duration_seconds;
  v.free_after_job_bytes = static_cast<double>(part.free_bytes) - need;
  const double rate = v.job_bytes_per_second + growth;
  v.time_to_full_seconds = rate > 0 ? usable / rate : kInf;

  if (need > usable) {
    v.decision = Decision::NoGo;
    v.missing_bytes = static_cast<uint64_t>(std::ceil(need - usable));
    v.reasons.push_back("the job needs up to " + std::to_string(static_cast<uint64_t>(need)) +
                        " bytes of binlog (estimate high bound plus background growth during the "
                        "job) but only " + std::to_string(v.usable_bytes) +
                        " are usable above the reserve of " + std::to_string(v.reserve_bytes) +
                        "; missing " + std::to_string(v.missing_bytes) + " bytes");
    return v;
  }
  if (growth > 0 && usable / growth < policy.warn_time_to_full_seconds) {
    v.decision = Decision::NoGo;
    v.missing_bytes = static_cast<uint64_t>(std::ceil(growth * policy.warn_time_to_full_seconds - usable + high));
    v.reasons.push_back("the binlog partition already projects full within the warning level at "
                        "the current growth alone; free space first");
    return v;
  }

  // Transaction size: the burst limit and max_binlog_cache_size.
  const uint64_t tx_limit = std::min(policy.max_transaction_bytes, job.max_binlog_cache_size);
  uint64_t batch = job.batch_rows ? std::min(job.batch_rows, job.rows) : job.rows;
  bool throttle = false;
  if (job.largest_transaction_bytes > tx_limit && !job.per_row_transactions && per_row > 0) {
    throttle = true;
    const uint64_t fit = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(tx_limit) / per_row));
    batch = std::min(batch, fit);
    v.reasons.push_back(
        "one transaction would write " + std::to_string(job.largest_transaction_bytes) +
        " bytes, over the limit of " + std::to_string(tx_limit) +
        (tx_limit == job.max_binlog_cache_size ? " (max_binlog_cache_size)" : " (policy burst limit)") +
        "; batches of at most " + std::to_string(fit) + " rows");
  }
  // Pace: the write rate that keeps time to full above the warning level.
  const double allowed = usable / policy.warn_time_to_full_seconds - growth;
  const double planned_rate = [&] {
    const double d = duration(batch, job.sleep_ms);
    return d > 0 ? high / d : (job.high ? kInf : 0.0);
  }();
  uint64_t sleep_ms = job.sleep_ms;
  if (planned_rate > allowed) {
    throttle = true;
    if (!job.batch_rows && batch == job.rows) {
      // Split into batches that are a small part of the job, so sleeping can pace it.
      batch = std::max<uint64_t>(1, std::min<uint64_t>(job.rows, std::max<uint64_t>(1, job.rows / 100)));
      if (per_row > 0) {
        batch = std::min<uint64_t>(batch, std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(tx_limit) / per_row)));
      }
    }
    const double batch_bytes = per_row * static_cast<double>(batch);
    const double cycle = allowed > 0 ? batch_bytes / allowed : kInf;
    const double exec = static_cast<double>(batch) / speed;
    sleep_ms = static_cast<uint64_t>(std::ceil(std::max(0.0, cycle - exec) * 1000.0));
    std::ostringstream os;
    os << "at the planned pace the job writes " << static_cast<uint64_t>(planned_rate)
       << " B/s; time to full would drop below " << policy.warn_time_to_full_seconds
       << " s; keep it under " << static_cast<uint64_t>(allowed) << " B/s";
    v.reasons.push_back(os.str());
  }
  if (throttle) {
    v.decision = Decision::Throttle;
    v.recommended_batch_rows = batch;
    v.recommended_sleep_ms = sleep_ms;
    v.recommended_duration_seconds = duration(batch, sleep_ms);
    return v;
  }
  v.decision = Decision::Go;
  v.reasons.push_back("fits: " + std::to_string(job.high) + " bytes (high bound) of " +
                      std::to_string(v.usable_bytes) + " usable, time to full stays above the "
                      "warning level");
  return v;
}

}  // namespace binwatch::policy
