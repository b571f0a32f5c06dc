#include "binwatch/report.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <exception>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "binwatch/binlog/event_type.h"

namespace binwatch {

Report build_report(const std::vector<std::string>& paths, const ReportOptions& options) {
  struct Slot {
    FileSummary summary;
    Attribution attribution;
    std::exception_ptr failure;
  };
  std::vector<Slot> slots(paths.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) {
      try {
        auto source = open_source(paths[i]);
        slots[i].summary = scan_binlog(*source, slots[i].attribution, options.scan);
      } catch (...) {
        slots[i].failure = std::current_exception();
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
  for (auto& slot : slots) {
    if (slot.failure) std::rethrow_exception(slot.failure);
  }
  for (auto& slot : slots) {
    report.files.push_back(std::move(slot.summary));
    report.attribution.merge(slot.attribution);
  }
  return report;
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

}  // namespace

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
  return out;
}

std::string report_table(const Report& report) {
  const Attribution& a = report.attribution;
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line(fmt::format("binwatch report: {} file{}, {} ({} bytes)", report.files.size(),
                   report.files.size() == 1 ? "" : "s", human_bytes(a.total_bytes), a.total_bytes));
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
    line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%  {:>9}  {:>11}  {:>11}  {:>11}  {:>11}",
                     printable(t->key.schema + "." + t->key.table), name_w, human_bytes(t->bytes),
                     100 * share_of(t->bytes, a.total_bytes), t->events, t->rows, t->inserts,
                     t->updates, t->deletes));
  }
  if (tables.empty()) line("(no row events: the binlogs hold no ROW-format changes)");
  line("");
  const OtherBytes& o = a.other;
  line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%   QUERY events", "(statement)", name_w,
                   human_bytes(o.statement), 100 * share_of(o.statement, a.total_bytes)));
  line(fmt::format("{:<{}}  {:>10}  {:>5.1f}%   GTID, XID, format description, rotate, ...",
                   "(overhead)", name_w, human_bytes(o.overhead), 100 * share_of(o.overhead, a.total_bytes)));
  if (o.torn) line(fmt::format("{:<{}}  {:>10}           incomplete last event", "(torn)", name_w, human_bytes(o.torn)));
  if (o.corrupt) line(fmt::format("{:<{}}  {:>10}           failed checksum or malformed", "(corrupt)", name_w, human_bytes(o.corrupt)));
  line(fmt::format("{:<{}}  {:>10}", "TOTAL", name_w, human_bytes(a.total_bytes)));
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
