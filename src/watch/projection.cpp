#include "binwatch/watch/projection.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <variant>

#include "binwatch/sql/statement.h"

namespace binwatch::watch {

double growth_rate(std::span<const UsageSample> samples, double now, double window) {
  double n = 0, st = 0, su = 0;
  for (const auto& s : samples) {
    if (s.t < now - window - 1e-9 || s.t > now + 1e-9) continue;
    n += 1;
    st += s.t;
    su += static_cast<double>(s.used);
  }
  if (n < 2) return 0;
  const double mt = st / n, mu = su / n;
  double num = 0, den = 0;
  for (const auto& s : samples) {
    if (s.t < now - window - 1e-9 || s.t > now + 1e-9) continue;
    num += (s.t - mt) * (static_cast<double>(s.used) - mu);
    den += (s.t - mt) * (s.t - mt);
  }
  return den > 0 ? num / den : 0;
}

double time_to_full(double headroom, double growth, std::vector<ExpiringFile> expiring) {
  if (headroom <= 0) return 0;
  if (!(growth > 0)) return kNever;
  std::sort(expiring.begin(), expiring.end(),
            [](const ExpiringFile& a, const ExpiringFile& b) { return a.expires_in < b.expires_in; });
  double freed = 0;
  for (const auto& f : expiring) {
    const double fill = (headroom + freed) / growth;
    if (fill <= f.expires_in) return fill;
    freed += static_cast<double>(f.bytes);
  }
  return (headroom + freed) / growth;
}

PartitionProjection project(const PartitionInput& in) {
  PartitionProjection p;
  p.headroom = in.avail > in.reserve ? static_cast<double>(in.avail - in.reserve) : 0.0;
  p.growth = in.statvfs_growth_short;
  p.growth_long = in.statvfs_growth_long;
  p.basis = "statvfs";
  if (in.binlog_growth_short && *in.binlog_growth_short > p.growth) {
    p.growth = *in.binlog_growth_short;
    p.basis = "binlog";
  }
  if (in.binlog_growth_long) p.growth_long = std::max(p.growth_long, *in.binlog_growth_long);
  p.time_to_full = time_to_full(p.headroom, p.growth, in.expiring);
  const double burst_headroom = p.headroom - static_cast<double>(in.pending_burst_bytes);
  if (in.pending_burst_bytes == 0) {
    p.time_to_full_burst = p.time_to_full;
  } else {
    // The burst lands at commit even if nothing else grows: with no growth, full only if it
    // does not fit at all.
    p.time_to_full_burst = burst_headroom <= 0 ? 0 : time_to_full(burst_headroom, p.growth, in.expiring);
  }
  return p;
}

BytesPerRow learn_bytes_per_row(const Attribution& totals) {
  BytesPerRow out;
  uint64_t bytes = 0, rows = 0;
  for (const auto& t : totals.tables()) {
    if (t.rows == 0) continue;
    out.per_table[t.key] = static_cast<double>(t.bytes) / static_cast<double>(t.rows);
    bytes += t.bytes;
    rows += t.rows;
  }
  out.global = rows ? static_cast<double>(bytes) / static_cast<double>(rows) : 0;
  return out;
}

namespace {

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') s = s.substr(1, s.size() - 2);
  return s;
}

// INSERT/REPLACE [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] [db.]t ...
std::optional<TableKey> insert_table(const std::string& q, const std::string& schema) {
  std::vector<std::string> words;
  std::string w;
  for (size_t i = 0; i < q.size() && words.size() < 8; ++i) {
    const char ch = q[i];
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '(') {
      if (!w.empty()) words.push_back(w), w.clear();
      if (ch == '(') break;
    } else {
      w += ch;
    }
  }
  if (!w.empty()) words.push_back(w);
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  if (words.empty()) return std::nullopt;
  const std::string first = lower(words[0]);
  if (first != "insert" && first != "replace") return std::nullopt;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string l = lower(words[i]);
    if (l == "low_priority" || l == "delayed" || l == "high_priority" || l == "ignore" || l == "into") continue;
    const auto dot = words[i].find('.');
    if (dot == std::string::npos) return TableKey{schema, unquote(words[i])};
    return TableKey{unquote(words[i].substr(0, dot)), unquote(words[i].substr(dot + 1))};
  }
  return std::nullopt;
}

}  // namespace

std::optional<TableKey> statement_table(const std::string& query, const std::string& default_schema) {
  if (query.empty()) return std::nullopt;
  auto parsed = sql::parse_dml(query);
  if (const auto* dml = std::get_if<sql::Dml>(&parsed)) {
    return TableKey{dml->schema.empty() ? default_schema : dml->schema, dml->table};
  }
  return insert_table(query, default_schema);
}

uint64_t pending_burst_bytes(const std::vector<OpenTransaction>& open, const BytesPerRow& learned) {
  double total = 0;
  for (const auto& trx : open) {
    double per_row = learned.global;
    if (auto key = statement_table(trx.query)) {
      // Unqualified names: any learned table of that name.
      auto it = learned.per_table.find(*key);
      if (it == learned.per_table.end() && key->schema.empty()) {
        for (const auto& [k, v] : learned.per_table)
          if (k.table == key->table) { it = learned.per_table.find(k); break; }
      }
      if (it != learned.per_table.end()) per_row = it->second;
    }
    total += per_row * static_cast<double>(trx.rows_modified);
  }
  return static_cast<uint64_t>(std::llround(total));
}

}  // namespace binwatch::watch
