#pragma once
// A bitmap with summary levels: bit i of level L+1 says word i of level L is non-zero. Finding
// the first set bit of 2^24 bits is four find-first-set steps, whatever the population.
// The number of levels is a template argument, so every walk over them is straight-line code
// (no loop counter, no data-dependent exit to mispredict); the words live in one array.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace bpfq::maps::detail {

inline constexpr uint64_t kNoBit = ~uint64_t{0};

// Levels needed for `bits` bits (1 up to 64 bits, 2 up to 4096, ...).
constexpr int bitmap_levels(uint64_t bits) {
  int levels = 1;
  for (uint64_t reach = 64; reach < bits; reach <<= 6) ++levels;
  return levels;
}

template <int Levels>
class HierarchicalBitmap {
 public:
  static constexpr uint64_t kMaxBits = uint64_t{1} << (6 * Levels);

  // bitmap_levels(bits) must be Levels.
  explicit HierarchicalBitmap(uint64_t bits);

  bool empty() const { return *level_[Levels - 1] == 0; }
  bool test(uint64_t bit) const { return (level_[0][bit >> 6] >> (bit & 63)) & 1; }

  // set() and clear() walk every level without an early exit: the levels are few and hot, and
  // a data-dependent exit is a branch the CPU mispredicts whenever occupancy is sparse.
  void set(uint64_t bit) noexcept {
#pragma GCC unroll 8
    for (int level = 0; level < Levels; ++level) {
      level_[level][bit >> 6] |= uint64_t{1} << (bit & 63);  // the levels above may know already
      bit >>= 6;
    }
  }

  void clear(uint64_t bit) noexcept {
    uint64_t emptied = 1;  // 1 while the word below has just become zero
#pragma GCC unroll 8
    for (int level = 0; level < Levels; ++level) {
      uint64_t& word = level_[level][bit >> 6];
      word &= ~(emptied << (bit & 63));
      emptied = word == 0;
      bit >>= 6;
    }
  }

  // Lowest set bit, or kNoBit when the bitmap is empty.
  uint64_t first() const noexcept {
    const uint64_t top = *level_[Levels - 1];
    if (top == 0) return kNoBit;
    uint64_t position = static_cast<uint64_t>(__builtin_ctzll(top));
#pragma GCC unroll 8
    for (int level = Levels - 2; level >= 0; --level) {
      position = (position << 6) + static_cast<uint64_t>(__builtin_ctzll(level_[level][position]));
    }
    return position;
  }

  // Lowest set bit at or after `from`, or kNoBit.
  uint64_t next_set(uint64_t from) const noexcept;

  void reset() noexcept;

 private:
  uint64_t bits_;
  size_t level_words_[Levels] = {};
  size_t total_words_ = 0;
  std::unique_ptr<uint64_t[]> words_;
  uint64_t* level_[Levels] = {};  // level L's words within words_; [0] is the leaf level
};

extern template class HierarchicalBitmap<1>;
extern template class HierarchicalBitmap<2>;
extern template class HierarchicalBitmap<3>;
extern template class HierarchicalBitmap<4>;

}  // namespace bpfq::maps::detail
