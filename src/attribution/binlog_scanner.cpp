#include "binwatch/binlog_scanner.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <numeric>
#include <unordered_map>

#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/decoder.h"
#include "binwatch/binlog/payload_reader.h"

namespace binwatch {

using namespace binlog;

namespace {

constexpr size_t kResyncWindow = size_t{16} << 20;

// Buckets used while splitting a transaction payload.
constexpr int64_t kStatementBucket = -1;
constexpr int64_t kOverheadBucket = -2;
constexpr int64_t kExcludedBucket = -3;

bool iequals_prefix(std::string_view text, std::string_view word) {
  if (text.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != word[i]) return false;
  }
  return text.size() == word.size() || !std::isalnum(static_cast<unsigned char>(text[word.size()]));
}

// Statement text without leading blanks and comments (`/* ... */`), for BEGIN/COMMIT detection.
std::string_view statement_start(std::string_view q) {
  while (true) {
    while (!q.empty() && std::isspace(static_cast<unsigned char>(q.front()))) q.remove_prefix(1);
    if (q.starts_with("/*")) {
      const size_t end = q.find("*/", 2);
      if (end == std::string_view::npos) return {};
      q.remove_prefix(end + 2);
      continue;
    }
    return q;
  }
}

bool is_gtid_type(uint8_t type) {
  switch (static_cast<EventType>(type)) {
    case EventType::Gtid:
    case EventType::AnonymousGtid:
    case EventType::GtidTagged:
    case EventType::MariadbGtid:
      return true;
    default:
      return false;
  }
}

class Scanner {
 public:
  Scanner(ByteSource& source, Attribution& out, const ScanOptions& options)
      : m_buf(source), m_out(out), m_opt(options) {
    m_file.path = source.name();
    m_size = source.size();
  }

  FileSummary run() {
    Bytes magic = m_buf.peek(4);
    if (magic.size() < 4 || std::memcmp(magic.data(), kMagic, 4) != 0) {
      throw FatalScanError(ErrorKind::Malformed,
                           m_file.path + ": not a binlog file (no binlog magic fe 62 69 6e at offset 0)");
    }
    m_buf.consume(4);
    m_out.other.magic += 4;
    const ScanFilter& f = m_opt.filter;
    while (true) {
      const uint64_t off = m_buf.offset();
      if (f.stop_position && off >= *f.stop_position) {
        m_out.other.excluded += m_buf.skip(UINT64_MAX);
        break;
      }
      // Like mysqlbinlog: the format description is read, then reading jumps to --start-position.
      if (f.start_position && off < *f.start_position && m_seen_fde) {
        const uint64_t want = *f.start_position - off;
        const uint64_t got = m_buf.skip(want);
        m_out.other.excluded += got;
        if (got < want) {
          throw FatalScanError(ErrorKind::Truncated,
                               m_file.path + ": --start-position " + std::to_string(*f.start_position) +
                                   " is past the end of the input (" + std::to_string(off + got) +
                                   " bytes)");
        }
        check_start_position(*f.start_position);
        continue;
      }
      if (!step()) break;
    }
    m_file.size = m_buf.offset();
    m_out.total_bytes += m_file.size;
    return m_file;
  }

 private:
  void error(uint64_t offset, ErrorKind kind, std::string detail, Damage damage = Damage::None,
             uint64_t bytes = 0) {
    m_out.errors.push_back(ScanError{m_file.path, offset, kind, std::move(detail), damage, bytes});
  }

  void torn(uint64_t offset, uint64_t bytes) {
    m_file.torn_tail = TornTail{offset, bytes};
    m_out.other.torn += bytes;
    m_buf.consume(bytes);
  }

  // Is there a whole event at `data` whose checksum (when on) holds?
  bool valid_event_at(Bytes data) const {
    auto h = parse_event_header(data);
    if (!h || h->event_size > data.size()) return false;
    if (m_ctx.checksums()) {
      if (h->event_size < kHeaderLen + kChecksumLen) return false;
      return checksum_matches(data.first(h->event_size),
                              h->type == static_cast<uint8_t>(EventType::FormatDescription));
    }
    return false;
  }

  // After a corrupt stretch at the current offset, finds the next offset where a whole event with
  // a valid CRC32 starts and counts the bytes in between as corrupt. Only possible with checksums.
  // `declared`: the bad event's own size when known; a valid event right there means the event
  // was damaged in place (Damage::Checksum), not cut short.
  bool resync(uint64_t bad_offset, ErrorKind kind, const std::string& detail, Damage damage, uint64_t declared = 0) {
    if (!m_ctx.checksums()) return false;
    uint64_t skipped = 0;
    while (true) {
      Bytes window = m_buf.peek(kResyncWindow);
      if (window.size() <= 1) {
        if (skipped == 0) return false;
        m_buf.consume(window.size());
        skipped += window.size();
        break;
      }
      size_t found = 0;
      for (size_t p = 1; p + kHeaderLen <= window.size(); ++p) {
        if (valid_event_at(window.subspan(p))) { found = p; break; }
      }
      if (found) {
        m_buf.consume(found);
        skipped += found;
        break;
      }
      // Nothing in this window that is whole: keep the last header-sized tail for the next try
      // unless the input ended here.
      if (window.size() < kResyncWindow) {
        if (skipped == 0) return false;  // nothing valid after it: let the caller call it torn
        m_buf.consume(window.size());
        skipped += window.size();
        break;
      }
      const size_t drop = window.size() - kHeaderLen;
      m_buf.consume(drop);
      skipped += drop;
    }
    m_out.other.corrupt += skipped;
    if (declared != 0 && skipped == declared) damage = Damage::Checksum;
    error(bad_offset, kind,
          detail + "; " + std::to_string(skipped) + " bytes skipped to the next event with a valid checksum",
          damage, skipped);
    return true;
  }

  // Bytes left in the input after `offset`, when the source knows its size.
  std::optional<uint64_t> left_after(uint64_t offset) const {
    if (!m_size || *m_size < offset) return std::nullopt;
    return *m_size - offset;
  }

  // After an event of `size` bytes at `off` failed: does a whole event with a valid checksum,
  // a torn tail, or the end of the input follow it?
  bool next_is_plausible(uint64_t off, uint32_t size) {
    Bytes both = m_buf.peek(size_t{size} + kHeaderLen);
    if (both.size() <= size) return true;
    if (both.size() < size_t{size} + kHeaderLen) return false;
    auto h = parse_event_header(both.subspan(size));
    if (!h) return false;
    // A header whose log_pos says where it ends (0: MariaDB 11.4+ cache events, relay logs may
    // differ) is an event; a size read out of the middle of row data has no such log_pos.
    const bool positioned = h->log_pos == 0 || h->log_pos == static_cast<uint32_t>(off + size + h->event_size);
    auto left = left_after(off + size);
    if (left && h->event_size > *left) return positioned;  // a torn tail
    if (h->event_size > kResyncWindow) return positioned;  // too large to check cheaply
    Bytes next = m_buf.peek(size_t{size} + h->event_size);
    if (next.size() < size_t{size} + h->event_size) return positioned;
    return valid_event_at(next.subspan(size));
  }

  uint64_t consume_rest_as_corrupt() {
    uint64_t total = 0;
    while (true) {
      Bytes chunk = m_buf.peek(size_t{1} << 20);
      if (chunk.empty()) return total;
      m_out.other.corrupt += chunk.size();
      total += chunk.size();
      m_buf.consume(chunk.size());
    }
  }

  // Decodes one event (or the torn tail); false at the end of the stream.
  bool step() {
    const uint64_t off = m_buf.offset();
    Bytes head = m_buf.peek(kHeaderLen);
    if (head.empty()) return false;
    if (head.size() < kHeaderLen) {
      torn(off, head.size());
      return false;
    }
    auto header = parse_event_header(head);
    if (!header) {
      const std::string detail = header.error().detail;
      if (resync(off, ErrorKind::Malformed, detail, Damage::Garbage)) return true;
      const size_t at = m_out.errors.size();
      error(off, ErrorKind::Malformed, detail + "; the rest of the input cannot be framed", Damage::Garbage);
      m_out.errors[at].bytes = consume_rest_as_corrupt();
      return false;
    }
    const uint32_t size = header->event_size;
    // Never buffer an event the input cannot hold (a garbage size of up to 4 GiB).
    auto left = left_after(off);
    Bytes ev = (left && size > *left) ? m_buf.peek(static_cast<size_t>(*left)) : m_buf.peek(size);
    if (ev.size() < size) {
      // Ends inside an event: a torn tail (disk full, crash) unless a valid event follows it.
      const uint64_t have = ev.size();
      if (resync(off, ErrorKind::Malformed,
                 "event_size " + std::to_string(size) + " runs past the end of the input", Damage::CutShort)) {
        return true;
      }
      torn(off, have);
      return false;
    }
    auto raw = frame_event(ev, m_ctx.checksums(), m_opt.verify_checksums);
    if (!raw) {
      const DecodeError& e = raw.error();
      // Trust the length only if a plausible event follows; otherwise search for the next one.
      if (e.kind == ErrorKind::Checksum && !next_is_plausible(off, size) &&
          resync(off, ErrorKind::Checksum, e.detail + " (and its length leads nowhere valid)", Damage::CutShort,
                 size)) {
        return true;
      }
      error(off, e.kind, e.detail, e.kind == ErrorKind::Checksum ? Damage::Checksum : Damage::Garbage, size);
      m_out.other.corrupt += size;
      count_type(header->type, size);
      m_buf.consume(size);
      return true;
    }
    handle(off, *raw, in_range(off, raw->header));
    m_buf.consume(size);
    return true;
  }

  // --start-position must name the first byte of an event (as SHOW BINLOG EVENTS / mysqlbinlog
  // print them); anything else would decode garbage, so say so instead.
  void check_start_position(uint64_t position) {
    Bytes head = m_buf.peek(kHeaderLen);
    if (head.empty()) return;  // exactly at the end: nothing selected
    auto h = parse_event_header(head);
    bool ok = static_cast<bool>(h) && head.size() == kHeaderLen;
    if (ok && m_ctx.checksums() && h->event_size <= kResyncWindow) {
      Bytes ev = m_buf.peek(h->event_size);
      ok = ev.size() < h->event_size || valid_event_at(ev);  // a torn last event is still an event
    }
    if (!ok) {
      throw FatalScanError(ErrorKind::Malformed,
                           m_file.path + ": --start-position " + std::to_string(position) +
                               " is not the start of an event (use a position printed by SHOW "
                               "BINLOG EVENTS, mysqlbinlog '# at N' or binwatch report --by transaction)");
    }
  }

  bool in_range(uint64_t off, const EventHeader& h) const {
    const ScanFilter& f = m_opt.filter;
    if (f.start_position && off < *f.start_position) return false;
    if (f.stop_position && off >= *f.stop_position) return false;
    if (f.start_time && h.timestamp < *f.start_time) return false;
    if (f.stop_time && h.timestamp >= *f.stop_time) return false;
    return true;
  }

  // Transaction boundaries (see ScanEvent): GTID opens; BEGIN after a GTID makes the transaction
  // end only at XID/COMMIT/ROLLBACK; MariaDB's non-standalone GTID implies that BEGIN.
  void mark_gtid(ScanEvent& ev, bool explicit_end) {
    ev.begins_transaction = true;
    m_trx_open = true;
    m_trx_explicit = explicit_end;
  }
  void mark_query(ScanEvent& ev, std::string_view query) {
    const std::string_view q = statement_start(query);
    if (iequals_prefix(q, "begin") || iequals_prefix(q, "start transaction") ||
        iequals_prefix(q, "xa start")) {
      if (!m_trx_open) ev.begins_transaction = true;
      m_trx_open = true;
      m_trx_explicit = true;
      return;
    }
    const bool commit = iequals_prefix(q, "commit") || iequals_prefix(q, "xa commit") ||
                        (iequals_prefix(q, "rollback") && q.find_first_of("Tt") == std::string_view::npos) ||
                        iequals_prefix(q, "xa prepare") || iequals_prefix(q, "xa rollback");
    if (!m_trx_open) {
      ev.begins_transaction = true;  // a statement of its own (old binlogs without GTIDs, DDL)
      ev.ends_transaction = true;
      return;
    }
    if (commit || !m_trx_explicit) {
      ev.ends_transaction = true;
      m_trx_open = false;
    }
  }
  void mark_row_change(ScanEvent& ev) {
    if (!m_trx_open) {
      ev.begins_transaction = true;
      m_trx_open = true;
      m_trx_explicit = true;
    }
  }
  void mark_xid(ScanEvent& ev) {
    ev.ends_transaction = m_trx_open;
    m_trx_open = false;
  }

  void observe(ScanEvent& ev) {
    if (m_opt.observer) m_opt.observer->on_event(ev);
  }

  void count_type(uint8_t type, uint64_t size) {
    auto& t = m_out.types[type];
    t.events += 1;
    t.bytes += size;
  }

  void handle(uint64_t off, const RawEvent& raw, bool selected) {
    const EventHeader& h = raw.header;
    const uint64_t size = h.event_size;
    const auto type = static_cast<EventType>(h.type);
    if (!selected) {
      // Outside the filters: decoded only for the context later events need.
      m_out.other.excluded += size;
      if (type == EventType::FormatDescription) {
        if (auto fde = parse_format_description(h, raw.event)) {
          note_first_fde(*fde);
          m_ctx.apply_format(std::move(*fde));
        }
      } else if (type == EventType::TableMap) {
        if (auto map = parse_table_map(m_ctx.format(), raw.body)) m_ctx.apply_table_map(std::move(*map));
      }
      return;
    }
    ++m_file.events;
    count_type(h.type, size);
    if (h.timestamp != 0) {
      if (!m_file.first_event_time) m_file.first_event_time = h.timestamp;
      m_file.last_event_time = h.timestamp;
      if (!m_file.earliest_time || h.timestamp < *m_file.earliest_time) m_file.earliest_time = h.timestamp;
      if (!m_file.latest_time || h.timestamp > *m_file.latest_time) m_file.latest_time = h.timestamp;
    }
    ScanEvent ev;
    ev.offset = off;
    ev.end = off + size;
    ev.timestamp = h.timestamp;
    ev.type = h.type;
    ev.bytes = size;
    switch (type) {
      case EventType::FormatDescription: {
        auto fde = parse_format_description(h, raw.event);
        if (!fde) {
          const bool crc = fde.error().kind == ErrorKind::Checksum;
          error(off, fde.error().kind, fde.error().detail, crc ? Damage::Checksum : Damage::None, crc ? size : 0);
          corrupt(ev);
          return;
        }
        note_first_fde(*fde);
        m_ctx.apply_format(std::move(*fde));
        overhead(ev);
        return;
      }
      case EventType::Query:
      case EventType::MariadbQueryCompressed: {
        auto q = parse_query(m_ctx.format(), h.type, raw.body);
        if (!q) {
          error(off, q.error().kind, q.error().detail);
          corrupt(ev);
          return;
        }
        ev.text = q->query;
        ev.schema = q->schema;
        mark_query(ev, q->query);
        if (!m_opt.filter.query_selected(q->schema)) {
          m_out.other.excluded += size;
          return;
        }
        m_out.other.statement += size;
        ev.bucket = ScanEvent::Bucket::Statement;
        observe(ev);
        return;
      }
      case EventType::TableMap: {
        auto bucket = table_map(m_out, off, raw.body, size, size);
        if (!bucket) {
          corrupt(ev);
          return;
        }
        mark_row_change(ev);
        charge_top_level(ev, *bucket);
        return;
      }
      case EventType::TransactionPayload:
        payload(off, raw, ev);
        return;
      case EventType::MariadbStartEncryption:
        throw FatalScanError(
            ErrorKind::Encrypted,
            m_file.path + ": encrypted binlog (START_ENCRYPTION event at offset " +
                std::to_string(off) +
                "); binwatch reads unencrypted binlogs only: decode it on the server, e.g. with "
                "SHOW BINLOG EVENTS or mariadb-binlog --read-from-remote-server");
      case EventType::Xid:
        mark_xid(ev);
        overhead(ev);
        return;
      default:
        break;
    }
    if (rows_type_info(h.type).is_rows) {
      uint64_t rows_walked = 0;
      auto bucket = rows(m_out, off, h.type, raw.body, size, size, &rows_walked);
      if (!bucket) {
        corrupt(ev);
        return;
      }
      ev.rows = rows_walked;
      mark_row_change(ev);
      charge_top_level(ev, *bucket);
      return;
    }
    if (event_type_name(h.type).starts_with("type_")) ++m_file.unknown_events;
    std::string text_storage;
    if (m_opt.observer) describe(raw, ev, text_storage);
    overhead(ev);
  }

  // GTID and statement-text details for observers (decoded only when someone listens).
  void describe(const RawEvent& raw, ScanEvent& ev, std::string& text_storage) {
    const auto type = static_cast<EventType>(raw.header.type);
    if (type == EventType::MariadbGtid) {
      if (auto g = parse_mariadb_gtid(raw.header, raw.body)) {
        ev.gtid = g->gtid();
        mark_gtid(ev, !g->standalone());
      } else {
        mark_gtid(ev, false);
      }
    } else if (is_gtid_type(raw.header.type)) {
      auto g = parse_gtid(raw.header.type, raw.body);
      if (g && type != EventType::AnonymousGtid) ev.gtid = g->uuid() + ":" + std::to_string(g->gno);
      mark_gtid(ev, false);
    } else if (type == EventType::MariadbAnnotateRows || type == EventType::RowsQuery) {
      if (auto e = decode_event(m_ctx, raw)) {
        if (auto* rq = std::get_if<RowsQueryEvent>(&e->body)) {
          text_storage = std::move(rq->query);
          ev.text = text_storage;
        }
      }
    }
  }

  void note_first_fde(const FormatDescription& fde) {
    if (m_seen_fde) return;
    m_file.server_version = fde.server_version;
    m_file.checksum = fde.event_checksums() ? "crc32" : "none";
    m_file.closed_cleanly = !fde.in_use;
    m_seen_fde = true;
  }

  void overhead(ScanEvent& ev) {
    m_out.other.overhead += ev.bytes;
    ev.bucket = ScanEvent::Bucket::Overhead;
    observe(ev);
  }
  void corrupt(ScanEvent& ev) {
    m_out.other.corrupt += ev.bytes;
    ev.bucket = ScanEvent::Bucket::Corrupt;
    observe(ev);
  }
  void charge_top_level(ScanEvent& ev, int64_t bucket) {
    if (bucket == kExcludedBucket) {
      m_out.other.excluded += ev.bytes;
      return;
    }
    ev.bucket = ScanEvent::Bucket::Table;
    ev.table = &m_out.table_at(static_cast<size_t>(bucket)).key;
    observe(ev);
  }

  // TABLE_MAP: attributes `disk` bytes to its table in `into` and returns the table's index there;
  // nullopt (error recorded) if malformed.
  std::optional<int64_t> table_map(Attribution& into, uint64_t off, Bytes body, uint64_t disk,
                                   uint64_t uncompressed) {
    auto map = parse_table_map(m_ctx.format(), body);
    if (!map) {
      error(off, map.error().kind, map.error().detail);
      return std::nullopt;
    }
    auto stored = m_ctx.apply_table_map(std::move(*map));
    if (!m_opt.filter.table_selected(stored->schema, stored->table)) return kExcludedBucket;
    const size_t index = into.table_index(stored->schema, stored->table);
    TableStats& t = into.table_at(index);
    t.bytes += disk;
    t.uncompressed_bytes += uncompressed;
    t.events += 1;
    t.table_map_events += 1;
    t.table_map_bytes += disk;
    t.column_types = stored->types;
    if (!stored->column_names.empty()) t.column_names = stored->column_names;
    return static_cast<int64_t>(index);
  }

  // ROWS: attributes `disk` bytes to the mapped table, counts its rows and returns the table's
  // index in `into`; nullopt (error recorded) if the event cannot be tied to a table. A row walk
  // failure keeps the bytes with the table.
  std::optional<int64_t> rows(Attribution& into, uint64_t off, uint8_t type, Bytes body,
                              uint64_t disk, uint64_t uncompressed, uint64_t* rows_walked) {
    auto ev = parse_rows(m_ctx.format(), type, body);
    if (!ev) {
      error(off, ev.error().kind, ev.error().detail);
      return std::nullopt;
    }
    auto map = m_ctx.table(ev->table_id);
    if (!map) {
      error(off, ErrorKind::Malformed,
            std::string(event_type_name(type)) + " for table_id " + std::to_string(ev->table_id) +
                " without a preceding TABLE_MAP");
      return std::nullopt;
    }
    if (!m_opt.filter.table_selected(map->schema, map->table)) return kExcludedBucket;
    const size_t index = into.table_index(map->schema, map->table);
    const auto result = static_cast<int64_t>(index);
    TableStats& t = into.table_at(index);
    t.bytes += disk;
    if (ev->info.compressed) {
      uncompressed = uncompressed - ev->compressed_rows_size + ev->rows.size();
    }
    t.uncompressed_bytes += uncompressed;
    t.events += 1;
    t.rows_events += 1;
    if (m_opt.walk_rows) {
      auto s = walk_rows(*map, *ev, &t.columns);
      if (!s) {
        error(off, s.error().kind, s.error().detail + " (bytes kept with the table, rows not counted)");
        return result;
      }
      *rows_walked = s->rows;
      t.rows += s->rows;
      switch (ev->info.kind) {
        case RowsKind::Write: t.inserts += s->rows; break;
        case RowsKind::Update: t.updates += s->rows; break;
        case RowsKind::Delete: t.deletes += s->rows; break;
      }
    }
    return result;
  }

  // TRANSACTION_PAYLOAD: the events inside are attributed into a scratch attribution with their
  // uncompressed sizes; then the on-disk size is split among the buckets in proportion (largest
  // remainder, ties to the first bucket seen) and merged. Any failure: the whole event is corrupt.
  // Observers get the inner events with the bucket's share spread over its events in proportion
  // to their sizes (cumulative rounding, so the shares of a bucket sum to the bucket's share).
  void payload(uint64_t off, const RawEvent& raw, ScanEvent& top) {
    const uint64_t disk = raw.header.event_size;
    auto p = parse_transaction_payload(m_ctx.format(), raw.body);
    if (!p) {
      error(off, p.error().kind, p.error().detail);
      corrupt(top);
      return;
    }
    Attribution local;
    std::vector<std::pair<int64_t, uint64_t>> charges;  // bucket, uncompressed bytes (first-seen order)
    auto charge = [&](int64_t bucket, uint64_t bytes) -> size_t {
      for (size_t i = 0; i < charges.size(); ++i) {
        if (charges[i].first == bucket) {
          charges[i].second += bytes;
          return i;
        }
      }
      charges.emplace_back(bucket, bytes);
      return charges.size() - 1;
    };
    struct Inner {
      ScanEvent event;
      size_t charge = 0;     // index into charges
      uint64_t size = 0;     // uncompressed
      std::string text;      // owned copy of the statement text
      std::string schema;
    };
    std::vector<Inner> inner;
    const bool observing = m_opt.observer != nullptr;
    bool failed = false;
    auto walked = m_payload.for_each_event(*p, [&](const EventHeader& h, Bytes event, uint64_t) {
      const Bytes body = event.subspan(kHeaderLen);
      const uint64_t size = h.event_size;
      const bool is_map = h.type == static_cast<uint8_t>(EventType::TableMap);
      Inner in;
      in.event = top;
      in.event.type = h.type;
      in.event.in_payload = true;
      in.size = size;
      if (is_map || rows_type_info(h.type).is_rows) {
        uint64_t rows_walked = 0;
        auto bucket = is_map ? table_map(local, off, body, 0, size)
                             : rows(local, off, h.type, body, 0, size, &rows_walked);
        if (!bucket) { failed = true; return false; }
        in.charge = charge(*bucket, size);
        in.event.bucket = ScanEvent::Bucket::Table;
        in.event.rows = rows_walked;
        mark_row_change(in.event);
      } else if (h.type == static_cast<uint8_t>(EventType::Query)) {
        auto q = parse_query(m_ctx.format(), h.type, body);
        if (!q) {
          error(off, q.error().kind, q.error().detail + " (inside the transaction payload)");
          failed = true;
          return false;
        }
        mark_query(in.event, q->query);
        const bool selected = m_opt.filter.query_selected(q->schema);
        in.charge = charge(selected ? kStatementBucket : kExcludedBucket, size);
        in.event.bucket = ScanEvent::Bucket::Statement;
        if (observing) {
          in.text = std::string(q->query);
          in.schema = std::string(q->schema);
        }
      } else {
        in.charge = charge(kOverheadBucket, size);
        in.event.bucket = ScanEvent::Bucket::Overhead;
        if (h.type == static_cast<uint8_t>(EventType::Xid)) mark_xid(in.event);
        if (observing && h.type == static_cast<uint8_t>(EventType::RowsQuery) &&
            body.size() >= 1) {
          in.text = std::string(reinterpret_cast<const char*>(body.data()) + 1, body.size() - 1);
        }
      }
      if (observing) inner.push_back(std::move(in));
      return true;
    });
    if (!walked || failed) {
      if (!walked) error(off, walked.error().kind, walked.error().detail);
      corrupt(top);
      return;
    }
    const uint64_t total = std::accumulate(charges.begin(), charges.end(), uint64_t{0},
                                           [](uint64_t s, const auto& c) { return s + c.second; });
    if (total == 0) {
      overhead(top);
      return;
    }
    std::vector<uint64_t> share(charges.size());
    std::vector<std::pair<unsigned __int128, size_t>> remainders;
    uint64_t assigned = 0;
    for (size_t i = 0; i < charges.size(); ++i) {
      const unsigned __int128 num = static_cast<unsigned __int128>(disk) * charges[i].second;
      share[i] = static_cast<uint64_t>(num / total);
      remainders.emplace_back(num % total, i);
      assigned += share[i];
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; assigned < disk; ++k, ++assigned) share[remainders[k].second] += 1;
    for (size_t i = 0; i < charges.size(); ++i) {
      const int64_t bucket = charges[i].first;
      if (bucket == kStatementBucket) {
        m_out.other.statement += share[i];
      } else if (bucket == kOverheadBucket) {
        m_out.other.overhead += share[i];
      } else if (bucket == kExcludedBucket) {
        m_out.other.excluded += share[i];
      } else {
        local.table_at(static_cast<size_t>(bucket)).bytes += share[i];
      }
    }
    m_out.merge(local);
    if (!observing) return;
    std::vector<uint64_t> seen(charges.size(), 0), given(charges.size(), 0);
    for (Inner& in : inner) {
      const size_t c = in.charge;
      seen[c] += in.size;
      const auto upto = static_cast<uint64_t>(static_cast<unsigned __int128>(share[c]) * seen[c] /
                                              charges[c].second);
      in.event.bytes = upto - given[c];
      given[c] = upto;
      const int64_t bucket = charges[c].first;
      if (bucket == kExcludedBucket) continue;
      if (bucket >= 0) {
        const TableKey& key = local.table_at(static_cast<size_t>(bucket)).key;
        in.event.table = &m_out.find(key.schema, key.table)->key;
      }
      in.event.text = in.text;
      in.event.schema = in.schema;
      observe(in.event);
    }
  }

  StreamBuffer m_buf;
  Attribution& m_out;
  ScanOptions m_opt;
  FileSummary m_file;
  DecodeContext m_ctx;
  PayloadReader m_payload;
  bool m_seen_fde = false;
  bool m_trx_open = false, m_trx_explicit = false;
  std::optional<uint64_t> m_size;
};

}  // namespace

bool ScanFilter::table_selected(const std::string& schema, const std::string& table) const {
  if (!databases.empty() && std::find(databases.begin(), databases.end(), schema) == databases.end()) {
    return false;
  }
  if (tables.empty()) return true;
  const std::string qualified = schema + "." + table;
  return std::any_of(tables.begin(), tables.end(),
                     [&](const std::string& t) { return t == qualified || t == table; });
}

bool ScanFilter::query_selected(std::string_view schema) const {
  if (!tables.empty()) return false;
  if (databases.empty()) return true;
  return std::find(databases.begin(), databases.end(), schema) != databases.end();
}

FileSummary scan_binlog(ByteSource& source, Attribution& out, const ScanOptions& options) {
  Scanner scanner(source, out, options);
  return scanner.run();
}

}  // namespace binwatch
