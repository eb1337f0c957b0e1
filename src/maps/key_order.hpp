#pragma once
// Key orders equal to memcmp() over key_size bytes. For 4-, 8- and 16-byte keys, reading the
// bytes as big-endian integers gives the same order with one or two integer comparisons; the
// sought key is converted once (its "probe") and compared against each node's key bytes.
#include <cstdint>
#include <cstring>

namespace bpfq::maps::detail {

inline int three_way(uint64_t a, uint64_t b) { return (a > b) - (a < b); }

inline uint32_t load_big_endian32(const void* bytes) {
  uint32_t word;
  std::memcpy(&word, bytes, sizeof word);
  return __builtin_bswap32(word);
}

inline uint64_t load_big_endian64(const void* bytes) {
  uint64_t word;
  std::memcpy(&word, bytes, sizeof word);
  return __builtin_bswap64(word);
}

struct BytewiseOrder {
  using Probe = const void*;
  uint32_t key_size;
  Probe probe(const void* key) const { return key; }
  int compare(Probe sought, const void* node_key) const { return std::memcmp(sought, node_key, key_size); }
};

struct BigEndian32Order {
  using Probe = uint32_t;
  static constexpr uint32_t kKeySize = 4;
  Probe probe(const void* key) const { return load_big_endian32(key); }
  int compare(Probe sought, const void* node_key) const {
    return three_way(sought, load_big_endian32(node_key));
  }
};

struct BigEndian64Order {
  using Probe = uint64_t;
  static constexpr uint32_t kKeySize = 8;
  Probe probe(const void* key) const { return load_big_endian64(key); }
  int compare(Probe sought, const void* node_key) const {
    return three_way(sought, load_big_endian64(node_key));
  }
};

struct BigEndian128Order {
  struct Probe {
    uint64_t high, low;
  };
  static constexpr uint32_t kKeySize = 16;
  Probe probe(const void* key) const {
    return {load_big_endian64(key), load_big_endian64(static_cast<const char*>(key) + 8)};
  }
  int compare(Probe sought, const void* node_key) const {
    const uint64_t high = load_big_endian64(node_key);
    if (sought.high != high) return sought.high < high ? -1 : 1;
    return three_way(sought.low, load_big_endian64(static_cast<const char*>(node_key) + 8));
  }
};

}  // namespace bpfq::maps::detail
