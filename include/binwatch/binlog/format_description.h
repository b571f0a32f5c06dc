#pragma once
// FORMAT_DESCRIPTION_EVENT (15). Source: MySQL 8.4 libs/mysql/binlog/event/control_events.cpp
// (Format_description_event), MariaDB 11.4 sql/log_event.cc (Format_description_log_event).
//
//  body offset  size  field
//  0            2     binlog_version (4 for every server since 5.0)
//  2            50    server_version, NUL padded
//  52           4     create_timestamp
//  56           1     common header length (19)
//  57           N     post-header length per event type, index type-1
//  57+N         1     checksum algorithm (0 off, 1 CRC32) — only servers that know checksums
//  58+N         4     CRC32 of the event with the in-use flag cleared — same condition
#include <cstdint>
#include <string>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/binlog/event_header.h"
#include "binwatch/byte_cursor.h"

namespace binwatch::binlog {

enum class ChecksumAlg : uint8_t { Off = 0, Crc32 = 1, Undefined = 255 };
enum class Flavor : uint8_t { MySQL, MariaDB };

struct FormatDescription {
  uint16_t binlog_version = 4;
  std::string server_version;
  uint32_t create_timestamp = 0;
  uint8_t header_len = kHeaderLen;
  std::vector<uint8_t> post_header_len;
  ChecksumAlg checksum = ChecksumAlg::Off;
  bool checksum_aware = false;  // the FDE itself ends with alg byte + CRC32
  Flavor flavor = Flavor::MySQL;
  bool in_use = false;  // LOG_EVENT_BINLOG_IN_USE_F on the FDE: file not closed cleanly

  // Post-header length the server declared for `type`; a built-in default when the server's
  // table is shorter than the type code (events of a newer server).
  [[nodiscard]] uint8_t post_header(uint8_t type) const;
  [[nodiscard]] bool event_checksums() const { return checksum == ChecksumAlg::Crc32; }
};

// Default post-header lengths of the v4 format (MySQL 8.4 / MariaDB 11.4 values).
uint8_t default_post_header_len(uint8_t type);

// `event` is the whole FDE as on disk (header, body and, where present, checksum).
// Verifies the FDE's own CRC32 when the server writes one.
Result<FormatDescription> parse_format_description(const EventHeader& header, Bytes event);

// The checksum-capable versions: MySQL >= 5.6.1, MariaDB >= 5.3.0.
bool server_version_knows_checksums(const std::string& server_version);

}  // namespace binwatch::binlog
