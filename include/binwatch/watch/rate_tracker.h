#pragma once
// Per-table and total rates over sliding windows (1 m, 5 m, 15 m, 1 h by default), from samples
// of the cumulative counters taken once a second: rate = (now - then) / elapsed. Samples are kept
// every second for the last 5 minutes and every minute for the last hour, per table as two
// numbers, so memory is ~6 KB per table whatever the traffic. Time is passed in (fake clocks in
// tests). Not thread-safe: one owner.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "binwatch/attribution.h"

namespace binwatch::watch {

struct Rate {
  double bytes_per_s = 0, rows_per_s = 0, events_per_s = 0;
};

struct TableRate {
  TableKey key;
  Rate rate;
};

class RateTracker {
 public:
  // Cumulative counters at monotonic time `t` (seconds). Counters that go backwards (a reset)
  // restart the history.
  void sample(double t, const Attribution& totals);
  // Total binlog bytes (every bucket) per second over the last `window` seconds (or as much
  // history as there is); 0 with fewer than two samples.
  [[nodiscard]] Rate total(double window) const;
  // Per table, sorted by bytes per second descending then name; tables with no change left out.
  [[nodiscard]] std::vector<TableRate> tables(double window) const;
  // Seconds of history available.
  [[nodiscard]] double history() const;

 private:
  struct Counters {
    uint64_t bytes = 0, rows = 0, events = 0;
  };
  struct Sample {
    double t = 0;
    Counters total;
    std::vector<Counters> tables;  // by table id
  };
  [[nodiscard]] const Sample* baseline(double window) const;

  std::map<TableKey, size_t> m_ids;
  std::vector<TableKey> m_keys;
  std::deque<Sample> m_fine;    // 1 s apart, last 5 min
  std::deque<Sample> m_coarse;  // 60 s apart, last hour
};

}  // namespace binwatch::watch
