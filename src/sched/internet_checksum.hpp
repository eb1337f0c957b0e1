#pragma once
// The Internet checksum (RFC 1071): one's-complement sum of big-endian 16-bit words.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bpfq::sched {

// Adds n bytes to a running sum (an odd last byte is padded with zero). The bytes go in as
// big-endian 32-bit words, each congruent modulo 0xFFFF to the sum of its two 16-bit words
// (2^16 ≡ 1) and zero only if both are: checksum_finish gives what RFC 1071's word-by-word sum
// gives, for half the loop's steps.
inline uint64_t checksum_add(uint64_t sum, const uint8_t* p, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += std::endian::native == std::endian::little ? __builtin_bswap32(w) : w;
  }
  if (i + 2 <= n) {
    sum += uint32_t{p[i]} << 8 | p[i + 1];
    i += 2;
  }
  if (i < n) sum += uint32_t{p[i]} << 8;
  return sum;
}

// Folds the carries and complements: the value to store in a checksum field.
inline uint16_t checksum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace bpfq::sched
