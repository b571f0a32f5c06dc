// Terminal and CSV renderings of the report views (column, statement, transaction, minute, type,
// baseline). Terminal output: aligned columns, human units; CSV: exact integers, one view each.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "binwatch/binlog/event_type.h"
#include "binwatch/report.h"

namespace binwatch {

namespace {

constexpr size_t kMaxRows = 25;  // per view on a terminal; JSON and CSV have everything

std::string pct(double share) { return fmt::format("{:5.1f}%", 100 * share); }

std::string ratio_text(const std::optional<double>& r) {
  if (!r) return "new";
  return *r >= 100 ? fmt::format("{:.0f}x", *r) : fmt::format("{:.1f}x", *r);
}

std::string rate_text(double bytes_per_hour) {
  return human_bytes(static_cast<uint64_t>(bytes_per_hour + 0.5)) + "/h";
}

std::string clip(std::string s, size_t width) {
  if (s.size() <= width) return s;
  s.resize(width - 3);
  return s + "...";
}

std::string csv_field(std::string_view v) {
  const bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join_tables(const std::set<std::string>& tables) {
  std::string out;
  for (const auto& t : tables) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

}  // namespace

std::string views_text(const Report& report) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  const uint64_t total = report.attribution.total_bytes;

  if (report.show.column) {
    line("");
    line("COLUMNS (bytes in row images; before = delete/update-before images, after = insert/update-after)");
    line(fmt::format("{:<40}  {:<14}  {:>10}  {:>10}  {:>10}  {:>7}  {:>9}", "TABLE.COLUMN", "TYPE", "BYTES",
                     "BEFORE", "AFTER", "OF TABLE", "NULLS"));
    const auto rows = column_rows(report);
    size_t shown = 0;
    for (const ColumnRow& c : rows) {
      if (++shown > kMaxRows) {
        line(fmt::format("  ... {} more columns (--format json or csv for all)", rows.size() - kMaxRows));
        break;
      }
      line(fmt::format("{:<40}  {:<14}  {:>10}  {:>10}  {:>10}  {:>7}  {:>9}",
                       clip(printable(c.schema + "." + c.table + "." + c.column), 40), c.type_name,
                       human_bytes(c.bytes), human_bytes(c.before_bytes), human_bytes(c.after_bytes),
                       pct(c.share_of_table), c.null_images));
    }
    if (rows.empty()) line("(no row images)");
    if (std::any_of(rows.begin(), rows.end(), [](const ColumnRow& c) { return c.name_source == "position"; })) {
      line("(@N: column N; the binlog has no column names: binlog_row_metadata=FULL logs them, or pass --dsn)");
    }
  }

  if (report.show.statement) {
    line("");
    line("STATEMENTS (row-event bytes by the statement that produced them; QUERY events by text)");
    const auto items = statements_by_bytes(report);
    const uint64_t untexted = rows_bytes_without_text(report);
    if (!report.views.has_statement_text()) {
      line("(the binlog carries no statement text for row events: enable binlog_annotate_row_events "
           "(MariaDB) or binlog_rows_query_log_events (MySQL) to see which statement wrote them)");
    }
    line(fmt::format("{:>10}  {:>6}  {:>10}  {:>8}  {}", "BYTES", "SHARE", "ROWS", "EVENTS", "FINGERPRINT"));
    size_t shown = 0;
    for (const StatementStats* st : items) {
      if (++shown > kMaxRows) {
        line(fmt::format("  ... {} more fingerprints", items.size() - kMaxRows));
        break;
      }
      line(fmt::format("{:>10}  {:>6}  {:>10}  {:>8}  {}", human_bytes(st->bytes()),
                       pct(total ? static_cast<double>(st->bytes()) / static_cast<double>(total) : 0),
                       st->rows, st->rows_events + st->query_events, clip(printable(st->fingerprint), 100)));
    }
    if (untexted) {
      line(fmt::format("{:>10}  {:>6}  {:>10}  {:>8}  (row events without statement text)", human_bytes(untexted),
                       pct(total ? static_cast<double>(untexted) / static_cast<double>(total) : 0), "", ""));
    }
  }

  if (report.show.transaction) {
    line("");
    line(fmt::format("TRANSACTIONS (top {} by bytes)", report.views.options().top_transactions));
    line(fmt::format("{:>10}  {:>9}  {:<20}  {:<20}  {:<42}  {}", "BYTES", "ROWS", "START", "END", "GTID OR FILE:POS",
                     "TABLES"));
    for (const TransactionStats& t : report.views.transactions()) {
      line(fmt::format("{:>10}  {:>9}  {:<20}  {:<20}  {:<42}  {}{}", human_bytes(t.bytes), t.rows,
                       t.start_time ? iso8601_utc(t.start_time) : "-", t.end_time ? iso8601_utc(t.end_time) : "-",
                       clip(printable(t.id()), 42), printable(join_tables(t.tables)),
                       t.complete ? "" : " (no commit seen in this file)"));
    }
    if (report.views.transactions().empty()) line("(no transactions)");
  }

  if (report.show.minute) {
    line("");
    const MinuteView v = minute_view(report);
    line("MINUTES (bytes per minute by event timestamp, UTC)");
    std::string head = fmt::format("{:<17}  {:>10}", "MINUTE", "TOTAL");
    for (const TableKey& k : v.tables) head += fmt::format("  {:>14}", clip(printable(k.table), 14));
    head += fmt::format("  {:>12}  {:>10}", "OTHER TABLES", "NON-TABLE");
    line(head);
    for (const auto& r : v.rows) {
      std::string l = fmt::format("{:<17}  {:>10}", iso8601_utc(r.epoch).substr(0, 16), human_bytes(r.total));
      for (uint64_t b : r.tables) l += fmt::format("  {:>14}", b ? human_bytes(b) : "-");
      l += fmt::format("  {:>12}  {:>10}", r.other_tables ? human_bytes(r.other_tables) : "-",
                       r.non_table ? human_bytes(r.non_table) : "-");
      line(l);
    }
    if (v.rows.empty()) line("(no timestamped events)");
  }

  if (report.show.type) {
    line("");
    line("EVENT TYPES");
    line(fmt::format("{:<28}  {:>12}  {:>10}  {:>6}", "TYPE", "EVENTS", "BYTES", "SHARE"));
    std::vector<std::pair<uint8_t, TypeStats>> types(report.attribution.types.begin(), report.attribution.types.end());
    std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
    for (const auto& [type, st] : types) {
      line(fmt::format("{:<28}  {:>12}  {:>10}  {:>6}", fmt::format("{} ({})", binlog::event_type_name(type), type),
                       st.events, human_bytes(st.bytes),
                       pct(total ? static_cast<double>(st.bytes) / static_cast<double>(total) : 0)));
    }
  }

  if (report.baseline) {
    const BaselineComparison& b = *report.baseline;
    line("");
    line(fmt::format("BASELINE COMPARISON (rate per hour of covered time: these files {} s, baseline {} s; "
                     "flagged at >= {:g}x)",
                     b.incident_covered_seconds, b.covered_seconds, b.ratio_alert));
    line(fmt::format("{:<40}  {:>14}  {:>14}  {:>8}  {}", "TABLE", "RATE", "BASELINE", "RATIO", ""));
    size_t shown = 0;
    for (const BaselineRow& r : b.tables) {
      if (++shown > kMaxRows) break;
      line(fmt::format("{:<40}  {:>14}  {:>14}  {:>8}  {}", clip(printable(r.schema + "." + r.table), 40),
                       rate_text(r.rate_per_hour), rate_text(r.baseline_rate_per_hour), ratio_text(r.ratio),
                       r.flagged ? "<<< FLAGGED" : ""));
    }
    std::vector<const BaselineRow*> flagged_columns;
    for (const BaselineRow& r : b.columns) {
      if (r.flagged) flagged_columns.push_back(&r);
    }
    if (!flagged_columns.empty()) {
      line("flagged columns:");
      for (size_t i = 0; i < flagged_columns.size() && i < kMaxRows; ++i) {
        const BaselineRow& r = *flagged_columns[i];
        line(fmt::format("  {:<38}  {:>14}  {:>14}  {:>8}", clip(printable(r.schema + "." + r.table + "." + r.column), 38),
                         rate_text(r.rate_per_hour), rate_text(r.baseline_rate_per_hour), ratio_text(r.ratio)));
      }
    }
  }
  return out;
}

std::string report_csv(const Report& report, const std::string& view) {
  std::string out;
  auto row = [&](std::initializer_list<std::string> fields) {
    bool first = true;
    for (const auto& f : fields) {
      if (!first) out += ',';
      out += csv_field(f);
      first = false;
    }
    out += "\r\n";
  };
  auto n = [](auto v) { return fmt::format("{}", v); };
  auto d = [](double v) { return fmt::format("{:.6g}", v); };
  const Attribution& a = report.attribution;
  if (view == "table") {
    row({"schema", "table", "bytes", "share", "events", "rows_events", "table_map_events", "rows", "inserts",
         "updates", "deletes"});
    for (const TableStats* t : a.tables_by_bytes()) {
      row({t->key.schema, t->key.table, n(t->bytes),
           d(a.total_bytes ? static_cast<double>(t->bytes) / static_cast<double>(a.total_bytes) : 0), n(t->events),
           n(t->rows_events), n(t->table_map_events), n(t->rows), n(t->inserts), n(t->updates), n(t->deletes)});
    }
    for (const auto& [name, bytes] : {std::pair<const char*, uint64_t>{"(statement)", a.other.statement},
                                      {"(overhead)", a.other.overhead}, {"(magic)", a.other.magic},
                                      {"(torn)", a.other.torn}, {"(corrupt)", a.other.corrupt},
                                      {"(excluded)", a.other.excluded}}) {
      row({"", name, n(bytes), d(a.total_bytes ? static_cast<double>(bytes) / static_cast<double>(a.total_bytes) : 0),
           "", "", "", "", "", "", ""});
    }
  } else if (view == "column") {
    if (!report.show.column) throw std::invalid_argument("the column view was not computed");
    row({"schema", "table", "index", "column", "name_source", "type", "type_name", "bytes", "before_bytes",
         "after_bytes", "null_images", "share_of_table"});
    for (const ColumnRow& c : column_rows(report)) {
      row({c.schema, c.table, n(c.index), c.column, c.name_source, n(c.type), c.type_name, n(c.bytes),
           n(c.before_bytes), n(c.after_bytes), n(c.null_images), d(c.share_of_table)});
    }
  } else if (view == "statement") {
    row({"fingerprint", "source", "bytes", "rows_bytes", "rows_events", "rows", "query_bytes", "query_events",
         "tables", "sample"});
    for (const StatementStats* st : statements_by_bytes(report)) {
      row({st->fingerprint, st->source, n(st->bytes()), n(st->rows_bytes), n(st->rows_events), n(st->rows),
           n(st->query_bytes), n(st->query_events), join_tables(st->tables), st->sample});
    }
    const uint64_t untexted = rows_bytes_without_text(report);
    if (untexted) row({"", "none", n(untexted), n(untexted), "", "", "", "", "", "(row events without statement text)"});
  } else if (view == "transaction") {
    row({"id", "gtid", "file", "start_position", "end_position", "start_time", "end_time", "bytes", "rows",
         "events", "complete", "tables"});
    for (const TransactionStats& t : report.views.transactions()) {
      row({t.id(), t.gtid, t.file, n(t.start_position), n(t.end_position),
           t.start_time ? iso8601_utc(t.start_time) : "", t.end_time ? iso8601_utc(t.end_time) : "", n(t.bytes),
           n(t.rows), n(t.events), t.complete ? "true" : "false", join_tables(t.tables)});
    }
  } else if (view == "minute") {
    // Long format (minute, table, bytes): every table, nothing folded.
    row({"minute", "epoch", "schema", "table", "bytes"});
    std::set<uint32_t> minutes;
    for (const auto& [m, _] : report.views.minute_tables()) minutes.insert(m);
    for (const auto& [m, _] : report.views.minute_other()) minutes.insert(m);
    for (uint32_t m : minutes) {
      auto t = report.views.minute_tables().find(m);
      if (t != report.views.minute_tables().end()) {
        for (const auto& [key, bytes] : t->second) row({iso8601_utc(m), n(m), key.schema, key.table, n(bytes)});
      }
      auto o = report.views.minute_other().find(m);
      if (o != report.views.minute_other().end()) row({iso8601_utc(m), n(m), "", "(non-table)", n(o->second)});
    }
  } else if (view == "type") {
    row({"type", "name", "events", "bytes"});
    for (const auto& [type, st] : a.types) {
      row({n(type), std::string(binlog::event_type_name(type)), n(st.events), n(st.bytes)});
    }
  } else if (view == "baseline") {
    if (!report.baseline) throw std::invalid_argument("no --baseline files were given");
    row({"schema", "table", "column", "bytes", "baseline_bytes", "rate_per_hour", "baseline_rate_per_hour", "ratio",
         "flagged"});
    for (const auto* rows : {&report.baseline->tables, &report.baseline->columns}) {
      for (const BaselineRow& r : *rows) {
        row({r.schema, r.table, r.column, n(r.bytes), n(r.baseline_bytes), d(r.rate_per_hour),
             d(r.baseline_rate_per_hour), r.ratio ? d(*r.ratio) : "", r.flagged ? "true" : "false"});
      }
    }
  } else {
    throw std::invalid_argument("unknown view '" + view + "'");
  }
  return out;
}

}  // namespace binwatch
