#pragma once
// The v4 common event header (19 bytes, little-endian). Source: MySQL 8.4
// libs/mysql/binlog/event/binlog_event.h (Log_event_header), MariaDB sql/log_event.h.
//
//  offset  size  field
//  0       4     timestamp (seconds since epoch)
//  4       1     type code
//  5       4     server_id
//  9       4     event_size (header + body + checksum)
//  13      4     log_pos: end of this event (0 inside compressed payloads and for MariaDB 11.4+
//                events copied from the transaction cache; wraps past 4 GiB: never trusted)
//  17      2     flags
#include <cstdint>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/byte_cursor.h"

namespace binwatch::binlog {

constexpr uint32_t kHeaderLen = 19;
constexpr uint32_t kChecksumLen = 4;
constexpr uint8_t kMagic[4] = {0xfe, 0x62, 0x69, 0x6e};

constexpr uint16_t kFlagInUse = 0x1;
constexpr uint16_t kFlagArtificial = 0x20;
constexpr uint16_t kFlagRelayLog = 0x40;
constexpr uint16_t kFlagIgnorable = 0x80;

struct EventHeader {
  uint32_t timestamp = 0;
  uint8_t type = 0;
  uint32_t server_id = 0;
  uint32_t event_size = 0;
  uint32_t log_pos = 0;
  uint16_t flags = 0;
};

// Parses the 19-byte header at the start of `data`. Fails (Truncated) when fewer than 19 bytes
// are given and (Malformed) when event_size is smaller than the header itself.
Result<EventHeader> parse_event_header(Bytes data);

}  // namespace binwatch::binlog
