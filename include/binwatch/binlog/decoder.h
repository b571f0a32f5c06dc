#pragma once
// Pure event decoding: bytes and context in, an event or a located error out. No I/O.
#include <cstdint>

#include "binwatch/binlog/decode_context.h"
#include "binwatch/binlog/decode_error.h"
#include "binwatch/binlog/events.h"

namespace binwatch::binlog {

// One event cut out of a buffer: `event` is the whole on-disk event, `body` the bytes after the
// common header with the checksum footer (if any) removed.
struct RawEvent {
  EventHeader header;
  Bytes event;
  Bytes body;
};

// Cuts the event at the start of `data` (which must hold at least header.event_size bytes).
// With `has_checksum`, strips the CRC32 footer and, with `verify`, checks it (the format
// description event is always checked with the in-use flag cleared when it carries a CRC).
Result<RawEvent> frame_event(Bytes data, bool has_checksum, bool verify = true);

// Decodes the body of any event type. Unknown types decode to OtherEvent.
Result<Event> decode_event(const DecodeContext& ctx, const RawEvent& raw);

// Individual decoders (body = after the common header, checksum removed).
Result<QueryEvent> parse_query(const FormatDescription& fde, uint8_t type, Bytes body);
Result<RowsEvent> parse_rows(const FormatDescription& fde, uint8_t type, Bytes body);
Result<TransactionPayloadEvent> parse_transaction_payload(const FormatDescription& fde, Bytes body);
Result<RotateEvent> parse_rotate(const FormatDescription& fde, Bytes body);
Result<GtidEvent> parse_gtid(uint8_t type, Bytes body);
Result<MariadbGtidEvent> parse_mariadb_gtid(const EventHeader& header, Bytes body);

// Upper bound for any single allocation made from a length read off the input.
constexpr uint64_t kMaxEventSize = uint64_t{1} << 32;

}  // namespace binwatch::binlog
