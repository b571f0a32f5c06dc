#pragma once
// MariaDB compressed events (QUERY_COMPRESSED 165, *_ROWS_COMPRESSED 166-171).
// Source: MariaDB 11.4 sql/log_event.cc (binlog_buf_compress / binlog_buf_uncompress).
//
//  byte 0        bit 7 set; bits 4-6 algorithm (0 = zlib); bits 0-2 n = size of the length
//  bytes 1..n    original (uncompressed) length, big-endian
//  bytes n+1..   zlib stream
#include <cstddef>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/byte_cursor.h"

namespace binwatch::binlog {

// Decompresses one block. Refuses an original length above `max_len` before allocating.
Result<std::vector<std::byte>> mariadb_uncompress(Bytes block, size_t max_len);

}  // namespace binwatch::binlog
