#pragma once
// FNV-1a, 64 bit (http://www.isthe.com/chongo/tech/comp/fnv/): stable short ids for alert
// identities and notifications. Not cryptographic: ids only need to be stable and rarely collide.
#include <cstdint>
#include <string>
#include <string_view>

namespace binwatch::policy {

inline constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnv1a64Prime = 0x100000001b3ull;

constexpr uint64_t fnv1a64(std::string_view text, uint64_t hash = kFnv1a64Offset) {
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnv1a64Prime;
  }
  return hash;
}

// The first `digits` (1..16) lower-case hex digits of the hash.
inline std::string hex_prefix(uint64_t hash, unsigned digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (unsigned i = 0; i < digits; ++i) out[i] = kHex[(hash >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace binwatch::policy
