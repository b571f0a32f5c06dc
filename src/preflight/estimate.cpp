// Sources for the sizes: MariaDB 10.11 sql/log_event_server.cc (Gtid_log_event::write,
// Annotate_rows_log_event, Rows_log_event::get_data_size / write_compressed, Xid_log_event),
// sql/sql_class.cc (THD::binlog_prepare_pending_rows_event: a new rows event starts when
// data_size + row > binlog_row_event_max_size), sql/table.cc (mark_columns_per_binlog_row_image),
// sql/log_event.cc (binlog_buf_compress: zlib compress() at the default level). MySQL 8.4
// libs/mysql/binlog/event/control_events.h (Gtid_event sizes) for the MySQL constants.
#include "binwatch/preflight/estimate.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <numeric>

namespace binwatch::preflight {

namespace {

uint64_t packed_len(uint64_t v) { return v < 251 ? 1 : v < 65536 ? 3 : v < (1u << 24) ? 4 : 9; }
uint64_t crc(const ServerSettings& s) { return s.checksum_crc32 ? 4 : 0; }
uint64_t ceil_div(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }

std::string lower(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v;
}

void put_le(std::string& out, uint64_t v, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) out += static_cast<char>(i < 8 ? (v >> (8 * i)) & 0xff : 0);
}
void put_be(std::string& out, uint64_t v, uint32_t n) {
  for (uint32_t i = n; i > 0; --i) out += static_cast<char>(i - 1 < 8 ? (v >> (8 * (i - 1))) & 0xff : 0);
}

uint64_t round_u64(double v) { return v <= 0 ? 0 : static_cast<uint64_t>(std::llround(v)); }

uint64_t zlib_size(const std::string& data) {
  uLongf len = compressBound(static_cast<uLong>(data.size()));
  std::string out(len, '\0');
  if (compress(reinterpret_cast<Bytef*>(out.data()), &len,
               reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size())) != Z_OK) {
    return data.size();
  }
  return len;
}

uint64_t zstd_size(const std::string& data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  return ZSTD_isError(n) ? data.size() : n;
}

struct Stats {
  double mean = 0, sd = 0;
  size_t n = 0;
};
Stats stats(const std::vector<double>& xs) {
  Stats st;
  st.n = xs.size();
  if (xs.empty()) return st;
  st.mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - st.mean) * (x - st.mean);
  st.sd = xs.size() > 1 ? std::sqrt(ss / static_cast<double>(xs.size() - 1)) : 0;
  return st;
}

// Relative half-width (about 95%) of the mean of `st` as an estimate for `population` rows.
double relative_error(const Stats& st, uint64_t population) {
  if (st.n == 0 || st.mean <= 0) return 0;
  if (population <= st.n) return 0;
  const double fpc = std::sqrt(1.0 - static_cast<double>(st.n) / static_cast<double>(population));
  return 2.0 * st.sd / std::sqrt(static_cast<double>(st.n)) * fpc / st.mean;
}

// Wilson interval for a proportion.
std::pair<double, double> wilson(uint64_t hits, uint64_t n) {
  if (n == 0) return {0, 1};
  const double z = 1.96, p = static_cast<double>(hits) / static_cast<double>(n), nn = static_cast<double>(n);
  const double den = 1 + z * z / nn;
  const double centre = (p + z * z / (2 * nn)) / den;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace

uint64_t gtid_event_size(const ServerSettings& s) {
  // MariaDB: seq_no 8, domain 4, flags 1, padded to 19 (+2 more with a group commit id, written
  // only when several transactions commit together). MySQL 8.0: 42 + commit timestamps 7 +
  // transaction length (~3) + server version 4 ~= 56 body bytes, plus a QUERY "BEGIN" (~55).
  if (s.is_mariadb()) return 19 + 19 + crc(s);
  return (19 + 56 + crc(s)) + (19 + 13 + 26 + 1 + 5 + crc(s));
}

uint64_t xid_event_size(const ServerSettings& s) { return 19 + 8 + crc(s); }

uint64_t annotate_event_size(const ServerSettings& s, uint64_t text_bytes) {
  if (!s.log_statement_with_rows) return 0;
  // MariaDB ANNOTATE_ROWS: the text is the whole body. MySQL ROWS_QUERY: 1 length byte first.
  return 19 + (s.is_mariadb() ? 0 : 1) + text_bytes + crc(s);
}

uint64_t query_event_size(const ServerSettings& s, uint64_t db_bytes, uint64_t text_bytes) {
  // Post-header 13; status variables measured on MariaDB 10.11 for a plain DML: 26 bytes.
  return 19 + 13 + 26 + db_bytes + 1 + text_bytes + crc(s);
}

bool unsafe_for_statement(const sql::Dml& d, const std::string& text) {
  if (d.limit) return true;  // LIMIT makes the chosen rows depend on the plan
  const std::string t = lower(text);
  for (const char* f : {"uuid(", "rand(", "sysdate(", "user(", "found_rows(", "row_count(",
                        "load_file(", "uuid_short(", "version("}) {
    if (t.find(f) != std::string::npos) return true;
  }
  return false;
}

std::vector<bool> assigned_columns(const TableShape& t, const std::vector<sql::Assignment>& set) {
  std::vector<bool> out(t.columns.size(), false);
  for (const auto& a : set) {
    const int i = t.index_of(a.column);
    if (i >= 0) out[static_cast<size_t>(i)] = true;
  }
  if (!set.empty()) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i].on_update_now) out[i] = true;
    }
  }
  return out;
}

ImageColumns image_columns(const TableShape& t, RowImage mode, sql::DmlKind kind,
                           const std::vector<bool>& assigned) {
  const size_t n = t.columns.size();
  ImageColumns ic;
  ic.before.assign(n, true);
  // Without a primary key the server logs every column in the before image whatever the mode
  // (MariaDB table.cc mark_columns_per_binlog_row_image).
  if (t.has_primary_key) {
    for (size_t i = 0; i < n; ++i) {
      const auto& c = t.columns[i];
      if (mode == RowImage::Minimal) ic.before[i] = c.primary;
      if (mode == RowImage::NoBlob) ic.before[i] = c.primary || !c.blob;
    }
  }
  if (kind == sql::DmlKind::Update) {
    ic.after.assign(n, true);
    for (size_t i = 0; i < n; ++i) {
      const bool a = i < assigned.size() && assigned[i];
      if (mode == RowImage::Minimal) ic.after[i] = a;
      if (mode == RowImage::NoBlob) ic.after[i] = a || t.columns[i].primary || !t.columns[i].blob;
    }
  }
  return ic;
}

std::string encode_image(const TableShape& t, const RowValues& values,
                         const std::vector<bool>& present) {
  using namespace binlog::column_type;
  std::string out;
  size_t count = 0;
  for (bool p : present) count += p ? 1 : 0;
  std::string bitmap((count + 7) / 8, '\0');
  size_t bit = 0;
  std::string data;
  for (size_t i = 0; i < t.columns.size() && i < values.size(); ++i) {
    if (!present[i]) continue;
    const auto& c = t.columns[i];
    const Value& v = values[i];
    if (v.null) {
      bitmap[bit / 8] = static_cast<char>(bitmap[bit / 8] | (1 << (bit % 8)));
      ++bit;
      continue;
    }
    ++bit;
    if (c.layout.layout == binlog::ValueLayout::LengthPrefix) {
      if (c.mysql_json && v.storage_size) {
        const uint64_t n = *v.storage_size;
        put_le(data, n, c.layout.prefix);
        std::string body = v.bytes;
        body.resize(n, ' ');
        data += body;
      } else {
        put_le(data, v.bytes.size(), c.layout.prefix);
        data += v.bytes;
      }
      continue;
    }
    const uint32_t n = c.layout.fixed;
    switch (c.binlog_type) {
      case Tiny: case Short: case Int24: case Long: case LongLong: case Year: {
        const uint64_t x = v.bytes.starts_with('-')
                               ? static_cast<uint64_t>(std::strtoll(v.bytes.c_str(), nullptr, 10))
                               : std::strtoull(v.bytes.c_str(), nullptr, 10);
        put_le(data, x, n);
        break;
      }
      case Float: {
        const float f = std::strtof(v.bytes.c_str(), nullptr);
        uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof bits);
        put_le(data, bits, n);
        break;
      }
      case Double: {
        const double d = std::strtod(v.bytes.c_str(), nullptr);
        uint64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        put_le(data, bits, n);
        break;
      }
      case Bit: {
        std::string b = v.bytes;
        b.resize(n, '\0');
        data += b;
        break;
      }
      default: {
        if (c.binlog_type == DateTime2 || c.binlog_type == Timestamp2 || c.binlog_type == Date ||
            c.binlog_type == Time2) {
          // The server's packed forms (MariaDB sql/compat56.cc, field.cc), so neighbouring values
          // share their high bytes as they do on disk.
          int f[7] = {0, 0, 0, 0, 0, 0, 0};  // year month day hour minute second micro
          int k = 0;
          size_t frac_digits = 0;
          bool in_frac = false;
          for (char ch : v.bytes) {
            if (ch >= '0' && ch <= '9') {
              if (k < 7) f[k] = f[k] * 10 + (ch - '0');
              if (in_frac) ++frac_digits;
            } else if (k < 6) {
              ++k;
              in_frac = ch == '.' && k == (c.binlog_type == Time2 ? 3 : 6);
              if (in_frac) k = 6;
            }
          }
          while (frac_digits > 0 && frac_digits < 6) { f[6] *= 10; ++frac_digits; }
          const uint32_t frac_bytes = (c.metadata + 1) / 2;
          auto frac = [&] { put_be(data, static_cast<uint64_t>(f[6]) / (frac_bytes == 1 ? 10000 : frac_bytes == 2 ? 100 : 1), frac_bytes); };
          if (c.binlog_type == DateTime2) {
            const uint64_t ym = static_cast<uint64_t>(f[0]) * 13 + static_cast<uint64_t>(f[1]);
            const uint64_t ip = (((ym << 5) | static_cast<uint64_t>(f[2])) << 17) |
                                (static_cast<uint64_t>(f[3]) << 12 | static_cast<uint64_t>(f[4]) << 6 | static_cast<uint64_t>(f[5]));
            put_be(data, ip + 0x8000000000ull, 5);
            frac();
          } else if (c.binlog_type == Timestamp2) {
            const int64_t days = f[0] * 365 + f[0] / 4 + f[1] * 31 + f[2];  // monotonic, not exact
            put_be(data, static_cast<uint64_t>(days * 86400 + f[3] * 3600 + f[4] * 60 + f[5]), 4);
            frac();
          } else if (c.binlog_type == Date) {
            put_le(data, static_cast<uint64_t>(f[2] | f[1] << 5 | f[0] << 9), 3);
          } else {  // TIME2: hours minutes seconds
            put_be(data, (static_cast<uint64_t>(f[0]) << 12 | static_cast<uint64_t>(f[1]) << 6 | static_cast<uint64_t>(f[2])) + 0x800000, 3);
            frac();
          }
        } else if (c.temporal_or_decimal) {
          uint64_t digits = 0;
          int k = 0;
          for (char ch : v.bytes) {
            if (ch >= '0' && ch <= '9' && k < 19) {
              digits = digits * 10 + static_cast<uint64_t>(ch - '0');
              ++k;
            }
          }
          put_be(data, digits, n);
        } else if (!c.enum_set_names.empty()) {
          auto it = std::find(c.enum_set_names.begin(), c.enum_set_names.end(), v.bytes);
          put_le(data, static_cast<uint64_t>(it - c.enum_set_names.begin()) + 1, n);
        } else {
          std::string b = v.bytes;
          b.resize(n, '\0');
          data += b;
        }
      }
    }
  }
  out = bitmap;
  out += data;
  return out;
}

RowsEvents pack_rows_events(const ServerSettings& s, size_t column_count, bool update,
                            const std::vector<const std::string*>& payloads,
                            std::optional<double> ratio) {
  RowsEvents r;
  const uint64_t post = s.is_mariadb() ? 8 : 10;  // MariaDB writes v1 rows events, MySQL v2
  const uint64_t bitmaps = (column_count + 7) / 8 * (update ? 2 : 1);
  const uint64_t head = post + packed_len(column_count) + bitmaps;
  std::string data;
  bool open = false;
  bool compressed = false;
  uint64_t rows_in_event = 0;
  auto flush = [&] {
    if (!open) return;
    const uint64_t raw = 19 + head + data.size() + crc(s);
    uint64_t disk = raw;
    if (compressed) {
      const uint64_t lenlen = data.size() < (1u << 8) ? 1 : data.size() < (1u << 16) ? 2
                              : data.size() < (1u << 24) ? 3 : 4;
      const uint64_t packed = ratio ? round_u64(static_cast<double>(data.size()) * *ratio) : zlib_size(data);
      disk = 19 + head + 1 + lenlen + packed + crc(s);
      r.compressed_data += packed;
      r.compressible_data += data.size();
    }
    r.last_bytes = disk;
    r.last_uncompressed = raw;
    r.last_data = data.size();
    r.last_rows = rows_in_event;
    rows_in_event = 0;
    r.bytes += disk;
    r.uncompressed += raw;
    r.row_data += data.size();
    ++r.events;
    data.clear();
    open = false;
  };
  for (const std::string* p : payloads) {
    if (open && head + data.size() + p->size() > s.row_event_max_size) flush();
    if (!open) {
      // MariaDB picks the compressed event type when it opens the event, from the size of the
      // row that opens it (THD::binlog_write_row: binlog_should_compress(len)); later rows join
      // whatever type was picked.
      compressed = s.is_mariadb() && s.mariadb_compress && p->size() >= s.compress_min_len;
    }
    open = true;
    data += *p;
    ++rows_in_event;
  }
  flush();
  return r;
}

namespace {

// A sampled row's payload in the rows events: before image, plus the after image for an UPDATE.
std::string row_payload(const JobModel& job, const ImageColumns& ic, const SampleRow& r) {
  std::string p = encode_image(job.shape, r.before, ic.before);
  if (job.dml.kind == sql::DmlKind::Update) p += encode_image(job.shape, r.after, ic.after);
  return p;
}

ImageColumns job_image_columns(const ServerSettings& s, const JobModel& job) {
  return image_columns(job.shape, s.row_image, job.dml.kind, assigned_columns(job.shape, job.dml.assignments));
}

std::string percent(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  const double r = std::round(v * 100 * scale) / scale;
  std::string t = std::to_string(r);
  const size_t dot = t.find('.');
  if (dot != std::string::npos) t = decimals > 0 ? t.substr(0, dot + 1 + static_cast<size_t>(decimals)) : t.substr(0, dot);
  return t + "%";
}

std::string fmt_ratio_note(const RunsRatio& r, bool complete) {
  if (complete) {
    return "compression ratio " + percent(r.ratio, 1) + " measured on all " + std::to_string(r.rows) +
           " rows the job changes, in key order, packed into rows events as the server does";
  }
  return "compression ratio " + percent(r.ratio, 1) + " (+-" + percent(r.relative_error, 0) +
         ") measured on " + std::to_string(r.runs) + " runs of consecutive rows (" +
         std::to_string(r.rows) + " rows) spread over the key range";
}

}  // namespace

double mean_payload_bytes(const ServerSettings& s, const JobModel& job) {
  const auto ic = job_image_columns(s, job);
  const bool update = job.dml.kind == sql::DmlKind::Update;
  double bytes = 0;
  size_t n = 0;
  for (const auto& r : job.sample) {
    if (update && !r.changes) continue;
    bytes += static_cast<double>(row_payload(job, ic, r).size());
    ++n;
  }
  return n ? bytes / static_cast<double>(n) : 0;
}

std::optional<RunsRatio> runs_compression_ratio(const ServerSettings& s, const JobModel& job) {
  if (!s.is_mariadb() || !s.mariadb_compress || job.runs.empty()) return std::nullopt;
  const auto ic = job_image_columns(s, job);
  const bool update = job.dml.kind == sql::DmlKind::Update;
  // Per run: compressed and raw bytes of its compressed events (each event is its own zlib
  // stream, as the server writes it: Rows_log_event::write_compressed -> binlog_buf_compress).
  std::vector<double> packed, raw;
  RunsRatio out;
  for (const auto& run : job.runs) {
    std::vector<std::string> ps;
    for (const auto& r : run) {
      if (update && !r.changes) continue;
      ps.push_back(row_payload(job, ic, r));
    }
    std::vector<const std::string*> pp;
    for (const auto& p : ps) pp.push_back(&p);
    const RowsEvents re = pack_rows_events(s, job.shape.columns.size(), update, pp);
    out.rows += ps.size();
    if (re.compressible_data == 0) continue;
    packed.push_back(static_cast<double>(re.compressed_data));
    raw.push_back(static_cast<double>(re.compressible_data));
  }
  if (raw.empty()) return std::nullopt;
  const double sum_p = std::accumulate(packed.begin(), packed.end(), 0.0);
  const double sum_r = std::accumulate(raw.begin(), raw.end(), 0.0);
  out.ratio = sum_p / sum_r;
  out.runs = raw.size();
  if (!job.runs_complete && raw.size() > 1) {
    // Ratio estimator over clusters (the runs): Var(R) ~ (1 - f) / (n rbar^2) * s_d^2 with
    // d_i = p_i - R r_i; f is the share of the job's rows the runs hold.
    const double n = static_cast<double>(raw.size());
    double ss = 0;
    for (size_t i = 0; i < raw.size(); ++i) ss += (packed[i] - out.ratio * raw[i]) * (packed[i] - out.ratio * raw[i]);
    const double rbar = sum_r / n;
    const double f = job.count.rows > 0 ? std::min(1.0, static_cast<double>(out.rows) / static_cast<double>(job.count.rows)) : 0;
    const double var = (1 - f) / (n * rbar * rbar) * ss / (n - 1);
    out.relative_error = out.ratio > 0 ? 2.0 * std::sqrt(var) / out.ratio : 0;
  } else if (!job.runs_complete) {
    out.relative_error = 0.5;  // one run says little about a clustered table
  }
  return out;
}

Estimate estimate(const ServerSettings& s, const JobModel& job) {
  Estimate e;
  e.rows = job.count;
  // Complete runs hold every row the job changes, in key order: they are the sample then, and
  // their rows events are packed and compressed exactly as the server will.
  const bool complete = job.runs_complete && job.runs.size() == 1 && job.per_row.empty() && job.triggers.empty();
  const std::vector<SampleRow>& sample = complete ? job.runs[0] : job.sample;
  e.sampled_rows = sample.size();
  const uint64_t n = job.count.rows;
  const bool update = job.dml.kind == sql::DmlKind::Update;
  const bool orm = !job.per_row.empty();
  const std::string db = job.shape.schema;

  if (!s.log_bin) {
    e.model = "none";
    e.warnings.push_back("binary logging is off on this server (log_bin=OFF): the job writes no "
                         "binlog here");
    return e;
  }

  // Which format the server will use for the job's statements.
  bool rows_format = s.format == BinlogFormat::Row;
  if (s.format == BinlogFormat::Mixed) {
    const bool batched = job.batch_rows > 0 && job.batch_rows < n;
    rows_format = orm ? false : (batched || unsafe_for_statement(job.dml, job.statement_text));
  }
  e.model = rows_format ? "row" : "statement";
  if (s.format == BinlogFormat::Mixed) {
    e.model += rows_format ? " (MIXED: statement unsafe or batched with LIMIT, logged as rows)"
                           : " (MIXED: statement safe, logged as text)";
  }
  if (orm) e.model += ", ORM per-row transactions";

  const auto assigned = assigned_columns(job.shape, job.dml.assignments);
  const auto ic = image_columns(job.shape, s.row_image, job.dml.kind, assigned);
  const size_t ncols = job.shape.columns.size();

  // Sampled rows that change, and their row payloads.
  std::vector<std::string> payloads;
  std::vector<double> payload_sizes;
  uint64_t changing = 0;
  for (const auto& r : sample) {
    if (update && !r.changes) {
      payloads.emplace_back();
      continue;
    }
    ++changing;
    std::string p = encode_image(job.shape, r.before, ic.before);
    if (update) p += encode_image(job.shape, r.after, ic.after);
    payload_sizes.push_back(static_cast<double>(p.size()));
    payloads.push_back(std::move(p));
  }
  const double fraction = sample.empty() ? 1.0
                          : static_cast<double>(changing) / static_cast<double>(sample.size());
  auto [f_low, f_high] = update ? wilson(changing, sample.size()) : std::pair{1.0, 1.0};
  if (update && sample.size() == n) f_low = f_high = fraction;
  e.changed_rows = round_u64(static_cast<double>(n) * fraction);
  if (n > 0 && sample.empty()) {
    e.warnings.push_back("no rows could be sampled: row images are not in the estimate");
  }

  uint64_t maps = table_map_event_size(job.shape, s);
  for (const auto& child : job.shape.cascade_children) {
    // Child table maps are logged per statement; their shape is not loaded, count a typical map.
    (void)child;
    maps += 60;
  }
  for (const auto& t : job.triggers) maps += table_map_event_size(t.shape, s);
  if (!job.shape.cascade_children.empty()) {
    e.notes.push_back("foreign keys with ON DELETE CASCADE/SET NULL from " +
                      std::to_string(job.shape.cascade_children.size()) +
                      " table(s): the server logs their TABLE_MAP per statement but not the "
                      "cascaded rows (InnoDB applies cascades below the binlog; replicas redo them)");
  }
  if (!job.shape.triggers.empty()) {
    std::string names;
    for (const auto& t : job.shape.triggers) names += (names.empty() ? "" : ", ") + t;
    e.warnings.push_back("triggers on the table (" + names + "): the rows they change are logged "
                         "too and are NOT in this estimate; model them with --per-row");
  }

  const double margin = (s.mariadb_compress || s.mysql_transaction_compression) ? 0.05 : 0.02;
  const uint64_t fixed_tx = gtid_event_size(s) + xid_event_size(s);
  Stats payload_stats = stats(payload_sizes);
  double ratio_error = 0;  // relative sampling error of the compression ratio

  if (!orm) {
    const uint64_t batch = job.batch_rows > 0 ? std::min<uint64_t>(job.batch_rows, std::max<uint64_t>(n, 1))
                                              : std::max<uint64_t>(n, 1);
    e.batch_rows = batch;
    const uint64_t tx = n == 0 ? 0 : ceil_div(n, batch);
    std::string text = job.statement_text;
    if (job.batch_rows > 0 && job.batch_rows < n && !job.dml.limit) {
      text += " LIMIT " + std::to_string(job.batch_rows);
    }
    e.transactions = tx;
    e.statements = tx;
    if (rows_format) {
      // Compression ratio from contiguous runs (neighbouring rows compress together).
      std::optional<double> ratio;
      if (const auto rr = runs_compression_ratio(s, job)) {
        if (!complete) {
          ratio = rr->ratio;
          ratio_error = rr->relative_error;
        }
        e.notes.push_back(fmt_ratio_note(*rr, complete));
      }
      // Simulate statements over the sampled changing rows, `chunk` rows each.
      std::vector<const std::string*> chunk_rows;
      RowsEvents total;
      const uint64_t chunk = std::max<uint64_t>(1, std::min<uint64_t>(batch, std::max<uint64_t>(changing, 1)));
      auto run = [&] {
        if (chunk_rows.empty()) return;
        RowsEvents r = pack_rows_events(s, ncols, update, chunk_rows, ratio);
        total.bytes += r.bytes;
        total.uncompressed += r.uncompressed;
        total.events += r.events;
        total.row_data += r.row_data;
        chunk_rows.clear();
      };
      uint64_t rows_counted = changing;
      if (chunk >= changing) {
        // One statement covers more rows than the sample: the sample is a slice of a longer
        // stream, so its last, partly filled event is left out of the per-row figure.
        for (size_t i = 0; i < sample.size(); ++i) {
          if (!(update && !sample[i].changes)) chunk_rows.push_back(&payloads[i]);
        }
        RowsEvents r = pack_rows_events(s, ncols, update, chunk_rows, ratio);
        chunk_rows.clear();
        if (r.events > 1 && batch > changing) {
          r.bytes -= r.last_bytes;
          r.uncompressed -= r.last_uncompressed;
          r.row_data -= r.last_data;
          r.events -= 1;
          rows_counted -= r.last_rows;
        }
        total = r;
      } else {
        for (size_t i = 0; i < sample.size(); ++i) {
          if (update && !sample[i].changes) continue;
          chunk_rows.push_back(&payloads[i]);
          if (chunk_rows.size() >= chunk) run();
        }
        run();
      }
      // Triggers: per job row, its row then each trigger's rows, every table switch a new rows
      // event (the server flushes the pending event when the table changes), compressed one by
      // one. Simulated over the sample as one statement.
      uint64_t trigger_bytes = 0;
      if (!job.triggers.empty()) {
        struct Segment {
          int key;
          size_t columns;
          bool update;
          std::vector<const std::string*> rows;
        };
        std::vector<Segment> segs;
        std::deque<std::string> store;
        auto add = [&](int key, size_t columns, bool upd, const std::string* p) {
          if (segs.empty() || segs.back().key != key) segs.push_back({key, columns, upd, {}});
          segs.back().rows.push_back(p);
        };
        for (size_t i = 0; i < sample.size(); ++i) {
          if (update && !sample[i].changes) continue;
          add(-1, ncols, update, &payloads[i]);
          for (size_t k = 0; k < job.triggers.size(); ++k) {
            const auto& t = job.triggers[k];
            if (i >= t.changes.size()) continue;
            const bool t_update = !t.insert && t.dml.kind == sql::DmlKind::Update;
            ImageColumns tic;
            if (t.insert) {
              // WRITE_ROWS: FULL the whole new row; MINIMAL the given and AUTO_INCREMENT columns;
              // NOBLOB those plus every non-BLOB column.
              tic.before.assign(t.shape.columns.size(), true);
              for (size_t c = 0; c < tic.before.size() && s.row_image != RowImage::Full; ++c) {
                const bool given = c < t.insert_columns.size() && t.insert_columns[c];
                tic.before[c] = given || (s.row_image == RowImage::NoBlob && !t.shape.columns[c].blob);
              }
            } else {
              tic = image_columns(t.shape, s.row_image, t.dml.kind, assigned_columns(t.shape, t.dml.assignments));
            }
            for (const auto& row : t.changes[i]) {
              if (t_update && !row.changes) continue;
              std::string p = encode_image(t.shape, row.before, tic.before);
              if (t_update) p += encode_image(t.shape, row.after, tic.after);
              store.push_back(std::move(p));
              add(static_cast<int>(k), t.shape.columns.size(), t_update, &store.back());
            }
          }
        }
        total = RowsEvents{};
        for (const auto& g : segs) {
          const RowsEvents r = pack_rows_events(s, g.columns, g.update, g.rows);
          total.bytes += r.bytes;
          total.uncompressed += r.uncompressed;
          total.events += r.events;
          total.row_data += r.row_data;
          if (g.key >= 0) trigger_bytes += r.bytes;
        }
        rows_counted = changing;
        std::string names;
        for (const auto& t : job.triggers) names += (names.empty() ? "" : ", ") + t.name;
        e.notes.push_back("triggers modelled (" + names + "): their rows are logged in the job's "
                          "statement, each job row and each trigger row set in rows events of "
                          "their own (measured on MariaDB 10.11)");
      }
      double per_row = 0, per_row_raw = 0, events_per_row = 0, data_per_row = 0;
      if (rows_counted > 0) {
        const double n_rows = static_cast<double>(rows_counted);
        per_row = static_cast<double>(total.bytes) / n_rows;
        per_row_raw = static_cast<double>(total.uncompressed) / n_rows;
        events_per_row = static_cast<double>(total.events) / n_rows;
        data_per_row = static_cast<double>(total.row_data) / n_rows;
      }
      // MySQL binlog_transaction_compression: zstd over the whole transaction; approximated by the
      // ratio of zstd over the sampled row data (not verified against a MySQL server here).
      if (!s.is_mariadb() && s.mysql_transaction_compression && !payloads.empty()) {
        std::string all;
        for (const auto& p : payloads) all += p;
        const double ratio = all.empty() ? 1.0 : static_cast<double>(zstd_size(all, s.zstd_level)) /
                                                     static_cast<double>(all.size());
        per_row = per_row_raw * ratio;
        e.notes.push_back("MySQL transaction compression modelled as zstd over sampled row images "
                          "(not measured against a MySQL server)");
      }
      e.compression_ratio = per_row_raw > 0 ? per_row / per_row_raw : 1.0;
      e.row_image_bytes_per_row = data_per_row;
      const uint64_t per_stmt = annotate_event_size(s, text.size()) + maps;
      const double rows_bytes = per_row * static_cast<double>(e.changed_rows);
      const uint64_t statements_with_rows = update && changing == 0 ? 0 : tx;
      const uint64_t fixed = statements_with_rows * (fixed_tx + per_stmt);
      e.bytes = round_u64(rows_bytes) + fixed;
      const double trigger_share = total.bytes > 0 ? static_cast<double>(trigger_bytes) / static_cast<double>(total.bytes) : 0;
      uint64_t trigger_maps = 0;
      for (const auto& t : job.triggers) trigger_maps += table_map_event_size(t.shape, s);
      e.table_bytes = round_u64(rows_bytes * (1 - trigger_share)) + statements_with_rows * (maps - trigger_maps);
      e.uncompressed_bytes = round_u64(per_row_raw * static_cast<double>(e.changed_rows)) + fixed;
      e.events = round_u64(events_per_row * static_cast<double>(e.changed_rows)) +
                 statements_with_rows * (2 + (s.log_statement_with_rows ? 1 : 0) + 1 +
                                         job.shape.cascade_children.size());
      e.components.push_back({"row events", round_u64(rows_bytes * (1 - trigger_share)),
                              std::to_string(round_u64(per_row * (1 - trigger_share))) + " B/row on disk, " +
                                  std::to_string(round_u64(data_per_row)) + " B/row of row images" +
                                  (job.triggers.empty() ? "" : " (trigger rows included)")});
      if (!job.triggers.empty()) {
        e.components.push_back({"trigger row events", round_u64(rows_bytes * trigger_share),
                                std::to_string(round_u64(per_row * trigger_share)) + " B per job row"});
      }
      e.components.push_back({"table maps", statements_with_rows * maps,
                              std::to_string(maps) + " B per statement"});
      if (s.log_statement_with_rows) {
        e.components.push_back({"statement text (annotate)",
                                statements_with_rows * annotate_event_size(s, text.size()),
                                std::to_string(annotate_event_size(s, text.size())) + " B per statement"});
      }
      e.components.push_back({"GTID + XID", statements_with_rows * fixed_tx,
                              std::to_string(fixed_tx) + " B per transaction"});
      e.largest_transaction_bytes =
          round_u64(per_row * fraction * static_cast<double>(std::min(batch, n))) + fixed_tx + per_stmt;
      const double rel = std::hypot(relative_error(payload_stats, e.changed_rows), ratio_error) + margin;
      const double rows_low = static_cast<double>(job.count.low) * f_low;
      const double rows_high = static_cast<double>(job.count.high) * f_high;
      const uint64_t tx_low = job.count.low == 0 ? 0 : ceil_div(job.count.low, batch);
      const uint64_t tx_high = ceil_div(job.count.high, batch);
      e.low = round_u64(per_row * (1 - rel) * rows_low) + tx_low * (fixed_tx + per_stmt);
      e.high = round_u64(per_row * (1 + rel) * rows_high) + tx_high * (fixed_tx + per_stmt);
    } else {
      const uint64_t q = query_event_size(s, db.size(), text.size());
      e.bytes = e.uncompressed_bytes = tx * (fixed_tx + q);
      e.events = tx * 3;
      e.components.push_back({"statements", tx * q, std::to_string(q) + " B per statement"});
      e.components.push_back({"GTID + XID", tx * fixed_tx, std::to_string(fixed_tx) + " B per transaction"});
      e.largest_transaction_bytes = fixed_tx + q;
      const uint64_t tx_low = job.count.low == 0 ? 0 : ceil_div(job.count.low, batch);
      const uint64_t tx_high = ceil_div(job.count.high, batch);
      e.low = round_u64(static_cast<double>(tx_low * (fixed_tx + q)) * 0.95);
      e.high = round_u64(static_cast<double>(tx_high * (fixed_tx + q)) * 1.05);
    }
  } else {
    // ORM: one transaction per job row: the row's own DELETE/UPDATE by primary key, then every
    // per-row statement with the row's values bound.
    e.batch_rows = 1;
    e.transactions = n;
    std::string pk_name;
    for (const auto& c : job.shape.columns) {
      if (c.primary) { pk_name = c.name; break; }
    }
    std::vector<double> tx_bytes, tx_raw;
    double own_rows = 0, own_stmt = 0, follow_rows = 0, events = 0;
    std::vector<double> follow_by_stmt(job.per_row.size(), 0.0);
    for (size_t i = 0; i < sample.size(); ++i) {
      const auto& r = sample[i];
      if (update && !r.changes) continue;
      // "DELETE FROM `db`.`t` WHERE `id` = 123"-sized text.
      uint64_t pk_len = 1;
      const int pk = job.shape.index_of(pk_name);
      if (pk >= 0 && static_cast<size_t>(pk) < r.before.size()) pk_len = r.before[pk].bytes.size();
      const uint64_t text = (update ? 24 : 19) + db.size() + job.shape.table.size() + 4 +
                            pk_name.size() + 5 + pk_len;
      const std::vector<const std::string*> one{&payloads[i]};
      const RowsEvents own = rows_format ? pack_rows_events(s, ncols, update, one) : RowsEvents{};
      uint64_t b = fixed_tx;
      uint64_t raw = fixed_tx;
      double ev = 2;
      if (rows_format) {
        const uint64_t st = annotate_event_size(s, text) + maps;
        b += st + own.bytes;
        raw += st + own.uncompressed;
        own_rows += static_cast<double>(own.bytes);
        own_stmt += static_cast<double>(st);
        ev += (s.log_statement_with_rows ? 1 : 0) + 1 + own.events;
      } else {
        const uint64_t q = query_event_size(s, db.size(), text);
        b += q;
        raw += q;
        own_stmt += static_cast<double>(q);
        ev += 1;
      }
      for (size_t k = 0; k < job.per_row.size(); ++k) {
        const auto& st = job.per_row[k];
        if (i >= st.changes.size()) continue;
        const uint64_t text_k = i < st.text_bytes.size() ? st.text_bytes[i] : st.text.size();
        if (!rows_format) {
          const uint64_t q = query_event_size(s, db.size(), text_k);
          b += q;
          raw += q;
          follow_by_stmt[k] += static_cast<double>(q);
          ev += 1;
          continue;
        }
        const bool st_update = st.dml.kind == sql::DmlKind::Update;
        const auto a = assigned_columns(st.shape, st.dml.assignments);
        const auto sic = image_columns(st.shape, s.row_image, st.dml.kind, a);
        std::vector<std::string> ps;
        for (const auto& row : st.changes[i]) {
          if (st_update && !row.changes) continue;
          std::string p = encode_image(st.shape, row.before, sic.before);
          if (st_update) p += encode_image(st.shape, row.after, sic.after);
          ps.push_back(std::move(p));
        }
        if (ps.empty()) continue;  // nothing changes: the server logs nothing for it
        std::vector<const std::string*> pp;
        for (const auto& p : ps) pp.push_back(&p);
        const RowsEvents re = pack_rows_events(s, st.shape.columns.size(), st_update, pp);
        const uint64_t head = annotate_event_size(s, text_k) + table_map_event_size(st.shape, s);
        b += head + re.bytes;
        raw += head + re.uncompressed;
        follow_rows += static_cast<double>(re.bytes);
        follow_by_stmt[k] += static_cast<double>(head + re.bytes);
        ev += (s.log_statement_with_rows ? 1 : 0) + 1 + re.events;
      }
      tx_bytes.push_back(static_cast<double>(b));
      tx_raw.push_back(static_cast<double>(raw));
      events += ev;
    }
    const Stats st = stats(tx_bytes);
    const double per_tx = st.mean;
    const double per_tx_raw = stats(tx_raw).mean;
    const double k = tx_bytes.empty() ? 0 : static_cast<double>(e.changed_rows) / static_cast<double>(tx_bytes.size());
    e.transactions = e.changed_rows;
    e.statements = e.changed_rows * (1 + job.per_row.size());
    e.bytes = round_u64(per_tx * static_cast<double>(e.changed_rows));
    e.uncompressed_bytes = round_u64(per_tx_raw * static_cast<double>(e.changed_rows));
    e.events = round_u64(events * k);
    e.compression_ratio = per_tx_raw > 0 ? per_tx / per_tx_raw : 1.0;
    e.largest_transaction_bytes = tx_bytes.empty() ? 0 : round_u64(*std::max_element(tx_bytes.begin(), tx_bytes.end()));
    e.components.push_back({"job rows' own statements", round_u64((own_rows + own_stmt) * k),
                            "one " + std::string(update ? "UPDATE" : "DELETE") + " by primary key per row"});
    for (size_t q = 0; q < job.per_row.size(); ++q) {
      e.components.push_back({"per-row: " + job.per_row[q].text, round_u64(follow_by_stmt[q] * k),
                              "amplification on " + job.per_row[q].shape.schema + "." +
                                  job.per_row[q].shape.table});
    }
    e.components.push_back({"GTID + XID", e.changed_rows * fixed_tx,
                            std::to_string(fixed_tx) + " B per transaction (one per job row)"});
    (void)follow_rows;
    const double rel = relative_error(st, e.changed_rows) + margin;
    e.low = round_u64(per_tx * (1 - rel) * static_cast<double>(job.count.low) * f_low);
    e.high = round_u64(per_tx * (1 + rel) * static_cast<double>(job.count.high) * f_high);
  }
  e.low = std::min(e.low, e.bytes);
  e.high = std::max(e.high, e.bytes);
  e.bytes_per_row = n ? static_cast<double>(e.bytes) / static_cast<double>(n) : 0;

  if (e.largest_transaction_bytes > s.max_binlog_cache_size) {
    e.warnings.push_back("one transaction would write about " +
                         std::to_string(e.largest_transaction_bytes) +
                         " bytes, more than max_binlog_cache_size (" +
                         std::to_string(s.max_binlog_cache_size) +
                         "): the server fails it with error 1197; use --batch-rows");
  }
  if (e.largest_transaction_bytes > s.max_binlog_size) {
    e.warnings.push_back("one transaction would write more than max_binlog_size (" +
                         std::to_string(s.max_binlog_size) +
                         "): it lands as a single burst in one oversized binlog file");
  }
  if (s.is_mariadb() && s.mariadb_compress && !rows_format) {
    e.notes.push_back("log_bin_compress also compresses long QUERY events; the statement estimate "
                      "does not (it is an upper bound there)");
  }
  return e;
}

}  // namespace binwatch::preflight
