#pragma once
// A bitmap with summary levels: bit i of level L+1 says word i of level L is non-zero. Finding
// the first set bit of 2^20 bits is four find-first-set steps, whatever the population.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfq::maps::detail {

class HierarchicalBitmap {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};

  explicit HierarchicalBitmap(uint64_t bits);

  bool empty() const { return words_[level_offset_.back()] == 0; }
  bool test(uint64_t bit) const { return (words_[bit >> 6] >> (bit & 63)) & 1; }

  void set(uint64_t bit) noexcept {
    for (size_t level = 0; level < level_offset_.size(); ++level) {
      uint64_t& word = words_[level_offset_[level] + (bit >> 6)];
      const bool was_empty = word == 0;
      word |= uint64_t{1} << (bit & 63);
      if (!was_empty) return;  // the levels above already know
      bit >>= 6;
    }
  }

  void clear(uint64_t bit) noexcept {
    for (size_t level = 0; level < level_offset_.size(); ++level) {
      uint64_t& word = words_[level_offset_[level] + (bit >> 6)];
      word &= ~(uint64_t{1} << (bit & 63));
      if (word != 0) return;  // still non-empty: the levels above stay set
      bit >>= 6;
    }
  }

  // Lowest set bit; the bitmap must not be empty.
  uint64_t first() const noexcept {
    uint64_t position = 0;
    for (size_t level = level_offset_.size(); level-- > 0;) {
      position = (position << 6) + __builtin_ctzll(words_[level_offset_[level] + position]);
    }
    return position;
  }

  // Lowest set bit at or after `from`, or kNone.
  uint64_t next_set(uint64_t from) const noexcept;

  void reset() noexcept;

 private:
  uint64_t bits_;
  std::vector<size_t> level_offset_;  // start of each level in words_; [0] is the leaf level
  std::vector<size_t> level_words_;
  std::vector<uint64_t> words_;
};

}  // namespace bpfq::maps::detail
