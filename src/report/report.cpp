#include "binwatch/report.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <exception>
#include <optional>
#include <set>
#include <tuple>
#include <thread>

#include <fmt/format.h>

#include "binwatch/binlog/event_type.h"
#include "binwatch/binlog/table_map.h"

namespace binwatch {

Report build_report(const std::vector<std::string>& paths, const ReportOptions& options) {
  struct Slot {
    FileSummary summary;
    Attribution attribution;
    std::unique_ptr<ReportViews> views;
    std::exception_ptr failure;
  };
  std::vector<Slot> slots(paths.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) {
      Slot& slot = slots[i];
      try {
        slot.views = std::make_unique<ReportViews>(options.views);
        slot.views->begin_file(paths[i], i);
        ScanOptions scan = options.scan;
        scan.observer = slot.views.get();
        if (i == 0) scan.filter.start_position = options.start_position;
        if (i + 1 == paths.size()) scan.filter.stop_position = options.stop_position;
        auto source = open_source(paths[i]);
        if (options.progress) source->count_input_into(options.progress);
        slot.summary = scan_binlog(*source, slot.attribution, scan);
        slot.views->end_file();
      } catch (...) {
        slot.failure = std::current_exception();
      }
    }
  };
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, paths.size()));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  Report report;
  report.views = ReportViews(options.views);
  report.filter = options.scan.filter;
  report.filter.start_position = options.start_position;
  report.filter.stop_position = options.stop_position;
  for (auto& slot : slots) {
    if (slot.failure) std::rethrow_exception(slot.failure);
  }
  for (auto& slot : slots) {
    report.files.push_back(std::move(slot.summary));
    report.attribution.merge(slot.attribution);
    report.views.merge(*slot.views);
  }
  return report;
}

uint64_t covered_seconds(const std::vector<FileSummary>& files) {
  std::optional<uint32_t> first, last;
  for (const auto& f : files) {
    if (f.earliest_time && (!first || *f.earliest_time < *first)) first = f.earliest_time;
    if (f.latest_time && (!last || *f.latest_time > *last)) last = f.latest_time;
  }
  if (!first || !last || *last < *first) return 0;
  return *last - *first;
}

BaselineComparison compare_baseline(const Report& incident, const Report& baseline,
                                    std::vector<std::string> baseline_files, double ratio_alert) {
  BaselineComparison out;
  out.files = std::move(baseline_files);
  out.ratio_alert = ratio_alert;
  out.incident_covered_seconds = covered_seconds(incident.files);
  out.covered_seconds = covered_seconds(baseline.files);
  const double hours = static_cast<double>(std::max<uint64_t>(1, out.incident_covered_seconds)) / 3600.0;
  const double base_hours = static_cast<double>(std::max<uint64_t>(1, out.covered_seconds)) / 3600.0;
  auto row = [&](BaselineRow r) {
    r.rate_per_hour = static_cast<double>(r.bytes) / hours;
    r.baseline_rate_per_hour = static_cast<double>(r.baseline_bytes) / base_hours;
    if (r.baseline_bytes > 0) r.ratio = r.rate_per_hour / r.baseline_rate_per_hour;
    // A table that is new in the incident files and writes anything is worth a look too.
    r.flagged = r.bytes > 0 && (!r.ratio || *r.ratio >= ratio_alert);
    return r;
  };
  auto column_name = [&](const TableStats& t, size_t i) {
    if (i < t.column_names.size()) return t.column_names[i];
    auto names = incident.schema_column_names.find(t.key.schema + "." + t.key.table);
    if (names != incident.schema_column_names.end() && i < names->second.size()) return names->second[i];
    return "@" + std::to_string(i + 1);
  };
  std::set<TableKey> seen;
  auto add_table = [&](const TableStats* mine, const TableStats* theirs) {
    const TableStats& any = mine ? *mine : *theirs;
    if (!seen.insert(any.key).second) return;
    BaselineRow r;
    r.schema = any.key.schema;
    r.table = any.key.table;
    r.bytes = mine ? mine->bytes : 0;
    r.baseline_bytes = theirs ? theirs->bytes : 0;
    out.tables.push_back(row(r));
    const size_t ncols = std::max(mine ? mine->columns.before.size() : 0,
                                  theirs ? theirs->columns.before.size() : 0);
    for (size_t i = 0; i < ncols; ++i) {
      auto col_bytes = [&](const TableStats* t) -> uint64_t {
        if (!t || i >= t->columns.before.size()) return 0;
        return t->columns.before[i] + t->columns.after[i];
      };
      BaselineRow c;
      c.schema = r.schema;
      c.table = r.table;
      c.column = column_name(mine && i < mine->columns.before.size() ? *mine : any, i);
      if (theirs && i < theirs->column_names.size() && (!mine || i >= mine->column_names.size())) {
        c.column = theirs->column_names[i];
      }
      c.bytes = col_bytes(mine);
      c.baseline_bytes = col_bytes(theirs);
      if (c.bytes == 0 && c.baseline_bytes == 0) continue;
      out.columns.push_back(row(c));
    }
  };
  for (const TableStats& t : incident.attribution.tables()) {
    add_table(&t, baseline.attribution.find(t.key.schema, t.key.table));
  }
  for (const TableStats& t : baseline.attribution.tables()) {
    add_table(incident.attribution.find(t.key.schema, t.key.table), &t);
  }
  auto by_rate = [](const BaselineRow& a, const BaselineRow& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.baseline_bytes != b.baseline_bytes) return a.baseline_bytes > b.baseline_bytes;
    return std::tie(a.schema, a.table, a.column) < std::tie(b.schema, b.table, b.column);
  };
  std::sort(out.tables.begin(), out.tables.end(), by_rate);
  std::sort(out.columns.begin(), out.columns.end(), by_rate);
  return out;
}

std::string iso8601_utc(uint32_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string human_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (ok && len == 1 && (c < 0x20 || c == 0x7f)) ok = false;
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

double share_of(uint64_t part, uint64_t total) {
  return total ? static_cast<double>(part) / static_cast<double>(total) : 0.0;
}

nlohmann::ordered_json optional_time(const std::optional<uint32_t>& t) {
  return t ? nlohmann::ordered_json(iso8601_utc(*t)) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json optional_number(const std::optional<uint64_t>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string_view column_type_name(uint8_t t) {
  namespace ct = binlog::column_type;
  switch (t) {
    case ct::Decimal: return "decimal_old";
    case ct::Tiny: return "tinyint";
    case ct::Short: return "smallint";
    case ct::Long: return "int";
    case ct::Float: return "float";
    case ct::Double: return "double";
    case ct::Null: return "null";
    case ct::Timestamp: case ct::Timestamp2: return "timestamp";
    case ct::LongLong: return "bigint";
    case ct::Int24: return "mediumint";
    case ct::Date: case ct::NewDate: return "date";
    case ct::Time: case ct::Time2: return "time";
    case ct::DateTime: case ct::DateTime2: return "datetime";
    case ct::Year: return "year";
    case ct::VarChar: case ct::VarString: return "varchar";
    case ct::Bit: return "bit";
    case ct::Json: return "json";
    case ct::NewDecimal: return "decimal";
    case ct::Enum: return "enum";
    case ct::Set: return "set";
    case ct::TinyBlob: case ct::MediumBlob: case ct::LongBlob: case ct::Blob: return "blob/text";
    case ct::String: return "char/enum/set";
    case ct::Geometry: return "geometry";
    case ct::MariadbBlobCompressed: return "blob/text compressed";
    case ct::MariadbVarcharCompressed: return "varchar compressed";
    case ct::Vector: return "vector";
    default: return "other";
  }
}

}  // namespace

std::vector<ColumnRow> column_rows(const Report& report) {
  std::vector<ColumnRow> rows;
  for (const TableStats* t : report.attribution.tables_by_bytes()) {
    const auto names = report.schema_column_names.find(t->key.schema + "." + t->key.table);
    uint64_t image_bytes = t->columns.image_overhead;
    for (size_t i = 0; i < t->columns.before.size(); ++i) image_bytes += t->columns.before[i] + t->columns.after[i];
    for (size_t i = 0; i < t->columns.before.size(); ++i) {
      ColumnRow r;
      r.schema = t->key.schema;
      r.table = t->key.table;
      r.index = i + 1;
      if (i < t->column_names.size()) {
        r.column = t->column_names[i];
        r.name_source = "binlog";
      } else if (names != report.schema_column_names.end() && i < names->second.size()) {
        r.column = names->second[i];
        r.name_source = "information_schema";
      } else {
        r.column = "@" + std::to_string(i + 1);
        r.name_source = "position";
      }
      r.type = i < t->column_types.size() ? t->column_types[i] : 0;
      r.type_name = std::string(column_type_name(r.type));
      r.before_bytes = t->columns.before[i];
      r.after_bytes = t->columns.after[i];
      r.bytes = r.before_bytes + r.after_bytes;
      r.null_images = t->columns.nulls[i];
      r.share_of_table = image_bytes ? static_cast<double>(r.bytes) / static_cast<double>(image_bytes) : 0.0;
      rows.push_back(std::move(r));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ColumnRow& a, const ColumnRow& b) { return a.bytes > b.bytes; });
  return rows;
}

std::vector<const StatementStats*> statements_by_bytes(const Report& report) {
  std::vector<const StatementStats*> out;
  for (const auto& [fp, st] : report.views.statements()) {
    if (!fp.empty()) out.push_back(&st);
  }
  std::stable_sort(out.begin(), out.end(), [](const StatementStats* a, const StatementStats* b) {
    return a->bytes() > b->bytes();
  });
  return out;
}

uint64_t rows_bytes_without_text(const Report& report) {
  auto it = report.views.statements().find("");
  return it == report.views.statements().end() ? 0 : it->second.rows_bytes;
}

MinuteView minute_view(const Report& report) {
  MinuteView v;
  std::map<TableKey, uint64_t> totals;
  for (const auto& [minute, tables] : report.views.minute_tables()) {
    for (const auto& [key, bytes] : tables) totals[key] += bytes;
  }
  std::vector<std::pair<TableKey, uint64_t>> order(totals.begin(), totals.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (order.size() > report.top_tables) order.resize(report.top_tables);
  for (const auto& [key, bytes] : order) v.tables.push_back(key);
  std::set<uint32_t> minutes;
  for (const auto& [m, _] : report.views.minute_tables()) minutes.insert(m);
  for (const auto& [m, _] : report.views.minute_other()) minutes.insert(m);
  for (uint32_t m : minutes) {
    MinuteView::Row row;
    row.epoch = m;
    row.tables.assign(v.tables.size(), 0);
    auto t = report.views.minute_tables().find(m);
    if (t != report.views.minute_tables().end()) {
      for (const auto& [key, bytes] : t->second) {
        auto at = std::find(v.tables.begin(), v.tables.end(), key);
        if (at != v.tables.end()) {
          row.tables[static_cast<size_t>(at - v.tables.begin())] += bytes;
        } else {
          row.other_tables += bytes;
        }
      }
    }
    auto o = report.views.minute_other().find(m);
    if (o != report.views.minute_other().end()) row.non_table = o->second;
    row.total = row.other_tables + row.non_table;
    for (uint64_t b : row.tables) row.total += b;
    v.rows.push_back(std::move(row));
  }
  return v;
}

nlohmann::ordered_json report_json(const Report& report) {
  using json = nlohmann::ordered_json;
  const Attribution& a = report.attribution;
  json out;
  json files = json::array();
  for (const auto& f : report.files) {
    json torn = nullptr;
    if (f.torn_tail) torn = json{{"offset", f.torn_tail->offset}, {"bytes", f.torn_tail->bytes}};
    files.push_back(json{{"path", f.path},
                         {"size", f.size},
                         {"server_version", f.server_version},
                         {"checksum", f.checksum},
                         {"events", f.events},
                         {"first_event_time", optional_time(f.first_event_time)},
                         {"last_event_time", optional_time(f.last_event_time)},
                         {"closed_cleanly", f.closed_cleanly},
                         {"torn_tail", torn},
                         {"unknown_events", f.unknown_events}});
  }
  out["files"] = std::move(files);
  json tables = json::array();
  for (const TableStats* t : a.tables_by_bytes()) {
    json columns = json::array();
    for (size_t i = 0; i < t->columns.before.size(); ++i) {
      json c{{"index", i + 1}};
      c["name"] = i < t->column_names.size() ? json(t->column_names[i]) : json(nullptr);
      c["type"] = i < t->column_types.size() ? json(t->column_types[i]) : json(nullptr);
      c["before_bytes"] = t->columns.before[i];
      c["after_bytes"] = t->columns.after[i];
      c["bytes"] = t->columns.before[i] + t->columns.after[i];
      c["null_images"] = t->columns.nulls[i];
      columns.push_back(std::move(c));
    }
    tables.push_back(json{{"schema", t->key.schema},
                          {"table", t->key.table},
                          {"bytes", t->bytes},
                          {"uncompressed_bytes", t->uncompressed_bytes},
                          {"events", t->events},
                          {"rows_events", t->rows_events},
                          {"table_map_events", t->table_map_events},
                          {"table_map_bytes", t->table_map_bytes},
                          {"rows", t->rows},
                          {"inserts", t->inserts},
                          {"updates", t->updates},
                          {"deletes", t->deletes},
                          {"share", share_of(t->bytes, a.total_bytes)},
                          {"row_image_overhead_bytes", t->columns.image_overhead},
                          {"columns", std::move(columns)}});
  }
  out["tables"] = std::move(tables);
  out["other"] = json{{"statement", a.other.statement},
                      {"overhead", a.other.overhead},
                      {"magic", a.other.magic},
                      {"torn", a.other.torn},
                      {"corrupt", a.other.corrupt}};
  json types = json::array();
  for (const auto& [type, s] : a.types) {
    types.push_back(json{{"type", type},
                         {"name", binlog::event_type_name(type)},
                         {"events", s.events},
                         {"bytes", s.bytes}});
  }
  out["types"] = std::move(types);
  json errors = json::array();
  for (const auto& e : a.errors) {
    errors.push_back(json{{"file", e.file},
                          {"offset", e.offset},
                          {"kind", binlog::error_kind_name(e.kind)},
                          {"detail", e.detail}});
  }
  out["errors"] = std::move(errors);
  out["total_bytes"] = a.total_bytes;
  const ScanFilter& f = report.filter;
  out["filters"] = json{{"start_datetime", optional_time(f.start_time)},
                        {"stop_datetime", optional_time(f.stop_time)},
                        {"start_position", optional_number(f.start_position)},
                        {"stop_position", optional_number(f.stop_position)},
                        {"databases", f.databases},
                        {"tables", f.tables}};
  out["covered_seconds"] = covered_seconds(report.files);
  out["other"]["excluded"] = a.other.excluded;

  if (report.show.column) {
    json columns = json::array();
    for (const ColumnRow& c : column_rows(report)) {
      columns.push_back(json{{"schema", c.schema}, {"table", c.table}, {"index", c.index},
                             {"column", c.column}, {"name_source", c.name_source},
                             {"type", c.type}, {"type_name", c.type_name},
                             {"before_bytes", c.before_bytes}, {"after_bytes", c.after_bytes},
                             {"bytes", c.bytes}, {"null_images", c.null_images},
                             {"share_of_table", c.share_of_table}});
    }
    out["columns"] = std::move(columns);
  }
  if (report.show.statement) {
    json items = json::array();
    for (const StatementStats* st : statements_by_bytes(report)) {
      items.push_back(json{{"fingerprint", st->fingerprint}, {"sample", st->sample},
                           {"source", st->source}, {"bytes", st->bytes()},
                           {"rows_bytes", st->rows_bytes}, {"rows_events", st->rows_events},
                           {"rows", st->rows}, {"query_bytes", st->query_bytes},
                           {"query_events", st->query_events},
                           {"tables", std::vector<std::string>(st->tables.begin(), st->tables.end())}});
    }
    out["statements"] = json{{"has_text", report.views.has_statement_text()},
                             {"rows_bytes_without_text", rows_bytes_without_text(report)},
                             {"items", std::move(items)}};
  }
  if (report.show.transaction) {
    json trx = json::array();
    for (const TransactionStats& t : report.views.transactions()) {
      trx.push_back(json{{"id", t.id()},
                         {"gtid", t.gtid.empty() ? json(nullptr) : json(t.gtid)},
                         {"file", t.file}, {"start_position", t.start_position},
                         {"end_position", t.end_position},
                         {"start_time", t.start_time ? json(iso8601_utc(t.start_time)) : json(nullptr)},
                         {"end_time", t.end_time ? json(iso8601_utc(t.end_time)) : json(nullptr)},
                         {"start_epoch", t.start_time}, {"end_epoch", t.end_time},
                         {"bytes", t.bytes}, {"rows", t.rows}, {"events", t.events},
                         {"complete", t.complete},
                         {"tables", std::vector<std::string>(t.tables.begin(), t.tables.end())}});
    }
    out["transactions"] = std::move(trx);
  }
  if (report.show.minute) {
    const MinuteView v = minute_view(report);
    json names = json::array();
    for (const TableKey& k : v.tables) names.push_back(k.schema + "." + k.table);
    json items = json::array();
    for (const auto& r : v.rows) {
      items.push_back(json{{"minute", iso8601_utc(r.epoch)}, {"epoch", r.epoch}, {"tables", r.tables},
                           {"other_tables", r.other_tables}, {"non_table", r.non_table},
                           {"total", r.total}});
    }
    out["minutes"] = json{{"tables", std::move(names)}, {"items", std::move(items)}};
  }
  if (report.baseline) {
    const BaselineComparison& b = *report.baseline;
    auto rows = [](const std::vector<BaselineRow>& in, bool columns) {
      json arr = json::array();
      for (const BaselineRow& r : in) {
        json j{{"schema", r.schema}, {"table", r.table}};
        if (columns) j["column"] = r.column;
        j["bytes"] = r.bytes;
        j["baseline_bytes"] = r.baseline_bytes;
        j["rate_per_hour"] = r.rate_per_hour;
        j["baseline_rate_per_hour"] = r.baseline_rate_per_hour;
        j["ratio"] = r.ratio ? json(*r.ratio) : json(nullptr);
        j["flagged"] = r.flagged;
        arr.push_back(std::move(j));
      }
      return arr;
    };
    out["baseline"] = json{{"files", b.files}, {"covered_seconds", b.covered_seconds},
                           {"incident_covered_seconds", b.incident_covered_seconds},
                           {"ratio_alert", b.ratio_alert}, {"tables", rows(b.tables, false)},
                           {"columns", rows(b.columns, true)}};
  }
  return out;
}

std::string report_table(const Report& report) {
  const Attribution& a = report.attribution;
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line(fmt::format("binwatch report: {} file{}, {} ({} bytes)", report.files.size(),
                   report.files.size() == 1 ? "" : "s", human_bytes(a.total_bytes), a.total_bytes));
  if (report.filter.start_time || report.filter.stop_time || report.filter.start_position ||
      report.filter.stop_position || report.filter.selects_tables()) {
    line(fmt::format("filtered: {} of it outside the selection (--start-*/--stop-*/--database/--table)",
                     human_bytes(a.other.excluded)));
  }
  line("");
  size_t name_w = 5;
  const auto tables = a.tables_by_bytes();
  for (const TableStats* t : tables) {
    name_w = std::max(name_w, printable(t->key.schema + "." + t->key.table).size());
  }
  name_w = std::min<size_t>(name_w, 64);
  line(fmt::format("{:<{}}  {:>10}  {:>6}  {:>9}  {:>11}  {:>11}  {:>11}  {:>11}", "TABLE", name_w,
                   "BYTES", "SHARE", "EVENTS", "ROWS", "INSERTS", "UPDATES", "DELETES"));
  for (const TableStats* t : tables) {
    if (!report.show.table) break;
    line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%  {:>9}  {:>11}  {:>11}  {:>11}  {:>11}",
                     printable(t->key.schema + "." + t->key.table), name_w, human_bytes(t->bytes),
                     100 * share_of(t->bytes, a.total_bytes), t->events, t->rows, t->inserts,
                     t->updates, t->deletes));
  }
  if (tables.empty()) {
    line(a.other.excluded ? "(no row events in the selection)"
                          : "(no row events: the binlogs hold no ROW-format changes)");
  }
  if (!report.show.table && !tables.empty()) {
    line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%   {} tables (--by table lists them)", "(tables)", name_w,
                     human_bytes(a.table_bytes()), 100 * share_of(a.table_bytes(), a.total_bytes), tables.size()));
  }
  line("");
  const OtherBytes& o = a.other;
  line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%   QUERY events", "(statement)", name_w,
                   human_bytes(o.statement), 100 * share_of(o.statement, a.total_bytes)));
  line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%   GTID, XID, format description, rotate, ...",
                   "(overhead)", name_w, human_bytes(o.overhead), 100 * share_of(o.overhead, a.total_bytes)));
  if (o.torn) line(fmt::format("{:<{}}  {:>10}           incomplete last event", "(torn)", name_w, human_bytes(o.torn)));
  if (o.corrupt) line(fmt::format("{:<{}}  {:>10}           failed checksum or malformed", "(corrupt)", name_w, human_bytes(o.corrupt)));
  if (o.excluded) line(fmt::format("{:<{}}  {:>10}           outside the filters", "(excluded)", name_w, human_bytes(o.excluded)));
  line(fmt::format("{:<{}}  {:>10}", "TOTAL", name_w, human_bytes(a.total_bytes)));
  out += views_text(report);
  line("");
  line("FILES");
  for (const auto& f : report.files) {
    std::string state = f.closed_cleanly ? "closed" : "in use/not closed";
    if (f.torn_tail) {
      state += fmt::format(", TORN at offset {} ({} bytes)", f.torn_tail->offset, f.torn_tail->bytes);
    }
    line(fmt::format("  {}  {}  server {}  checksum {}  {} events  {} .. {}  {}", f.path,
                     human_bytes(f.size), f.server_version.empty() ? "?" : f.server_version,
                     f.checksum, f.events,
                     f.first_event_time ? iso8601_utc(*f.first_event_time) : "-",
                     f.last_event_time ? iso8601_utc(*f.last_event_time) : "-", state));
  }
  if (!a.errors.empty()) {
    line("");
    line(fmt::format("ERRORS ({})", a.errors.size()));
    size_t shown = 0;
    for (const auto& e : a.errors) {
      if (++shown > 20) {
        line(fmt::format("  ... {} more (see --format json)", a.errors.size() - 20));
        break;
      }
      line(fmt::format("  {} offset {}: {}: {}", e.file, e.offset, binlog::error_kind_name(e.kind),
                       printable(e.detail)));
    }
  }
  return out;
}

}  // namespace binwatch
