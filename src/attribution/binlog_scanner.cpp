#include "binwatch/binlog_scanner.h"

#include <algorithm>
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
    while (step()) {
    }
    m_file.size = m_buf.offset();
    m_out.total_bytes += m_file.size;
    return m_file;
  }

 private:
  void error(uint64_t offset, ErrorKind kind, std::string detail) {
    m_out.errors.push_back(ScanError{m_file.path, offset, kind, std::move(detail)});
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
  bool resync(uint64_t bad_offset, ErrorKind kind, const std::string& detail) {
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
    error(bad_offset, kind, detail + "; " + std::to_string(skipped) +
                                " bytes skipped to the next event with a valid checksum");
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
    auto left = left_after(off + size);
    if (left && h->event_size > *left) return true;  // a torn tail: plausible
    if (h->event_size > kResyncWindow) return true;  // too large to check cheaply: trust it
    Bytes next = m_buf.peek(size_t{size} + h->event_size);
    if (next.size() < size_t{size} + h->event_size) return true;
    return valid_event_at(next.subspan(size));
  }

  void consume_rest_as_corrupt() {
    while (true) {
      Bytes chunk = m_buf.peek(size_t{1} << 20);
      if (chunk.empty()) return;
      m_out.other.corrupt += chunk.size();
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
      if (resync(off, ErrorKind::Malformed, detail)) return true;
      error(off, ErrorKind::Malformed, detail + "; the rest of the input cannot be framed");
      consume_rest_as_corrupt();
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
                 "event_size " + std::to_string(size) + " runs past the end of the input")) {
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
          resync(off, ErrorKind::Checksum, e.detail + " (and its length leads nowhere valid)")) {
        return true;
      }
      error(off, e.kind, e.detail);
      m_out.other.corrupt += size;
      count_type(header->type, size);
      m_buf.consume(size);
      return true;
    }
    handle(off, *raw);
    m_buf.consume(size);
    return true;
  }

  void count_type(uint8_t type, uint64_t size) {
    auto& t = m_out.types[type];
    t.events += 1;
    t.bytes += size;
  }

  void handle(uint64_t off, const RawEvent& raw) {
    const EventHeader& h = raw.header;
    const uint64_t size = h.event_size;
    ++m_file.events;
    count_type(h.type, size);
    if (h.timestamp != 0) {
      if (!m_file.first_event_time) m_file.first_event_time = h.timestamp;
      m_file.last_event_time = h.timestamp;
    }
    switch (static_cast<EventType>(h.type)) {
      case EventType::FormatDescription: {
        auto fde = parse_format_description(h, raw.event);
        if (!fde) {
          error(off, fde.error().kind, fde.error().detail);
          m_out.other.corrupt += size;
          return;
        }
        if (!m_seen_fde) {
          m_file.server_version = fde->server_version;
          m_file.checksum = fde->event_checksums() ? "crc32" : "none";
          m_file.closed_cleanly = !fde->in_use;
          m_seen_fde = true;
        }
        m_ctx.apply_format(std::move(*fde));
        m_out.other.overhead += size;
        return;
      }
      case EventType::Query:
      case EventType::MariadbQueryCompressed: {
        auto q = parse_query(m_ctx.format(), h.type, raw.body);
        if (!q) {
          error(off, q.error().kind, q.error().detail);
          m_out.other.corrupt += size;
          return;
        }
        m_out.other.statement += size;
        return;
      }
      case EventType::TableMap:
        if (!table_map(m_out, off, raw.body, size, size)) m_out.other.corrupt += size;
        return;
      case EventType::TransactionPayload:
        payload(off, raw);
        return;
      case EventType::MariadbStartEncryption:
        throw FatalScanError(
            ErrorKind::Encrypted,
            m_file.path + ": encrypted binlog (START_ENCRYPTION event at offset " +
                std::to_string(off) +
                "); binwatch reads unencrypted binlogs only: decode it on the server, e.g. with "
                "SHOW BINLOG EVENTS or mariadb-binlog --read-from-remote-server");
      default:
        break;
    }
    if (rows_type_info(h.type).is_rows) {
      if (!rows(m_out, off, h.type, raw.body, size, size)) m_out.other.corrupt += size;
      return;
    }
    if (event_type_name(h.type).starts_with("type_")) ++m_file.unknown_events;
    m_out.other.overhead += size;
  }

  // TABLE_MAP: attributes `disk` bytes to its table in `into` and returns the table's index there;
  // nullopt (error recorded) if malformed.
  std::optional<size_t> table_map(Attribution& into, uint64_t off, Bytes body, uint64_t disk,
                                  uint64_t uncompressed) {
    auto map = parse_table_map(m_ctx.format(), body);
    if (!map) {
      error(off, map.error().kind, map.error().detail);
      return std::nullopt;
    }
    auto stored = m_ctx.apply_table_map(std::move(*map));
    const size_t index = into.table_index(stored->schema, stored->table);
    TableStats& t = into.table_at(index);
    t.bytes += disk;
    t.uncompressed_bytes += uncompressed;
    t.events += 1;
    t.table_map_events += 1;
    t.table_map_bytes += disk;
    t.column_types = stored->types;
    if (!stored->column_names.empty()) t.column_names = stored->column_names;
    return index;
  }

  // ROWS: attributes `disk` bytes to the mapped table, counts its rows and returns the table's
  // index in `into`; nullopt (error recorded) if the event cannot be tied to a table. A row walk
  // failure keeps the bytes with the table.
  std::optional<size_t> rows(Attribution& into, uint64_t off, uint8_t type, Bytes body,
                             uint64_t disk, uint64_t uncompressed) {
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
    const size_t index = into.table_index(map->schema, map->table);
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
        return index;
      }
      t.rows += s->rows;
      switch (ev->info.kind) {
        case RowsKind::Write: t.inserts += s->rows; break;
        case RowsKind::Update: t.updates += s->rows; break;
        case RowsKind::Delete: t.deletes += s->rows; break;
      }
    }
    return index;
  }

  // TRANSACTION_PAYLOAD: the events inside are attributed into a scratch attribution with their
  // uncompressed sizes; then the on-disk size is split among the buckets in proportion (largest
  // remainder, ties to the first bucket seen) and merged. Any failure: the whole event is corrupt.
  void payload(uint64_t off, const RawEvent& raw) {
    const uint64_t disk = raw.header.event_size;
    auto p = parse_transaction_payload(m_ctx.format(), raw.body);
    if (!p) {
      error(off, p.error().kind, p.error().detail);
      m_out.other.corrupt += disk;
      return;
    }
    Attribution local;
    std::vector<std::pair<int64_t, uint64_t>> charges;  // bucket, uncompressed bytes (first-seen order)
    auto charge = [&](int64_t bucket, uint64_t bytes) {
      for (auto& c : charges) {
        if (c.first == bucket) { c.second += bytes; return; }
      }
      charges.emplace_back(bucket, bytes);
    };
    bool failed = false;
    auto walked = m_payload.for_each_event(*p, [&](const EventHeader& h, Bytes event, uint64_t) {
      const Bytes body = event.subspan(kHeaderLen);
      const uint64_t size = h.event_size;
      const bool is_map = h.type == static_cast<uint8_t>(EventType::TableMap);
      if (is_map || rows_type_info(h.type).is_rows) {
        auto index = is_map ? table_map(local, off, body, 0, size) : rows(local, off, h.type, body, 0, size);
        if (!index) { failed = true; return false; }
        charge(static_cast<int64_t>(*index), size);
      } else if (h.type == static_cast<uint8_t>(EventType::Query)) {
        charge(kStatementBucket, size);
      } else {
        charge(kOverheadBucket, size);
      }
      return true;
    });
    if (!walked || failed) {
      if (!walked) error(off, walked.error().kind, walked.error().detail);
      m_out.other.corrupt += disk;
      return;
    }
    const uint64_t total = std::accumulate(charges.begin(), charges.end(), uint64_t{0},
                                           [](uint64_t s, const auto& c) { return s + c.second; });
    if (total == 0) {
      m_out.other.overhead += disk;
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
      } else {
        local.table_at(static_cast<size_t>(bucket)).bytes += share[i];
      }
    }
    m_out.merge(local);
  }

  StreamBuffer m_buf;
  Attribution& m_out;
  ScanOptions m_opt;
  FileSummary m_file;
  DecodeContext m_ctx;
  PayloadReader m_payload;
  bool m_seen_fde = false;
  std::optional<uint64_t> m_size;
};

}  // namespace

FileSummary scan_binlog(ByteSource& source, Attribution& out, const ScanOptions& options) {
  Scanner scanner(source, out, options);
  return scanner.run();
}

}  // namespace binwatch
