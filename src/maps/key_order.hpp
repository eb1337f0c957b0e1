#pragma once
// Key orders equal to memcmp() over key_size bytes, for the ordered maps' B+ tree. A key of up to
// 16 bytes, read as a big-endian integer zero-padded to 4, 8 or 16 bytes, sorts as memcmp sorts
// it (keys of one map share their length, so the padding never decides). The tree stores that
// integer in its nodes ("slots") and converts each sought key once (its "probe"), so a descent
// compares integers. Longer keys keep their bytes and compare with memcmp.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bpfq::maps::detail {

template <class Word>
Word load_big_endian(const void* bytes, uint32_t size);

template <>
inline uint32_t load_big_endian<uint32_t>(const void* bytes, uint32_t size) {
  uint32_t word = 0;
  if (size == sizeof word) {
    std::memcpy(&word, bytes, sizeof word);  // the common case, inlined
  } else {
    std::memcpy(&word, bytes, size);
  }
  return __builtin_bswap32(word);
}

template <>
inline uint64_t load_big_endian<uint64_t>(const void* bytes, uint32_t size) {
  uint64_t word = 0;
  if (size == sizeof word) {
    std::memcpy(&word, bytes, sizeof word);
  } else {
    std::memcpy(&word, bytes, size);
  }
  return __builtin_bswap64(word);
}

template <>
inline unsigned __int128 load_big_endian<unsigned __int128>(const void* bytes, uint32_t size) {
  uint64_t half[2] = {0, 0};
  if (size == sizeof half) {
    // Two 8-byte loads: keys are often built by two 8-byte stores, which one 16-byte load could
    // not take from the store buffer (a store-forwarding stall).
    std::memcpy(&half[0], bytes, 8);
    std::memcpy(&half[1], static_cast<const char*>(bytes) + 8, 8);
  } else {
    std::memcpy(half, bytes, size);
  }
  return (static_cast<unsigned __int128>(__builtin_bswap64(half[0])) << 64) | __builtin_bswap64(half[1]);
}

// Keys of 1 to sizeof(Word) bytes as one unsigned integer.
template <class Word>
struct IntegerOrder {
  using Probe = Word;
  uint32_t key_size;

  static constexpr size_t stride() { return sizeof(Word); }
  Probe probe(const void* key) const { return load_big_endian<Word>(key, key_size); }
  void copy_key(void* to, const void* from) const {
    if (key_size == sizeof(Word)) {
      std::memcpy(to, from, sizeof(Word));  // inlined, where a copy of key_size bytes is a call
    } else {
      std::memcpy(to, from, key_size);
    }
  }
  static void store(void* slot, const Probe& probe) { std::memcpy(slot, &probe, sizeof probe); }
  static int compare(const Probe& sought, const void* slot) {
    const Word stored = load(slot);
    return (sought > stored) - (sought < stored);
  }
  // Whether the slot's key sorts before the probe (kOrEqual: or equals it).
  template <bool kOrEqual>
  static bool slot_before(const void* slot, const Probe& probe) {
    return kOrEqual ? load(slot) <= probe : load(slot) < probe;
  }

 private:
  static Word load(const void* slot) {
    Word stored;
    std::memcpy(&stored, slot, sizeof stored);
    return stored;
  }
};

// Keys longer than 16 bytes: their bytes, compared with memcmp.
struct BytewiseOrder {
  using Probe = const void*;
  uint32_t key_size;

  size_t stride() const { return key_size; }
  Probe probe(const void* key) const { return key; }
  void copy_key(void* to, const void* from) const { std::memcpy(to, from, key_size); }
  void store(void* slot, Probe probe) const { std::memcpy(slot, probe, key_size); }
  int compare(Probe sought, const void* slot) const { return std::memcmp(sought, slot, key_size); }
  template <bool kOrEqual>
  bool slot_before(const void* slot, Probe probe) const {
    const int order = std::memcmp(slot, probe, key_size);
    return kOrEqual ? order <= 0 : order < 0;
  }
};

}  // namespace bpfq::maps::detail
