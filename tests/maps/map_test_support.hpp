#pragma once
// Helpers shared by the map tests: spec builders, byte-exact values, counted packet references.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <bpfq/maps/map.hpp>

namespace bpfq::maps::testing {

inline MapSpec make_spec(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                         std::string name = "m") {
  MapSpec spec;
  spec.name = std::move(name);
  spec.type = static_cast<uint32_t>(type);
  spec.key_size = key_size;
  spec.value_size = value_size;
  spec.max_entries = max_entries;
  return spec;
}

inline std::shared_ptr<Map> make(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
  return create_map(make_spec(type, key_size, value_size, max_entries));
}

// The bytes of a value, for byte-exact comparisons.
inline std::vector<uint8_t> bytes_of(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  return {p, p + size};
}

// A value of `size` bytes whose byte i is seed + i.
inline std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(seed + i);
  return v;
}

inline uint32_t u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t u64(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A 16-byte key that memcmp orders as (rank, sequence): both big-endian.
inline std::array<uint8_t, 16> rank_key(uint64_t rank, uint64_t sequence) {
  std::array<uint8_t, 16> key;
  const uint64_t high = __builtin_bswap64(rank), low = __builtin_bswap64(sequence);
  std::memcpy(key.data(), &high, 8);
  std::memcpy(key.data() + 8, &low, 8);
  return key;
}

// Stand-ins for packets: the kptr dtor counts how often each one is released.
struct FakePacket {
  int releases = 0;
};

inline void count_release(void* packet) { ++static_cast<FakePacket*>(packet)->releases; }

// Stores a reference in the kptr field at `offset` of a value in map storage, as bpf_kptr_xchg
// does; the field must be NULL.
inline void hold(void* value, uint32_t offset, FakePacket* packet) {
  void* old;
  std::memcpy(&old, static_cast<char*>(value) + offset, sizeof old);
  if (old != nullptr) throw std::logic_error("kptr field already holds a reference");
  std::memcpy(static_cast<char*>(value) + offset, &packet, sizeof packet);
}

}  // namespace bpfq::maps::testing
