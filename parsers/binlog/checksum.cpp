#include "binwatch/binlog/checksum.h"

#include <libdeflate.h>

#include <array>

#include "binwatch/binlog/event_header.h"

namespace binwatch::binlog {

uint32_t crc32(Bytes data, uint32_t seed) {
  return libdeflate_crc32(seed, data.data(), data.size());
}

bool checksum_matches(Bytes event, bool clear_in_use) {
  if (event.size() < kHeaderLen + kChecksumLen) return false;
  const Bytes covered = event.first(event.size() - kChecksumLen);
  uint32_t crc = 0;
  if (clear_in_use) {
    std::array<std::byte, kHeaderLen> header;
    for (size_t i = 0; i < kHeaderLen; ++i) header[i] = covered[i];
    header[17] &= std::byte{0xfe};
    crc = crc32(header);
    crc = crc32(covered.subspan(kHeaderLen), crc);
  } else {
    crc = crc32(covered);
  }
  ByteCursor footer(event.last(kChecksumLen));
  uint32_t stored = 0;
  return footer.u32le(stored) && stored == crc;
}

}  // namespace binwatch::binlog
