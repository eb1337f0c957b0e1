#pragma once
// The Internet checksum (RFC 1071): one's-complement sum of big-endian 16-bit words.
#include <cstddef>
#include <cstdint>

namespace bpfq::sched {

// Adds n bytes to a running sum (an odd last byte is padded with zero).
inline uint64_t checksum_add(uint64_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

// Folds the carries and complements: the value to store in a checksum field.
inline uint16_t checksum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace bpfq::sched
