// Event body decoders. Sources (layouts in include/binwatch/binlog/events.h):
// MySQL 8.4 libs/mysql/binlog/event/{statement_events,control_events,rows_event}.cpp and
// sql/log_event.cc (Query status variables); MariaDB 11.4 sql/log_event.cc (GTID, GTID_LIST,
// BINLOG_CHECKPOINT, ANNOTATE_ROWS, START_ENCRYPTION, compressed events).
#include "binwatch/binlog/decoder.h"

#include <cstdio>

#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/mariadb_compression.h"

namespace binwatch::binlog {

std::string GtidEvent::uuid() const {
  char buf[37];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", sid[0],
                sid[1], sid[2], sid[3], sid[4], sid[5], sid[6], sid[7], sid[8], sid[9], sid[10],
                sid[11], sid[12], sid[13], sid[14], sid[15]);
  return buf;
}

std::string MariadbGtidEvent::gtid() const {
  return std::to_string(domain_id) + "-" + std::to_string(server_id) + "-" + std::to_string(seq_no);
}

Result<RawEvent> frame_event(Bytes data, bool has_checksum, bool verify) {
  auto header = parse_event_header(data);
  if (!header) return header.error();
  const EventHeader& h = *header;
  if (data.size() < h.event_size) {
    return truncated("event of " + std::to_string(h.event_size) + " bytes, only " +
                     std::to_string(data.size()) + " available");
  }
  RawEvent raw{h, data.first(h.event_size), {}};
  if (h.type == static_cast<uint8_t>(EventType::FormatDescription)) {
    // The FDE's own trailer depends on its server version: parse_format_description checks it.
    raw.body = raw.event.subspan(kHeaderLen);
    return raw;
  }
  if (has_checksum) {
    if (h.event_size < kHeaderLen + kChecksumLen) {
      return malformed("event_size " + std::to_string(h.event_size) +
                       " leaves no room for the CRC32 footer");
    }
    if (verify && !checksum_matches(raw.event)) {
      return DecodeError{ErrorKind::Checksum, 0,
                         std::string(event_type_name(h.type)) + " event of " +
                             std::to_string(h.event_size) + " bytes fails its CRC32"};
    }
    raw.body = raw.event.subspan(kHeaderLen, h.event_size - kHeaderLen - kChecksumLen);
  } else {
    raw.body = raw.event.subspan(kHeaderLen);
  }
  return raw;
}

namespace {

// Q_* status variable codes (MySQL sql/log_event.h; MariaDB adds 128+).
bool walk_status_vars(ByteCursor c, QueryEvent& q) {
  while (!c.empty()) {
    uint8_t code = 0;
    if (!c.u8(code)) return false;
    uint8_t len = 0, len2 = 0;
    uint16_t u16 = 0;
    uint64_t u64 = 0;
    std::string_view s, s2;
    switch (code) {
      case 0: if (!c.skip(4)) return false; break;                       // FLAGS2
      case 1: if (!c.u64le(u64)) return false; q.sql_mode = u64; break;  // SQL_MODE
      case 2:                                                             // CATALOG (5.0.0-5.0.3)
        if (!c.u8(len) || !c.text(len, s) || !c.skip(1)) return false;
        q.catalog = s;
        break;
      case 3: if (!c.skip(4)) return false; break;  // AUTO_INCREMENT
      case 4:                                      // CHARSET: client, connection, server
        if (!c.u16le(u16) || !c.skip(4)) return false;
        q.charset_client = u16;
        break;
      case 5:  // TIME_ZONE
        if (!c.u8(len) || !c.text(len, s)) return false;
        q.time_zone = s;
        break;
      case 6:  // CATALOG_NZ
        if (!c.u8(len) || !c.text(len, s)) return false;
        q.catalog = s;
        break;
      case 7: case 8: if (!c.skip(2)) return false; break;  // LC_TIME_NAMES, CHARSET_DATABASE
      case 9: if (!c.skip(8)) return false; break;          // TABLE_MAP_FOR_UPDATE
      case 10: if (!c.skip(4)) return false; break;         // MASTER_DATA_WRITTEN
      case 11:                                              // INVOKER
        if (!c.u8(len) || !c.text(len, s) || !c.u8(len2) || !c.text(len2, s2)) return false;
        q.user = s;
        q.host = s2;
        break;
      case 12: {  // UPDATED_DB_NAMES: count, then NUL-terminated names (254 = too many, none)
        if (!c.u8(len)) return false;
        if (len != 254) {
          for (uint8_t i = 0; i < len; ++i) {
            while (true) {
              uint8_t ch = 0;
              if (!c.u8(ch)) return false;
              if (ch == 0) break;
            }
          }
        }
        break;
      }
      case 13: if (!c.skip(3)) return false; break;   // MICROSECONDS
      case 16: case 19: case 20: if (!c.skip(1)) return false; break;
      case 17: if (!c.skip(8)) return false; break;   // DDL_LOGGED_WITH_XID
      case 18: if (!c.skip(2)) return false; break;   // DEFAULT_COLLATION_FOR_UTF8MB4
      case 128: if (!c.skip(3)) return false; break;  // MariaDB HRNOW
      case 129: if (!c.skip(8)) return false; break;  // MariaDB XID
      default: return false;  // unknown code: the rest of the block cannot be walked
    }
  }
  return true;
}

Result<TransactionPayloadEvent> parse_payload_fields(Bytes body) {
  ByteCursor c(body);
  TransactionPayloadEvent p;
  bool have_size = false;
  for (int fields = 0;; ++fields) {
    uint64_t type = 0, len = 0;
    if (fields > 64 || !c.packed(type)) return malformed("transaction payload: header fields");
    if (type == 0) break;
    ByteCursor v;
    if (!c.packed(len) || !c.sub(len, v)) return malformed("transaction payload: header field");
    uint64_t value = 0;
    if (type <= 3 && !v.packed(value)) return malformed("transaction payload: field value");
    if (type == 1) { p.payload_size = value; have_size = true; }
    if (type == 2) p.compression = value;
    if (type == 3) p.uncompressed_size = value;
  }
  if (!have_size) p.payload_size = c.remaining();
  if (p.payload_size != c.remaining()) {
    return malformed("transaction payload: payload_size " + std::to_string(p.payload_size) +
                     " but " + std::to_string(c.remaining()) + " bytes follow");
  }
  if (!c.bytes(p.payload_size, p.payload)) return malformed("transaction payload: payload");
  return p;
}

}  // namespace

Result<QueryEvent> parse_query(const FormatDescription& fde, uint8_t type, Bytes body) {
  ByteCursor c(body);
  QueryEvent q;
  uint8_t db_len = 0;
  uint16_t vars_len = 0;
  const uint8_t post_len = fde.post_header(type);
  if (!c.u32le(q.thread_id) || !c.u32le(q.exec_time) || !c.u8(db_len) || !c.u16le(q.error_code)) {
    return malformed("query event: short post-header");
  }
  if (post_len >= 13 && !c.u16le(vars_len)) return malformed("query event: short post-header");
  const size_t used = post_len >= 13 ? 13 : 11;
  if (post_len > used && !c.skip(post_len - used)) return malformed("query event: post-header");
  ByteCursor vars;
  if (!c.sub(vars_len, vars)) {
    return malformed("query event: status variables length " + std::to_string(vars_len) +
                     " exceeds the event");
  }
  q.status_vars_complete = walk_status_vars(vars, q);
  std::string_view db;
  if (!c.text(db_len, db) || !c.skip(1)) return malformed("query event: schema name");
  q.schema = db;
  if (type == static_cast<uint8_t>(EventType::MariadbQueryCompressed)) {
    auto text = mariadb_uncompress(c.rest(), kMaxEventSize);
    if (!text) return text.error();
    q.storage = std::make_shared<const std::string>(reinterpret_cast<const char*>(text->data()),
                                                    text->size());
    q.query = *q.storage;
  } else {
    q.query = as_string_view(c.rest());
  }
  return q;
}

Result<RowsEvent> parse_rows(const FormatDescription& fde, uint8_t type, Bytes body) {
  RowsEvent r;
  r.info = rows_type_info(type);
  if (!r.info.is_rows) return malformed("not a rows event type");
  ByteCursor c(body);
  const uint8_t post_len = fde.post_header(type);
  size_t used = 0;
  if (post_len == 6) {
    uint32_t id = 0;
    if (!c.u32le(id)) return malformed("rows event: short post-header");
    r.table_id = id;
    used = 4;
  } else {
    if (!c.u48le(r.table_id)) return malformed("rows event: short post-header");
    used = 6;
  }
  if (!c.u16le(r.flags)) return malformed("rows event: short post-header");
  used += 2;
  if (r.info.version == 2) {
    uint16_t var_len = 0;
    if (!c.u16le(var_len)) return malformed("rows event: short v2 post-header");
    used += 2;
    if (var_len < 2 || !c.bytes(var_len - 2, r.extra_info)) {
      return malformed("rows event: extra row info length " + std::to_string(var_len));
    }
  } else if (post_len > used && !c.skip(post_len - used)) {
    return malformed("rows event: post-header");
  }
  if (!c.packed(r.width) || r.width > c.remaining() * 8) return malformed("rows event: column count");
  const uint64_t bitmap_len = (r.width + 7) / 8;
  if (!c.bytes(bitmap_len, r.columns_before)) {
    return malformed("rows event: columns bitmap for " + std::to_string(r.width) + " columns");
  }
  if (r.info.kind == RowsKind::Update && r.info.version > 0) {
    if (!c.bytes(bitmap_len, r.columns_after)) return malformed("rows event: after-image bitmap");
  } else {
    r.columns_after = r.columns_before;
  }
  if (r.info.compressed) {
    r.compressed_rows_size = c.remaining();
    auto rows = mariadb_uncompress(c.rest(), kMaxEventSize);
    if (!rows) return rows.error();
    r.storage = std::make_shared<std::vector<std::byte>>(std::move(*rows));
    r.rows = Bytes(r.storage->data(), r.storage->size());
  } else {
    r.rows = c.rest();
  }
  return r;
}

Result<TransactionPayloadEvent> parse_transaction_payload(const FormatDescription&, Bytes body) {
  // The (type, length, value) fields start right after the common header: the post-header
  // length the server declares for type 40 is not used by its own reader.
  return parse_payload_fields(body);
}

Result<RotateEvent> parse_rotate(const FormatDescription& fde, Bytes body) {
  ByteCursor c(body);
  RotateEvent r;
  const uint8_t post_len = fde.post_header(4);
  if (post_len >= 8) {
    if (!c.u64le(r.position) || !c.skip(post_len - 8)) return malformed("rotate: short post-header");
  }
  r.next_file = as_string_view(c.rest());
  return r;
}

Result<GtidEvent> parse_gtid(uint8_t type, Bytes body) {
  GtidEvent g;
  g.anonymous = type == static_cast<uint8_t>(EventType::AnonymousGtid);
  if (type == static_cast<uint8_t>(EventType::GtidTagged)) {
    g.tagged = true;  // MySQL 8.3+ serialization format: skipped by length
    return g;
  }
  ByteCursor c(body);
  Bytes sid;
  if (!c.u8(g.flags) || !c.bytes(16, sid) || !c.u64le(g.gno)) return malformed("gtid: short body");
  for (size_t i = 0; i < 16; ++i) g.sid[i] = std::to_integer<uint8_t>(sid[i]);
  uint8_t lt_type = 0;
  uint64_t a = 0, b = 0;
  if (c.remaining() >= 17 && c.u8(lt_type) && lt_type == 2 && c.u64le(a) && c.u64le(b)) {
    g.last_committed = a;
    g.sequence_number = b;
    uint64_t ts = 0;
    if (c.remaining() >= 7 && c.uint_le(7, ts)) {
      if ((ts >> 55) & 1) {
        if (!c.skip(7)) return g;  // original_commit_timestamp
      }
      uint64_t len = 0;
      if (c.packed(len)) g.transaction_length = len;
    }
  }
  return g;
}

Result<MariadbGtidEvent> parse_mariadb_gtid(const EventHeader& header, Bytes body) {
  ByteCursor c(body);
  MariadbGtidEvent g;
  g.server_id = header.server_id;
  if (!c.u64le(g.seq_no) || !c.u32le(g.domain_id) || !c.u8(g.flags2)) {
    return malformed("mariadb gtid: short body");
  }
  if (g.flags2 & 0x2) {  // FL_GROUP_COMMIT_ID
    uint64_t id = 0;
    if (!c.u64le(id)) return malformed("mariadb gtid: commit id");
    g.commit_id = id;
  }
  return g;
}

Result<Event> decode_event(const DecodeContext& ctx, const RawEvent& raw) {
  const FormatDescription& fde = ctx.format();
  const EventHeader& h = raw.header;
  const Bytes body = raw.body;
  auto wrap = [&](auto result) -> Result<Event> {
    if (!result) return result.error();
    return Event{h, EventBody(std::move(*result))};
  };
  switch (static_cast<EventType>(h.type)) {
    case EventType::FormatDescription:
      return wrap(parse_format_description(h, raw.event));
    case EventType::Query:
    case EventType::MariadbQueryCompressed:
      return wrap(parse_query(fde, h.type, body));
    case EventType::Rotate:
      return wrap(parse_rotate(fde, body));
    case EventType::Xid: {
      ByteCursor c(body);
      XidEvent x;
      if (!c.u64le(x.xid)) return malformed("xid: short body");
      return Event{h, x};
    }
    case EventType::Gtid:
    case EventType::AnonymousGtid:
    case EventType::GtidTagged:
      return wrap(parse_gtid(h.type, body));
    case EventType::MariadbGtid:
      return wrap(parse_mariadb_gtid(h, body));
    case EventType::MariadbGtidList: {
      ByteCursor c(body);
      uint32_t count = 0;
      if (!c.u32le(count)) return malformed("gtid list: short body");
      count &= 0x0fffffff;
      if (static_cast<uint64_t>(count) * 16 > c.remaining()) return malformed("gtid list: count");
      MariadbGtidListEvent l;
      l.gtids.resize(count);
      for (auto& e : l.gtids) {
        if (!c.u32le(e.domain_id) || !c.u32le(e.server_id) || !c.u64le(e.seq_no)) {
          return malformed("gtid list: entry");
        }
      }
      return Event{h, std::move(l)};
    }
    case EventType::MariadbBinlogCheckpoint: {
      ByteCursor c(body);
      uint32_t len = 0;
      std::string_view name;
      if (!c.u32le(len) || !c.text(len, name)) return malformed("binlog checkpoint: file name");
      return Event{h, BinlogCheckpointEvent{std::string(name)}};
    }
    case EventType::MariadbAnnotateRows:
      return Event{h, RowsQueryEvent{std::string(as_string_view(body))}};
    case EventType::RowsQuery: {
      ByteCursor c(body);
      if (!c.skip(1)) return malformed("rows query: short body");  // length byte, may be truncated
      return Event{h, RowsQueryEvent{std::string(as_string_view(c.rest()))}};
    }
    case EventType::Incident: {
      ByteCursor c(body);
      IncidentEvent e;
      uint8_t len = 0;
      std::string_view msg;
      if (!c.u16le(e.incident)) return malformed("incident: short body");
      if (c.u8(len) && c.text(len, msg)) e.message = msg;
      return Event{h, std::move(e)};
    }
    case EventType::Heartbeat:
      return Event{h, HeartbeatEvent{std::string(as_string_view(body)), std::nullopt}};
    case EventType::HeartbeatV2: {
      ByteCursor c(body);
      HeartbeatEvent e;
      while (!c.empty()) {
        uint64_t type = 0, len = 0;
        ByteCursor v;
        if (!c.packed(type) || !c.packed(len) || !c.sub(len, v)) {
          return malformed("heartbeat v2: field");
        }
        if (type == 1) e.log_name = as_string_view(v.rest());
        uint64_t pos = 0;
        if (type == 2 && v.packed(pos)) e.position = pos;
      }
      return Event{h, std::move(e)};
    }
    case EventType::MariadbStartEncryption: {
      ByteCursor c(body);
      StartEncryptionEvent e;
      if (!c.u8(e.scheme) || !c.u32le(e.key_version)) return malformed("start encryption: body");
      return Event{h, e};
    }
    case EventType::TransactionPayload:
      return wrap(parse_transaction_payload(fde, body));
    case EventType::TableMap:
      return wrap(parse_table_map(fde, body));
    default:
      break;
  }
  if (rows_type_info(h.type).is_rows) return wrap(parse_rows(fde, h.type, body));
  return Event{h, OtherEvent{}};
}

}  // namespace binwatch::binlog
