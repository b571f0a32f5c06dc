#include "binwatch/report_views.h"

#include <algorithm>

#include "binwatch/binlog/event_type.h"
#include "binwatch/fingerprint.h"

namespace binwatch {

namespace {

constexpr size_t kSampleChars = 512;

bool before(const TransactionStats& a, const TransactionStats& b) {
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  if (a.file_index != b.file_index) return a.file_index < b.file_index;
  return a.start_position < b.start_position;
}

std::string table_name(const TableKey& k) { return k.schema + "." + k.table; }

bool is_rows_type(uint8_t type) { return binlog::rows_type_info(type).is_rows; }

}  // namespace

std::string TransactionStats::id() const {
  return gtid.empty() ? file + ":" + std::to_string(start_position) : gtid;
}

void ReportViews::begin_file(std::string path, size_t index) {
  m_file = std::move(path);
  m_file_index = index;
  m_current = nullptr;
  m_open = false;
  m_last_time = 0;
  m_untimed = 0;
}

void ReportViews::end_file() {
  if (m_open) close_transaction();
  // A file without any timestamp: nothing to place on the timeline.
  m_untimed = 0;
}

StatementStats& ReportViews::statement(const std::string& fp, std::string_view text, const char* source) {
  auto [it, inserted] = m_statements.try_emplace(fp);
  if (inserted) {
    it->second.fingerprint = fp;
    it->second.sample = std::string(text.substr(0, kSampleChars));
    it->second.source = source;
  }
  return it->second;
}

void ReportViews::on_event(const ScanEvent& ev) {
  const auto type = static_cast<binlog::EventType>(ev.type);
  // Minutes: events without a timestamp (0: relay-log and rotate artefacts) go with the minute of
  // the events around them.
  if (m_opt.minutes) {
    if (ev.timestamp != 0) m_last_time = ev.timestamp - ev.timestamp % 60;
    if (m_last_time == 0) {
      m_untimed += ev.bytes;  // placed once the first timestamp is known
    } else {
      if (m_untimed) {
        m_minute_other[m_last_time] += m_untimed;
        m_untimed = 0;
      }
      if (ev.bucket == ScanEvent::Bucket::Table) {
        m_minute_tables[m_last_time][*ev.table] += ev.bytes;
      } else {
        m_minute_other[m_last_time] += ev.bytes;
      }
    }
  }

  if (m_opt.statements) {
    if (ev.begins_transaction) m_current = nullptr;
    if (type == binlog::EventType::MariadbAnnotateRows || type == binlog::EventType::RowsQuery) {
      m_has_text = true;
      m_current = &statement(fingerprint(ev.text), ev.text,
                             type == binlog::EventType::RowsQuery ? "rows_query" : "annotate_rows");
    } else if (ev.bucket == ScanEvent::Bucket::Table) {
      StatementStats& s = m_current ? *m_current : statement("", "", "none");
      s.rows_bytes += ev.bytes;
      s.rows += ev.rows;
      if (is_rows_type(ev.type)) s.rows_events += 1;
      s.tables.insert(table_name(*ev.table));
    } else if (ev.bucket == ScanEvent::Bucket::Statement) {
      StatementStats& s = statement(fingerprint(ev.text), ev.text, "query");
      s.query_bytes += ev.bytes;
      s.query_events += 1;
    }
  }

  if (m_opt.transactions) {
    if (ev.begins_transaction) {
      if (m_open) close_transaction();
      m_open = true;
      m_trx = TransactionStats{};
      m_trx.file = m_file;
      m_trx.file_index = m_file_index;
      m_trx.start_position = ev.offset;
      m_trx.start_time = ev.timestamp;
    }
    if (m_open) {
      m_trx.bytes += ev.bytes;
      m_trx.end_position = ev.end;
      if (ev.timestamp) m_trx.end_time = ev.timestamp;
      if (!ev.in_payload || type != binlog::EventType::TableMap) m_trx.events += 1;
      m_trx.rows += ev.rows;
      if (!ev.gtid.empty() && m_trx.gtid.empty()) m_trx.gtid = ev.gtid;
      if (ev.bucket == ScanEvent::Bucket::Table) m_trx.tables.insert(table_name(*ev.table));
      if (ev.ends_transaction) {
        m_trx.complete = true;
        close_transaction();
      }
    }
  }
  if (m_opt.statements && ev.ends_transaction) m_current = nullptr;
}

void ReportViews::close_transaction() {
  m_open = false;
  keep(std::move(m_trx));
  m_trx = TransactionStats{};
}

void ReportViews::keep(TransactionStats trx) {
  if (m_opt.top_transactions == 0) return;
  if (m_top.size() == m_opt.top_transactions && !before(trx, m_top.back())) return;
  auto at = std::upper_bound(m_top.begin(), m_top.end(), trx, before);
  m_top.insert(at, std::move(trx));
  if (m_top.size() > m_opt.top_transactions) m_top.pop_back();
}

void ReportViews::merge(const ReportViews& other) {
  m_has_text = m_has_text || other.m_has_text;
  for (const auto& [fp, s] : other.m_statements) {
    auto [it, inserted] = m_statements.try_emplace(fp, s);
    if (inserted) continue;
    StatementStats& d = it->second;
    d.rows_bytes += s.rows_bytes;
    d.rows_events += s.rows_events;
    d.rows += s.rows;
    d.query_bytes += s.query_bytes;
    d.query_events += s.query_events;
    d.tables.insert(s.tables.begin(), s.tables.end());
  }
  m_current = nullptr;
  for (const auto& t : other.m_top) keep(t);
  for (const auto& [minute, tables] : other.m_minute_tables) {
    auto& d = m_minute_tables[minute];
    for (const auto& [key, bytes] : tables) d[key] += bytes;
  }
  for (const auto& [minute, bytes] : other.m_minute_other) m_minute_other[minute] += bytes;
}

}  // namespace binwatch
