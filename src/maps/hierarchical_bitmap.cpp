#include "hierarchical_bitmap.hpp"

#include <algorithm>

namespace bpfq::maps::detail {

template <int Levels>
HierarchicalBitmap<Levels>::HierarchicalBitmap(uint64_t bits) : bits_(bits) {
  size_t level_offset[Levels];
  uint64_t count = bits;
  for (int level = 0; level < Levels; ++level) {
    const size_t words = static_cast<size_t>((count + 63) / 64);
    level_offset[level] = total_words_;
    level_words_[level] = words;
    total_words_ += words;
    count = words;
  }
  words_ = std::make_unique<uint64_t[]>(total_words_);  // zeroed
  for (int level = 0; level < Levels; ++level) level_[level] = words_.get() + level_offset[level];
}

template <int Levels>
uint64_t HierarchicalBitmap<Levels>::next_set(uint64_t from) const noexcept {
  if (from >= bits_) return kNoBit;
  int level = 0;
  uint64_t position = from;
  for (;;) {  // climb until a word holds a set bit at or after position
    const uint64_t word_index = position >> 6;
    if (word_index >= level_words_[level]) return kNoBit;
    const uint64_t word = level_[level][word_index] & (~uint64_t{0} << (position & 63));
    if (word != 0) {
      position = (word_index << 6) + static_cast<uint64_t>(__builtin_ctzll(word));
      break;
    }
    if (level + 1 == Levels) return kNoBit;
    ++level;
    position = word_index + 1;  // the next word of the level below
  }
  while (level > 0) {  // descend to the lowest set bit under it
    --level;
    position = (position << 6) + static_cast<uint64_t>(__builtin_ctzll(level_[level][position]));
  }
  return position;
}

template <int Levels>
void HierarchicalBitmap<Levels>::reset() noexcept {
  std::fill(words_.get(), words_.get() + total_words_, 0);
}

template class HierarchicalBitmap<1>;
template class HierarchicalBitmap<2>;
template class HierarchicalBitmap<3>;
template class HierarchicalBitmap<4>;

}  // namespace bpfq::maps::detail
