#include "binwatch/binlog/mariadb_compression.h"

#include <libdeflate.h>

#include <memory>
#include <string>

namespace binwatch::binlog {

Result<std::vector<std::byte>> mariadb_uncompress(Bytes block, size_t max_len) {
  ByteCursor c(block);
  uint8_t head = 0;
  if (!c.u8(head)) return malformed("compressed block: empty");
  if (!(head & 0x80)) return malformed("compressed block: header byte lacks the compressed bit");
  const unsigned alg = (head >> 4) & 0x7;
  if (alg != 0) return unsupported("compressed block: algorithm " + std::to_string(alg) + " (only zlib)");
  const unsigned lenlen = head & 0x7;
  uint64_t original = 0;
  if (lenlen < 1 || lenlen > 4 || !c.uint_be(lenlen, original)) {
    return malformed("compressed block: original length field of " + std::to_string(lenlen) + " bytes");
  }
  if (original > max_len) {
    return malformed("compressed block: original length " + std::to_string(original) +
                     " exceeds the limit " + std::to_string(max_len));
  }
  // deflate cannot expand more than 1032:1 (zlib FAQ): refuse a length the block cannot hold
  // before allocating it (a 28-byte event declaring 4 GiB).
  if (original > uint64_t{c.remaining()} * 1032 + 64) {
    return malformed("compressed block: original length " + std::to_string(original) +
                     " is more than " + std::to_string(c.remaining()) + " zlib bytes can hold");
  }
  std::vector<std::byte> out(original);
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, Free> dec(libdeflate_alloc_decompressor());
  if (!dec) return malformed("compressed block: out of memory for the decompressor");
  size_t in_used = 0, out_len = 0;
  const Bytes z = c.rest();
  auto rc = libdeflate_zlib_decompress_ex(dec.get(), z.data(), z.size(), out.data(), out.size(),
                                          &in_used, &out_len);
  if (rc != LIBDEFLATE_SUCCESS || out_len != original) {
    return malformed("compressed block: zlib stream does not inflate to the declared " +
                     std::to_string(original) + " bytes");
  }
  return out;
}

}  // namespace binwatch::binlog
