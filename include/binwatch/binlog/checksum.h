#pragma once
// CRC32 (zlib polynomial) of binlog events, through libdeflate's carry-less-multiply implementation.
#include <cstdint>

#include "binwatch/byte_cursor.h"

namespace binwatch::binlog {

uint32_t crc32(Bytes data, uint32_t seed = 0);

// True when the last 4 bytes of `event` are the CRC32 of everything before them. With
// `clear_in_use` the header's in-use flag (byte 17, bit 0) counts as cleared, as the server
// computes it for the format description event.
bool checksum_matches(Bytes event, bool clear_in_use = false);

}  // namespace binwatch::binlog
