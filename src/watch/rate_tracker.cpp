#include "binwatch/watch/rate_tracker.h"

#include <algorithm>

namespace binwatch::watch {

namespace {
constexpr double kFineSpan = 310, kCoarseSpan = 3660, kCoarseStep = 60;
}

void RateTracker::sample(double t, const Attribution& totals) {
  Sample s;
  s.t = t;
  s.total = {totals.total_bytes, 0, 0};
  for (const auto& [code, ts] : totals.types) s.total.events += ts.events;
  s.tables.resize(m_keys.size());
  for (const auto& ts : totals.tables()) {
    auto [it, added] = m_ids.try_emplace(ts.key, m_keys.size());
    if (added) {
      m_keys.push_back(ts.key);
      s.tables.resize(m_keys.size());
    }
    s.tables[it->second] = {ts.bytes, ts.rows, ts.events};
    s.total.rows += ts.rows;
  }
  if (!m_fine.empty() && (s.total.bytes < m_fine.back().total.bytes || t < m_fine.back().t)) {
    m_fine.clear();
    m_coarse.clear();
  }
  if (m_coarse.empty() || t - m_coarse.back().t >= kCoarseStep) m_coarse.push_back(s);
  m_fine.push_back(std::move(s));
  while (!m_fine.empty() && t - m_fine.front().t > kFineSpan) m_fine.pop_front();
  while (!m_coarse.empty() && t - m_coarse.front().t > kCoarseSpan) m_coarse.pop_front();
}

double RateTracker::history() const {
  if (m_fine.empty()) return 0;
  const double oldest = m_coarse.empty() ? m_fine.front().t : std::min(m_fine.front().t, m_coarse.front().t);
  return m_fine.back().t - oldest;
}

const RateTracker::Sample* RateTracker::baseline(double window) const {
  if (m_fine.size() < 2) return nullptr;
  const double want = m_fine.back().t - window;
  const Sample* best = nullptr;
  // The newest sample at or before `want`, else the oldest one there is.
  auto pick = [&](const std::deque<Sample>& d) {
    for (auto it = d.rbegin(); it != d.rend(); ++it) {
      if (it->t <= want + 1e-9) {
        if (!best || it->t > best->t) best = &*it;
        return;
      }
    }
  };
  pick(m_fine);
  if (!best) pick(m_coarse);
  if (!best) {
    best = &m_fine.front();
    if (!m_coarse.empty() && m_coarse.front().t < best->t) best = &m_coarse.front();
  }
  if (best == &m_fine.back()) return nullptr;
  return best;
}

Rate RateTracker::total(double window) const {
  const Sample* b = baseline(window);
  if (!b) return {};
  const Sample& now = m_fine.back();
  const double dt = now.t - b->t;
  if (dt <= 0) return {};
  return {static_cast<double>(now.total.bytes - b->total.bytes) / dt,
          static_cast<double>(now.total.rows - b->total.rows) / dt,
          static_cast<double>(now.total.events - b->total.events) / dt};
}

std::vector<TableRate> RateTracker::tables(double window) const {
  std::vector<TableRate> out;
  const Sample* b = baseline(window);
  if (!b) return out;
  const Sample& now = m_fine.back();
  const double dt = now.t - b->t;
  if (dt <= 0) return out;
  for (size_t i = 0; i < now.tables.size(); ++i) {
    const Counters before = i < b->tables.size() ? b->tables[i] : Counters{};
    const Counters& after = now.tables[i];
    if (after.bytes == before.bytes && after.rows == before.rows) continue;
    out.push_back({m_keys[i],
                   {static_cast<double>(after.bytes - before.bytes) / dt, static_cast<double>(after.rows - before.rows) / dt,
                    static_cast<double>(after.events - before.events) / dt}});
  }
  std::sort(out.begin(), out.end(), [](const TableRate& a, const TableRate& b) {
    if (a.rate.bytes_per_s != b.rate.bytes_per_s) return a.rate.bytes_per_s > b.rate.bytes_per_s;
    return a.key < b.key;
  });
  return out;
}

}  // namespace binwatch::watch
