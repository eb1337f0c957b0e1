#pragma once
// A bitmap with summary levels: bit i of level L+1 says word i of level L is non-zero. Finding
// the first set bit of 2^20 bits is four find-first-set steps, whatever the population.
// Level offsets live inline and the words in one array, so each step is one dependent load.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace bpfq::maps::detail {

class HierarchicalBitmap {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};
  static constexpr int kMaxLevels = 8;  // 64^8 bits: far beyond any map

  explicit HierarchicalBitmap(uint64_t bits);

  bool empty() const { return *level_[levels_ - 1] == 0; }
  bool test(uint64_t bit) const { return (words_[bit >> 6] >> (bit & 63)) & 1; }

  void set(uint64_t bit) noexcept {
    for (int level = 0; level < levels_; ++level) {
      uint64_t& word = level_[level][bit >> 6];
      const bool was_empty = word == 0;
      word |= uint64_t{1} << (bit & 63);
      if (!was_empty) return;  // the levels above already know
      bit >>= 6;
    }
  }

  void clear(uint64_t bit) noexcept {
    for (int level = 0; level < levels_; ++level) {
      uint64_t& word = level_[level][bit >> 6];
      word &= ~(uint64_t{1} << (bit & 63));
      if (word != 0) return;  // still non-empty: the levels above stay set
      bit >>= 6;
    }
  }

  // Lowest set bit; the bitmap must not be empty.
  uint64_t first() const noexcept {
    uint64_t position = 0;
    for (int level = levels_ - 1; level >= 0; --level) {
      position = (position << 6) + static_cast<uint64_t>(__builtin_ctzll(level_[level][position]));
    }
    return position;
  }

  // Lowest set bit at or after `from`, or kNone.
  uint64_t next_set(uint64_t from) const noexcept;

  void reset() noexcept;

 private:
  uint64_t bits_;
  int levels_ = 0;
  size_t level_offset_[kMaxLevels] = {};  // start of each level in words_; [0] is the leaf level
  size_t level_words_[kMaxLevels] = {};
  size_t total_words_ = 0;
  std::unique_ptr<uint64_t[]> words_;
  uint64_t* level_[kMaxLevels] = {};  // &words_[level_offset_[level]]
};

}  // namespace bpfq::maps::detail
