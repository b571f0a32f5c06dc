// Server side of pre-flight: table shapes from information_schema, row counts (COUNT(*), EXPLAIN
// or sampling), sampled rows as raw bytes, per-row follow-up rows, the binlog partition.
#include "binwatch/preflight/preflight.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "binwatch/mysql/connection.h"
#include "binwatch/sql/statement.h"

namespace binwatch::preflight {

namespace {

using mysql::Connection;
using mysql::quote_identifier;
using Clock = std::chrono::steady_clock;

std::optional<uint64_t> to_u64(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  try {
    return static_cast<uint64_t>(std::stoull(*s));
  } catch (...) {
    return std::nullopt;
  }
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string qualified(const TableShape& t) {
  return quote_identifier(t.schema) + "." + quote_identifier(t.table);
}

TableShape load_shape(Connection& c, const std::string& schema, const std::string& table,
                      const ServerSettings& s) {
  TableShape t;
  t.schema = schema;
  t.table = table;
  const std::string where = " WHERE TABLE_SCHEMA = " + c.quote(schema) + " AND TABLE_NAME = " + c.quote(table);
  const auto cols = c.query(
      "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, "
      "NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE, COLUMN_KEY, EXTRA, COLLATION_NAME, "
      "(SELECT co.ID FROM information_schema.COLLATIONS co WHERE co.COLLATION_NAME = "
      "c.COLLATION_NAME LIMIT 1) FROM information_schema.COLUMNS c" + where +
      " ORDER BY ORDINAL_POSITION");
  if (cols.rows.empty()) {
    throw std::invalid_argument("table " + schema + "." + table +
                                " not found (or this account has no privilege on it)");
  }
  const Flavor flavor = s.flavor;
  for (const auto& r : cols.rows) {
    InfoSchemaColumn ic;
    ic.name = r[0].value_or("");
    ic.data_type = r[1].value_or("");
    ic.column_type = r[2].value_or("");
    ic.octet_length = to_u64(r[3]);
    ic.numeric_precision = to_u64(r[4]);
    ic.numeric_scale = to_u64(r[5]);
    ic.datetime_precision = to_u64(r[6]);
    ic.nullable = r[7].value_or("") == "YES";
    ic.column_key = r[8].value_or("");
    ic.extra = r[9].value_or("");
    ic.collation = r[10].value_or("");
    ic.collation_id = static_cast<uint32_t>(to_u64(r[11]).value_or(63));
    auto spec = column_spec(ic, flavor);
    if (spec.primary) t.has_primary_key = true;
    t.columns.push_back(std::move(spec));
  }
  t.engine = c.scalar("SELECT ENGINE FROM information_schema.TABLES" + where).value_or("");
  const auto fks = c.query(
      "SELECT CONSTRAINT_SCHEMA, TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
      "WHERE UNIQUE_CONSTRAINT_SCHEMA = " + c.quote(schema) + " AND REFERENCED_TABLE_NAME = " +
      c.quote(table) + " AND DELETE_RULE IN ('CASCADE', 'SET NULL')");
  for (const auto& r : fks.rows) t.cascade_children.push_back(r[0].value_or("") + "." + r[1].value_or(""));
  const auto trg = c.query(
      "SELECT ACTION_TIMING, EVENT_MANIPULATION, TRIGGER_NAME FROM information_schema.TRIGGERS "
      "WHERE EVENT_OBJECT_SCHEMA = " + c.quote(schema) + " AND EVENT_OBJECT_TABLE = " + c.quote(table));
  for (const auto& r : trg.rows) {
    t.triggers.push_back(r[0].value_or("") + " " + r[1].value_or("") + " " + r[2].value_or(""));
  }
  return t;
}

// The SELECT list that fetches what the row images need: every column's raw bytes (the session
// returns them unconverted), MySQL JSON storage sizes, and for an UPDATE each assignment's new
// value plus whether the row changes at all.
struct SelectList {
  std::string sql;
  size_t columns = 0;
  std::vector<int> json_size_at;       // per column: index of its JSON_STORAGE_SIZE() or -1
  std::vector<int> assignment_target;  // per assignment: column index
  size_t first_assignment = 0;
  int changes_at = -1;
};

// `fetch`: columns to read (empty = all); the others come back as NULL (the compression runs read
// only the columns the row images hold).
SelectList select_list(const TableShape& t, const std::vector<sql::Assignment>& set,
                       const std::vector<bool>& fetch = {}) {
  SelectList l;
  std::vector<std::string> items;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    items.push_back(fetch.empty() || (i < fetch.size() && fetch[i]) ? quote_identifier(t.columns[i].name) : "NULL");
  }
  l.columns = items.size();
  l.json_size_at.assign(t.columns.size(), -1);
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].mysql_json) {
      l.json_size_at[i] = static_cast<int>(items.size());
      items.push_back("JSON_STORAGE_SIZE(" + quote_identifier(t.columns[i].name) + ")");
    }
  }
  l.first_assignment = items.size();
  std::string same;
  for (const auto& a : set) {
    const int idx = t.index_of(a.column);
    if (idx < 0) throw std::invalid_argument("SET names column " + a.column + ", not in " + t.schema + "." + t.table);
    l.assignment_target.push_back(idx);
    items.push_back("(" + a.expression + ")");
    same += (same.empty() ? "" : " AND ") + std::string("((") + a.expression + ") <=> " +
            quote_identifier(t.columns[idx].name) + ")";
  }
  if (!set.empty()) {
    l.changes_at = static_cast<int>(items.size());
    items.push_back("NOT (" + same + ")");
  }
  for (size_t i = 0; i < items.size(); ++i) l.sql += (i ? ", " : "") + items[i];
  return l;
}

SampleRow to_sample(const TableShape& t, const SelectList& l,
                    const std::vector<std::optional<std::string>>& r, bool update) {
  SampleRow s;
  s.before.resize(t.columns.size());
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (r[i]) {
      s.before[i].null = false;
      s.before[i].bytes = *r[i];
    }
    if (l.json_size_at[i] >= 0) s.before[i].storage_size = to_u64(r[static_cast<size_t>(l.json_size_at[i])]);
  }
  if (update) {
    s.after = s.before;
    for (size_t k = 0; k < l.assignment_target.size(); ++k) {
      const auto& v = r[l.first_assignment + k];
      Value& dst = s.after[static_cast<size_t>(l.assignment_target[k])];
      dst.null = !v.has_value();
      dst.bytes = v.value_or("");
      dst.storage_size.reset();
      if (t.columns[static_cast<size_t>(l.assignment_target[k])].mysql_json) dst.storage_size = dst.bytes.size();
    }
    s.changes = l.changes_at < 0 || r[static_cast<size_t>(l.changes_at)].value_or("1") != "0";
  }
  return s;
}

// A single-column integer primary key, for spread-out sampling by key ranges.
std::optional<size_t> integer_pk(const TableShape& t) {
  std::optional<size_t> pk;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (!t.columns[i].primary) continue;
    if (pk) return std::nullopt;  // composite
    pk = i;
  }
  if (!pk) return std::nullopt;
  const auto& d = t.columns[*pk].data_type;
  if (d == "int" || d == "bigint" || d == "mediumint" || d == "smallint" || d == "tinyint") return pk;
  return std::nullopt;
}

using ResultRows = std::vector<std::vector<std::optional<std::string>>>;

struct Sampler {
  Connection& c;
  const TableShape& t;
  std::mt19937_64 rng{0x62696e77u};  // fixed seed: the same inputs give the same estimate

  // Up to `n` rows matching `cond` (empty = all), spread over the key range when possible.
  std::vector<std::vector<std::optional<std::string>>> rows(const std::string& list,
                                                            const std::string& cond, size_t n,
                                                            const std::string& order_limit) {
    std::vector<std::vector<std::optional<std::string>>> out;
    const std::string base = "SELECT " + list + " FROM " + qualified(t);
    const std::string w = cond.empty() ? std::string() : "(" + cond + ")";
    const auto pk = integer_pk(t);
    if (!pk || !order_limit.empty()) {
      auto r = c.query(base + (w.empty() ? "" : " WHERE " + w) +
                       (order_limit.empty() ? " LIMIT " + std::to_string(n) : order_limit));
      return std::move(r.rows);
    }
    const std::string pkq = quote_identifier(t.columns[*pk].name);
    const auto mm = c.query("SELECT MIN(" + pkq + "), MAX(" + pkq + ") FROM " + qualified(t) +
                            (w.empty() ? "" : " WHERE " + w));
    if (mm.rows.empty() || !mm.rows[0][0]) return out;
    const long double lo = std::stold(*mm.rows[0][0]), hi = std::stold(*mm.rows[0][1]);
    // Many short key ranges rather than a few long ones: real tables are clustered (rows written
    // together look alike), so a few contiguous chunks give a biased mean. The ranges go to the
    // server as UNION ALL statements of 50 parts each: one round trip per 50 ranges.
    const size_t chunks = std::min<size_t>(n, 100);
    const size_t per = (n + chunks - 1) / chunks;
    std::set<std::string> seen;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const std::string keyed = "SELECT " + list + ", " + pkq + " FROM " + qualified(t);
    auto take = [&](ResultRows& rows) {
      for (auto& row : rows) {
        const std::string key = row.back().value_or("");
        row.pop_back();
        if (seen.insert(key).second && out.size() < n) out.push_back(std::move(row));
      }
    };
    std::string batch;
    size_t parts = 0;
    auto flush = [&] {
      if (parts == 0) return;
      auto r = c.query(batch);
      take(r.rows);
      batch.clear();
      parts = 0;
    };
    for (size_t k = 0; k < chunks; ++k) {
      const long double x = lo + (hi - lo) * (static_cast<long double>(k) + u(rng)) / chunks;
      const std::string start = std::to_string(static_cast<long long>(std::floor(x)));
      batch += std::string(parts ? " UNION ALL " : "") + "(" + keyed + " WHERE " + pkq + " >= " + start +
               (w.empty() ? "" : " AND " + w) + " ORDER BY " + pkq + " LIMIT " + std::to_string(per) + ")";
      if (++parts == 50) flush();
    }
    flush();
    if (out.size() < std::min<size_t>(n, 16)) {  // sparse matches: top up from the start
      auto r = c.query(keyed + (w.empty() ? "" : " WHERE " + w) + " LIMIT " + std::to_string(n));
      take(r.rows);
    }
    return out;
  }

  // `count` runs of up to `k` consecutive matching rows (key order) from random key positions
  // (`from_start`: one run from the smallest matching key).
  std::vector<ResultRows> runs(const std::string& list, const std::string& cond, size_t count, size_t k,
                               bool from_start) {
    std::vector<ResultRows> out(count);
    const auto pk = integer_pk(t);
    if (!pk || count == 0) return {};
    const std::string pkq = quote_identifier(t.columns[*pk].name);
    const std::string w = cond.empty() ? std::string() : "(" + cond + ")";
    const auto mm = c.query("SELECT MIN(" + pkq + "), MAX(" + pkq + ") FROM " + qualified(t) +
                            (w.empty() ? "" : " WHERE " + w));
    if (mm.rows.empty() || !mm.rows[0][0]) return {};
    const long double lo = std::stold(*mm.rows[0][0]), hi = std::stold(*mm.rows[0][1]);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::string q;
    for (size_t i = 0; i < count; ++i) {
      const long double x = from_start ? lo : lo + (hi - lo) * (static_cast<long double>(i) + u(rng)) / static_cast<long double>(count);
      q += std::string(i ? " UNION ALL " : "") + "(SELECT " + list + ", " + std::to_string(i) + " FROM " +
           qualified(t) + " WHERE " + pkq + " >= " + std::to_string(static_cast<long long>(std::floor(x))) +
           (w.empty() ? "" : " AND " + w) + " ORDER BY " + pkq + " LIMIT " + std::to_string(k) + ")";
    }
    auto r = c.query(q);
    for (auto& row : r.rows) {
      const size_t run = std::stoul(row.back().value_or("0"));
      row.pop_back();
      if (run < out.size()) out[run].push_back(std::move(row));
    }
    return out;
  }
};

RowCount count_rows(Connection& c, const TableShape& t, const sql::Dml& d, const PreflightRequest& req,
                    std::vector<std::string>& notes) {
  RowCount rc;
  const std::string from = " FROM " + qualified(t) + (d.where.empty() ? "" : " WHERE " + d.where);
  auto cap = [&](RowCount r) {
    if (d.limit) {
      r.rows = std::min(r.rows, *d.limit);
      r.low = std::min(r.low, *d.limit);
      r.high = std::min(r.high, *d.limit);
    }
    return r;
  };
  if (req.rows) return cap({*req.rows, *req.rows, *req.rows, "given (--rows)"});
  if (req.exact) {
    const uint64_t n = to_u64(c.scalar("SELECT COUNT(*)" + from)).value_or(0);
    return cap({n, n, n, "exact COUNT(*)"});
  }
  const auto ex = c.query("EXPLAIN SELECT 1" + from);
  if (ex.rows.empty()) throw std::runtime_error("EXPLAIN returned nothing");
  const int type_col = ex.column("type"), rows_col = ex.column("rows"), filt = ex.column("filtered");
  const std::string type = type_col >= 0 ? upper(ex.rows[0][type_col].value_or("")) : "";
  double rows = rows_col >= 0 ? static_cast<double>(to_u64(ex.rows[0][rows_col]).value_or(0)) : 0;
  if (filt >= 0 && ex.rows[0][filt]) rows *= std::stod(*ex.rows[0][filt]) / 100.0;
  const bool index_access = type == "RANGE" || type == "REF" || type == "EQ_REF" || type == "CONST" ||
                            type == "INDEX_MERGE" || type == "REF_OR_NULL" || type == "SYSTEM";
  if (ex.rows[0].size() > 0) {
    const int extra = ex.column("Extra");
    if (extra >= 0 && ex.rows[0][extra] && ex.rows[0][extra]->find("Impossible WHERE") != std::string::npos) {
      return {0, 0, 0, "EXPLAIN: impossible WHERE"};
    }
  }
  if (d.where.empty()) {
    const uint64_t n = static_cast<uint64_t>(rows);
    notes.push_back("row count from the optimizer's table statistics (use --exact for COUNT(*))");
    return cap({n, static_cast<uint64_t>(rows * 0.75), static_cast<uint64_t>(std::ceil(rows * 1.25)),
                "EXPLAIN table statistics (+-25%)"});
  }
  if (index_access) {
    const uint64_t n = static_cast<uint64_t>(std::llround(rows));
    return cap({n, static_cast<uint64_t>(rows * 0.7), static_cast<uint64_t>(std::ceil(rows * 1.3)),
                "EXPLAIN index estimate (" + type + ", +-30%)"});
  }
  // Full scan: table size from the statistics times the share of matching rows in a sample
  // spread over the primary key.
  const auto all = c.query("EXPLAIN SELECT 1 FROM " + qualified(t));
  const double table_rows = rows_col >= 0 && !all.rows.empty()
                                ? static_cast<double>(to_u64(all.rows[0][rows_col]).value_or(0)) : rows;
  Sampler s{c, t};
  const auto hits = s.rows("(" + d.where + ") IS TRUE", "", 2000, "");
  uint64_t matched = 0;
  for (const auto& r : hits) matched += r[0].value_or("0") == "1" ? 1 : 0;
  const double n = static_cast<double>(hits.size());
  const double p = n > 0 ? static_cast<double>(matched) / n : 0;
  const double z = 1.96;
  const double den = 1 + z * z / std::max(n, 1.0);
  const double centre = (p + z * z / (2 * std::max(n, 1.0))) / den;
  const double half = z * std::sqrt(p * (1 - p) / std::max(n, 1.0) + z * z / (4 * n * n + 1e-9)) / den;
  RowCount r;
  r.rows = static_cast<uint64_t>(std::llround(table_rows * p));
  r.low = static_cast<uint64_t>(table_rows * 0.75 * std::max(0.0, centre - half));
  r.high = static_cast<uint64_t>(std::ceil(table_rows * 1.25 * std::min(1.0, centre + half)));
  r.method = "sampling: " + std::to_string(matched) + " of " + std::to_string(hits.size()) +
             " sampled rows match, times ~" + std::to_string(static_cast<uint64_t>(table_rows)) +
             " rows in the table statistics";
  return cap(r);
}

std::pair<std::string, std::string> split_table(const std::string& name, Connection& c) {
  // db.t, `db`.`t`, or t with the connection's database.
  auto parsed = sql::parse_dml("DELETE FROM " + name);
  if (auto* d = std::get_if<sql::Dml>(&parsed)) {
    std::string db = d->schema;
    if (db.empty()) db = c.scalar("SELECT DATABASE()").value_or("");
    if (db.empty()) throw std::invalid_argument("table " + name + " has no database: write db.table");
    return {db, d->table};
  }
  throw std::invalid_argument("cannot read table name '" + name + "'");
}

PartitionInfo look_at_partition(Connection& c, const PreflightRequest& req, const ServerSettings& s,
                                std::vector<std::string>& warnings) {
  PartitionInfo p;
  try {
    const auto logs = c.query("SHOW BINARY LOGS");
    for (const auto& r : logs.rows) p.binlog_bytes += to_u64(r.size() > 1 ? r[1] : std::nullopt).value_or(0);
  } catch (const mysql::MysqlError& e) {
    warnings.push_back(std::string("SHOW BINARY LOGS failed (needs BINLOG MONITOR / REPLICATION CLIENT): ") + e.what());
  }
  if (req.free_bytes) {
    p.known = true;
    p.source = "given";
    p.free_bytes = *req.free_bytes;
    p.total_bytes = req.total_bytes.value_or(*req.free_bytes);
    return p;
  }
  std::string dir = req.binlog_dir;
  if (dir.empty()) {
    if (!req.local_server) {
      p.source = "unknown: the server is not on this host; run preflight on the primary, or give "
                 "--binlog-dir / --free-bytes, or --sidecar URL of the sidecar on the primary";
      return p;
    }
    if (s.log_bin_basename.empty()) {
      p.source = "unknown: @@log_bin_basename is empty";
      return p;
    }
    dir = std::filesystem::path(s.log_bin_basename).parent_path().string();
  }
  struct statvfs v{};
  if (::statvfs(dir.c_str(), &v) != 0) {
    p.source = "unknown: cannot statvfs " + dir + " (run preflight on the primary, or give --binlog-dir / --free-bytes)";
    return p;
  }
  p.known = true;
  p.path = dir;
  p.source = "statvfs";
  p.total_bytes = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  p.free_bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  if (req.total_bytes) p.total_bytes = *req.total_bytes;
  return p;
}

// Binlog position as (file, offset) from SHOW MASTER STATUS; nullopt without the privilege.
std::optional<std::pair<std::string, uint64_t>> binlog_position(Connection& c) {
  try {
    const auto r = c.query("SHOW MASTER STATUS");
    if (r.rows.empty() || r.rows[0].size() < 2) return std::nullopt;
    return std::pair{r.rows[0][0].value_or(""), to_u64(r.rows[0][1]).value_or(0)};
  } catch (const mysql::MysqlError&) {
    return std::nullopt;
  }
}

}  // namespace

PreflightResult run_preflight(Connection& c, const PreflightRequest& req,
                              const policy::PreflightPolicy& pol) {
  const auto started = Clock::now();
  PreflightResult out;
  out.policy = pol;
  out.batch_rows = req.batch_rows;
  out.sleep_ms = req.sleep_ms;
  c.exec("SET SESSION character_set_results = binary");
  const auto pos0 = binlog_position(c);
  out.settings = read_server_settings(c, &out.warnings);
  const ServerSettings& s = out.settings;

  // The job.
  sql::Dml dml;
  std::string text;
  if (!req.sql.empty()) {
    if (!req.table.empty() || !req.where.empty()) {
      throw std::invalid_argument("give either --sql or --table [--where|--rows], not both");
    }
    auto parsed = sql::parse_dml(req.sql);
    if (auto* e = std::get_if<sql::ParseError>(&parsed)) throw std::invalid_argument("--sql: " + e->message);
    dml = std::get<sql::Dml>(parsed);
    text = req.sql;
    while (!text.empty() && (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back())))) text.pop_back();
  } else if (!req.table.empty()) {
    auto [db, t] = split_table(req.table, c);
    dml.kind = sql::DmlKind::Delete;
    dml.schema = db;
    dml.table = t;
    dml.where = req.where;
    text = "DELETE FROM " + quote_identifier(db) + "." + quote_identifier(t) +
           (req.where.empty() ? "" : " WHERE " + req.where);
  } else {
    throw std::invalid_argument("no job: give --sql, or --table with --where or --rows");
  }
  if (dml.schema.empty()) {
    dml.schema = c.scalar("SELECT DATABASE()").value_or("");
    if (dml.schema.empty()) throw std::invalid_argument("the statement's table has no database: write db.table");
  }
  JobModel job;
  job.dml = dml;
  job.statement_text = text;
  job.batch_rows = req.batch_rows;
  job.sleep_ms = req.sleep_ms;
  job.shape = load_shape(c, dml.schema, dml.table, s);
  out.statement = text;
  out.table = dml.schema + "." + dml.table;
  if (upper(job.shape.engine) != "INNODB") {
    out.warnings.push_back("table engine is " + job.shape.engine + ", not InnoDB: the row image "
                           "rules for MINIMAL/NOBLOB may not apply (non-transactional engines log "
                           "full images)");
  }
  job.shape.triggers.erase(
      std::remove_if(job.shape.triggers.begin(), job.shape.triggers.end(),
                     [&](const std::string& t) {
                       return t.find(dml.kind == sql::DmlKind::Delete ? "DELETE" : "UPDATE") == std::string::npos;
                     }),
      job.shape.triggers.end());
  if (dml.kind == sql::DmlKind::Update) job.shape.cascade_children.clear();

  std::vector<std::string> notes;
  job.count = count_rows(c, job.shape, dml, req, notes);

  // Sample the job's rows.
  const bool orm = !req.per_row.empty();
  const size_t want = std::max<size_t>(1, orm ? std::min<size_t>(req.sample_rows, 200) : req.sample_rows);
  const SelectList list = select_list(job.shape, dml.assignments);
  Sampler sampler{c, job.shape};
  std::string order_limit;
  if (dml.limit || !dml.order_by.empty()) {
    order_limit = (dml.order_by.empty() ? "" : " ORDER BY " + dml.order_by) + " LIMIT " +
                  std::to_string(std::min<uint64_t>(want, dml.limit.value_or(want)));
  }
  const std::string cond = req.rows && req.sql.empty() && req.where.empty() ? "" : dml.where;
  const auto raw = job.count.rows == 0 ? decltype(sampler.rows(list.sql, cond, want, order_limit)){}
                                       : sampler.rows(list.sql, cond, want, order_limit);
  for (const auto& r : raw) job.sample.push_back(to_sample(job.shape, list, r, dml.kind == sql::DmlKind::Update));
  if (s.mariadb_compress && !orm && !job.sample.empty() && order_limit.empty()) {
    // Runs of about one rows event (binlog_row_event_max_size of row payloads under the row image
    // in force) for the compression ratio. A job whose rows fit in kAllRowsEvents events is read
    // whole, in key order (the ratio is then exact); a bigger one gets kRuns runs spread over the
    // key range: real tables are clustered, and 8 runs missed a NULL-heavy table's ratio by a
    // third (docs/preflight-accuracy.md).
    constexpr size_t kRuns = 48, kAllRowsEvents = 128;
    const double avg = std::max(1.0, mean_payload_bytes(s, job));
    const size_t k = static_cast<size_t>(std::clamp(static_cast<double>(s.row_event_max_size) / avg, 1.0, 2000.0));
    const uint64_t all_limit = static_cast<uint64_t>(k) * kAllRowsEvents;
    const bool whole = job.count.high <= all_limit;
    // Only the columns in the images are read (a MINIMAL image of fat rows is the key alone).
    const auto ic = image_columns(job.shape, s.row_image, dml.kind, assigned_columns(job.shape, dml.assignments));
    std::vector<bool> fetch(job.shape.columns.size(), false);
    for (size_t i = 0; i < fetch.size(); ++i) {
      fetch[i] = (i < ic.before.size() && ic.before[i]) || (i < ic.after.size() && ic.after[i]);
    }
    const SelectList run_list = select_list(job.shape, dml.assignments, fetch);
    auto keep = [&](const std::vector<ResultRows>& runs) {
      job.runs.clear();
      for (const auto& run : runs) {
        std::vector<SampleRow> rows;
        for (const auto& r : run) rows.push_back(to_sample(job.shape, run_list, r, dml.kind == sql::DmlKind::Update));
        if (!rows.empty()) job.runs.push_back(std::move(rows));
      }
    };
    if (whole) keep(sampler.runs(run_list.sql, cond, 1, static_cast<size_t>(all_limit) + 1, true));
    job.runs_complete = whole && job.runs.size() == 1 && job.runs[0].size() <= all_limit;
    // A big job (or more rows than counted): kRuns runs spread over the key range.
    if (!job.runs_complete) keep(sampler.runs(run_list.sql, cond, kRuns, k, false));
  }

  // Per-row follow-up statements, run as SELECTs for every sampled row (`what` names the option
  // or trigger in errors).
  auto follow_up = [&](const std::string& stmt_text, const std::string& what) {
    auto parsed = sql::parse_dml(stmt_text);
    if (auto* e = std::get_if<sql::ParseError>(&parsed)) throw std::invalid_argument(what + ": " + e->message);
    PerRowStatement st;
    st.text = stmt_text;
    st.dml = std::get<sql::Dml>(parsed);
    if (st.dml.schema.empty()) st.dml.schema = dml.schema;
    st.shape = load_shape(c, st.dml.schema, st.dml.table, s);
    const auto binds = sql::bind_names(stmt_text);
    std::vector<int> bind_cols;
    for (const auto& b : binds) {
      const int i = job.shape.index_of(b);
      if (i < 0) {
        throw std::invalid_argument(what + ": :" + b + " is not a column of " + out.table +
                                    " (binds name the deleted row's columns)");
      }
      bind_cols.push_back(i);
    }
    const SelectList pl = select_list(st.shape, st.dml.assignments);
    const std::string tail = (st.dml.order_by.empty() ? "" : " ORDER BY " + st.dml.order_by) +
                             (st.dml.limit ? " LIMIT " + std::to_string(*st.dml.limit) : "");
    for (const auto& row : job.sample) {
      std::map<std::string, std::string> values;
      for (size_t k = 0; k < binds.size(); ++k) {
        const Value& v = row.before[static_cast<size_t>(bind_cols[k])];
        values[binds[k]] = v.null ? "NULL" : c.quote(v.bytes);
      }
      const std::string where = st.dml.where.empty() ? "" : sql::substitute_binds(st.dml.where, values);
      const auto r = c.query("SELECT " + pl.sql + " FROM " + qualified(st.shape) +
                             (where.empty() ? "" : " WHERE " + where) + tail);
      std::vector<SampleRow> rows;
      for (const auto& rr : r.rows) rows.push_back(to_sample(st.shape, pl, rr, st.dml.kind == sql::DmlKind::Update));
      st.changes.push_back(std::move(rows));
      st.text_bytes.push_back(sql::substitute_binds(stmt_text, values).size());
    }
    return st;
  };
  for (const auto& stmt_text : req.per_row) job.per_row.push_back(follow_up(stmt_text, "--per-row"));

  // Simple DELETE triggers (one INSERT ... VALUES, UPDATE or DELETE on OLD.columns): their rows
  // are logged in the job's statement, as rows events of their own between the job's rows
  // (measured on MariaDB 10.11: Delete_rows(t), Write_rows(audit), Delete_rows(t), ...).
  if (dml.kind == sql::DmlKind::Delete && !orm && !job.shape.triggers.empty()) {
    auto model_trigger = [&](const std::string& text) {
      PerRowStatement st;
      const auto ins = sql::parse_insert(text);
      const auto* i = std::get_if<sql::Insert>(&ins);
      if (!i) return follow_up(text, "its statement");
      // The inserted row: listed columns from their expressions, the others from their default
      // (AUTO_INCREMENT: the table's next value), evaluated by the server per sampled row.
      st.text = text;
      st.insert = true;
      st.dml.kind = sql::DmlKind::Update;  // unused for inserts
      st.dml.schema = i->schema.empty() ? dml.schema : i->schema;
      st.dml.table = i->table;
      st.shape = load_shape(c, st.dml.schema, st.dml.table, s);
      const std::string where = " WHERE TABLE_SCHEMA = " + c.quote(st.dml.schema) + " AND TABLE_NAME = " + c.quote(st.dml.table);
      const auto defaults = c.query("SELECT COLUMN_DEFAULT, EXTRA, DATA_TYPE FROM information_schema.COLUMNS" + where +
                                    " ORDER BY ORDINAL_POSITION");
      const std::string next_id = c.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES" + where).value_or("1");
      std::vector<std::string> exprs;
      st.insert_columns.assign(st.shape.columns.size(), false);
      for (size_t k = 0; k < st.shape.columns.size(); ++k) {
        const std::string& col = st.shape.columns[k].name;
        std::string e = "NULL";
        if (k < defaults.rows.size()) {
          const auto& d = defaults.rows[k];
          if (d[1].value_or("").find("auto_increment") != std::string::npos) {
            e = next_id;
            st.insert_columns[k] = true;
          } else if (const auto sql_text = default_sql(d[0], d[1].value_or(""), d[2].value_or(""), s.flavor)) {
            e = *sql_text;
          }
        }
        const std::vector<std::string>& cols = i->columns;
        for (size_t v = 0; v < cols.size(); ++v) {
          if (lower_ascii(cols[v]) == lower_ascii(col)) {
            e = i->values[v];
            st.insert_columns[k] = true;
          }
        }
        if (cols.empty() && k < i->values.size()) {
          e = i->values[k];
          st.insert_columns[k] = true;
        }
        exprs.push_back(e);
      }
      std::string list;
      for (const auto& e : exprs) list += (list.empty() ? "" : ", ") + e;
      if (const auto why = sql::acts_outside_transaction(list)) throw std::invalid_argument(*why);
      const auto binds = sql::bind_names(list);
      for (const auto& row : job.sample) {
        std::map<std::string, std::string> values;
        for (const auto& b : binds) {
          const int at = job.shape.index_of(b);
          if (at < 0) throw std::invalid_argument("OLD." + b + " is not a column of " + out.table);
          const Value& v = row.before[static_cast<size_t>(at)];
          values[b] = v.null ? "NULL" : c.quote(v.bytes);
        }
        const auto rr = c.query("SELECT " + sql::substitute_binds(list, values));
        SampleRow one;
        one.before.resize(st.shape.columns.size());
        for (size_t k = 0; k < one.before.size() && !rr.rows.empty() && k < rr.rows[0].size(); ++k) {
          if (rr.rows[0][k]) {
            one.before[k].null = false;
            one.before[k].bytes = *rr.rows[0][k];
          }
        }
        st.changes.push_back({one});
        st.text_bytes.push_back(0);
      }
      return st;
    };
    const auto trg = c.query(
        "SELECT TRIGGER_NAME, ACTION_TIMING, ACTION_STATEMENT FROM information_schema.TRIGGERS "
        "WHERE EVENT_OBJECT_SCHEMA = " + c.quote(dml.schema) + " AND EVENT_OBJECT_TABLE = " +
        c.quote(dml.table) + " AND EVENT_MANIPULATION = 'DELETE' ORDER BY ACTION_TIMING, ACTION_ORDER");
    auto not_modelled = [&](const std::string& name, const std::string& why) {
      out.warnings.push_back("trigger " + name + " is not modelled (" + why + "): the rows it "
                             "changes are logged too and are NOT in this estimate");
    };
    // Names in a trigger body (tables, stored functions, sequences) resolve in the trigger's
    // database, as when the server fires it: evaluate with that default database.
    const auto previous_db = c.scalar("SELECT DATABASE()");
    if (!trg.rows.empty()) c.exec("USE " + quote_identifier(dml.schema));
    for (const auto& r : trg.rows) {
      const std::string name = r[0].value_or(""), timing = r[1].value_or("");
      const std::string label = timing + " DELETE " + name;
      const auto body = sql::trigger_statement(r[2].value_or(""));
      if (const auto* e = std::get_if<sql::ParseError>(&body)) {
        not_modelled(name, e->message);
        continue;
      }
      const std::string text = std::get<std::string>(body);
      // The trigger's expressions (and its INSERT's column defaults) are the table owner's SQL,
      // evaluated here once per sampled row on what may be a production primary: only inside a
      // read-only transaction (the server refuses every write there, stored functions and
      // sequences included), rolled back, and never when they call a function that waits or
      // locks regardless. Any failure leaves this trigger out with a warning, not the preflight.
      try {
        if (const auto why = sql::acts_outside_transaction(text)) throw std::invalid_argument(*why);
        c.exec("START TRANSACTION READ ONLY");
        PerRowStatement st = model_trigger(text);
        c.exec("ROLLBACK");
        st.name = label;
        job.triggers.push_back(std::move(st));
      } catch (const std::exception& e) {
        try {
          c.exec("ROLLBACK");
        } catch (const std::exception&) {
        }
        not_modelled(name, e.what());
      }
    }
    if (!trg.rows.empty() && previous_db && *previous_db != dml.schema) c.exec("USE " + quote_identifier(*previous_db));
    // The ones not modelled were warned about above.
    job.shape.triggers.clear();
  }

  out.estimate = estimate(s, job);
  out.estimate.notes.insert(out.estimate.notes.end(), notes.begin(), notes.end());
  if (orm) {
    out.estimate.notes.push_back("ORM model: one transaction per job row with its own statement "
                                 "by primary key and every --per-row statement; a per-row "
                                 "statement that changes nothing (e.g. NOW() within the same "
                                 "second) writes nothing, which only makes the job smaller");
  }

  // What a running sidecar has learned about the table (a failure to ask it is a warning).
  std::optional<nlohmann::json> sidecar;
  if (!req.sidecar_url.empty()) {
    try {
      sidecar = fetch_sidecar_status(req.sidecar_url);
    } catch (const std::exception& e) {
      out.warnings.push_back(std::string("sidecar not used: ") + e.what());
    }
  }
  if (sidecar) {
    if (const auto t = sidecar_table(*sidecar, dml.schema, dml.table)) {
      out.calibration = calibrate(out.estimate, dml.kind, *t, req.sidecar_url);
    } else {
      Calibration none;
      none.source = req.sidecar_url;
      none.reason = "the sidecar has seen no rows of this table yet";
      none.sampled_bytes = out.estimate.bytes;
      none.sampled_low = out.estimate.low;
      none.sampled_high = out.estimate.high;
      out.calibration = none;
    }
  }

  // Partition and background growth (sampled across the work above, at least growth_sample_ms).
  out.partition = look_at_partition(c, req, s, out.warnings);
  if (!out.partition.known && sidecar) {
    if (const auto sp = sidecar_binlog_partition(*sidecar)) {
      out.partition.known = true;
      out.partition.path = sp->mount;
      out.partition.source = "sidecar " + req.sidecar_url;
      out.partition.free_bytes = sp->avail;
      out.partition.total_bytes = req.total_bytes.value_or(sp->size);
      if (!req.growth_bytes_per_second && sp->growth_bytes_per_second) {
        out.partition.growth_bytes_per_second = *sp->growth_bytes_per_second;
        out.partition.growth_source = "sidecar projection";
      }
    }
  }
  if (req.growth_bytes_per_second) {
    out.partition.growth_bytes_per_second = *req.growth_bytes_per_second;
    out.partition.growth_source = "given";
  } else if (pos0 && req.growth_sample_ms > 0) {
    const auto elapsed = Clock::now() - started;
    const auto min_wait = std::chrono::milliseconds(req.growth_sample_ms);
    if (elapsed < min_wait) std::this_thread::sleep_for(min_wait - elapsed);
    const auto pos1 = binlog_position(c);
    const double secs = std::chrono::duration<double>(Clock::now() - started).count();
    if (pos1 && pos1->first == pos0->first && secs > 0) {
      out.partition.growth_bytes_per_second =
          static_cast<double>(pos1->second >= pos0->second ? pos1->second - pos0->second : 0) / secs;
      out.partition.growth_source = "SHOW MASTER STATUS over " + std::to_string(std::lround(secs * 1000)) + " ms";
    } else if (pos1) {
      out.partition.growth_source = "binlog rotated while sampling; growth not measured";
    }
  } else {
    out.partition.growth_source = "not measured (no SHOW MASTER STATUS privilege or disabled)";
  }
  if (out.partition.known) {
    out.verdict = policy::decide(pol, job_figures(out),
                                 {out.partition.total_bytes, out.partition.free_bytes,
                                  out.partition.growth_bytes_per_second});
  }
  out.elapsed_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return out;
}

policy::JobFigures job_figures(const PreflightResult& r) {
  policy::JobFigures j;
  j.bytes = r.estimate.bytes;
  j.high = r.estimate.high;
  j.rows = r.estimate.rows.rows;
  j.batch_rows = r.batch_rows;
  j.sleep_ms = r.sleep_ms;
  j.per_row_transactions = r.estimate.transactions > 0 && r.estimate.batch_rows == 1 &&
                           r.estimate.model.find("ORM") != std::string::npos;
  j.largest_transaction_bytes = r.estimate.largest_transaction_bytes;
  j.max_binlog_cache_size = r.settings.max_binlog_cache_size;
  return j;
}

}  // namespace binwatch::preflight
