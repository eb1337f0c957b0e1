#pragma once
// Keys of array-like maps (ARRAY, PERCPU_ARRAY, ARRAY_OF_MAPS): a u32 index.
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace bpfq::maps::detail {

inline uint32_t read_index(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof index);
  return index;
}

// get_next_key over indexes [0, size): the first for key == nullptr, -ENOENT after the last;
// an index past the end restarts at 0, as in the kernel.
inline int next_index(const void* key, void* next_key, uint32_t size) {
  uint32_t next = 0;
  if (key != nullptr) {
    const uint32_t index = read_index(key);
    if (index < size) {
      if (index + 1 == size) return -ENOENT;
      next = index + 1;
    }
  }
  std::memcpy(next_key, &next, sizeof next);
  return 0;
}

}  // namespace bpfq::maps::detail
