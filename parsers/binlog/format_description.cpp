// Sources: MySQL 8.4 libs/mysql/binlog/event/control_events.cpp (Format_description_event),
// binlog_event.cpp (checksum_version_split), MariaDB 11.4 sql/log_event.cc
// (Format_description_log_event, checksum_version_split_mariadb).
#include "binwatch/binlog/format_description.h"

#include <array>
#include <charconv>

#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/event_header.h"

namespace binwatch::binlog {

Result<EventHeader> parse_event_header(Bytes data) {
  ByteCursor c(data);
  EventHeader h;
  if (!c.u32le(h.timestamp) || !c.u8(h.type) || !c.u32le(h.server_id) || !c.u32le(h.event_size) ||
      !c.u32le(h.log_pos) || !c.u16le(h.flags)) {
    return truncated("event header needs 19 bytes, " + std::to_string(data.size()) + " left");
  }
  if (h.event_size < kHeaderLen) {
    return malformed("event_size " + std::to_string(h.event_size) +
                     " is smaller than the 19-byte header");
  }
  return h;
}

uint8_t default_post_header_len(uint8_t type) {
  switch (type) {
    case 1: return 56;
    case 2: return 13;
    case 4: return 8;
    case 6: case 12: return 18;
    case 8: case 9: case 10: case 11: case 17: return 4;
    case 15: return 84;
    case 18: return 26;
    case 19: return 8;
    case 20: case 21: case 22: case 23: case 24: case 25: return 8;
    case 26: return 2;
    case 30: case 31: case 32: case 39: return 10;
    case 33: case 34: case 42: return 42;
    case 36: return 18;
    case 37: return 52;
    case 40: return 40;
    case 161: return 4;
    case 162: return 19;
    case 163: return 4;
    case 165: return 13;
    case 166: case 167: case 168: return 8;
    case 169: case 170: case 171: return 10;
    default: return 0;
  }
}

uint8_t FormatDescription::post_header(uint8_t type) const {
  if (type >= 1 && static_cast<size_t>(type - 1) < post_header_len.size()) {
    return post_header_len[type - 1];
  }
  return default_post_header_len(type);
}

namespace {

std::array<unsigned, 3> version_split(const std::string& v) {
  std::array<unsigned, 3> out{0, 0, 0};
  const char* p = v.data();
  const char* end = v.data() + v.size();
  for (size_t i = 0; i < 3 && p < end; ++i) {
    unsigned n = 0;
    auto [next, ec] = std::from_chars(p, end, n);
    if (ec != std::errc()) break;
    out[i] = n;
    p = next;
    if (p < end && *p == '.') ++p; else break;
  }
  return out;
}

}  // namespace

bool server_version_knows_checksums(const std::string& server_version) {
  const bool mariadb = server_version.find("MariaDB") != std::string::npos ||
                       server_version.find("-maria-") != std::string::npos;
  const auto v = version_split(server_version);
  const unsigned product = v[0] * 65536 + v[1] * 256 + v[2];
  return mariadb ? product >= 5 * 65536 + 3 * 256 : product >= 5 * 65536 + 6 * 256 + 1;
}

Result<FormatDescription> parse_format_description(const EventHeader& header, Bytes event) {
  if (event.size() < header.event_size || header.event_size < kHeaderLen) {
    return truncated("format description event shorter than its event_size");
  }
  event = event.first(header.event_size);
  ByteCursor c(event.subspan(kHeaderLen));
  FormatDescription f;
  std::string_view version;
  if (!c.u16le(f.binlog_version) || !c.text(50, version) || !c.u32le(f.create_timestamp) ||
      !c.u8(f.header_len)) {
    return malformed("format description body shorter than 57 bytes");
  }
  if (f.binlog_version != 4) {
    return unsupported("binlog format version " + std::to_string(f.binlog_version) +
                       " (MySQL 3.23/4.x); only version 4 (MySQL 5.0+, MariaDB) is supported");
  }
  if (f.header_len != kHeaderLen) {
    return unsupported("common header length " + std::to_string(f.header_len) + " (expected 19)");
  }
  f.server_version = std::string(version.substr(0, version.find('\0')));
  f.flavor = (f.server_version.find("MariaDB") != std::string::npos) ? Flavor::MariaDB : Flavor::MySQL;
  f.in_use = header.flags & kFlagInUse;
  f.checksum_aware = server_version_knows_checksums(f.server_version);
  size_t n = c.remaining();
  if (f.checksum_aware) {
    if (n < 1 + kChecksumLen) return malformed("format description lacks its checksum trailer");
    n -= 1 + kChecksumLen;
  }
  Bytes lens;
  if (!c.bytes(n, lens)) return malformed("format description post-header table");
  f.post_header_len.reserve(n);
  for (std::byte b : lens) f.post_header_len.push_back(std::to_integer<uint8_t>(b));
  if (f.checksum_aware) {
    uint8_t alg = 0;
    if (!c.u8(alg)) return malformed("format description checksum algorithm byte");
    if (alg == 0) {
      f.checksum = ChecksumAlg::Off;
    } else if (alg == 1) {
      f.checksum = ChecksumAlg::Crc32;
    } else if (alg == 255) {
      f.checksum = ChecksumAlg::Undefined;
    } else {
      return malformed("unknown checksum algorithm " + std::to_string(alg));
    }
    if (f.checksum != ChecksumAlg::Undefined && !checksum_matches(event, true)) {
      return DecodeError{ErrorKind::Checksum, 0, "format description event fails its CRC32"};
    }
  }
  return f;
}

}  // namespace binwatch::binlog
