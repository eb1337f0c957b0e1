#include "hierarchical_bitmap.hpp"

#include <algorithm>

namespace bpfq::maps::detail {

HierarchicalBitmap::HierarchicalBitmap(uint64_t bits) : bits_(bits) {
  uint64_t count = bits;
  size_t offset = 0;
  do {
    const size_t words = static_cast<size_t>((count + 63) / 64);
    level_offset_.push_back(offset);
    level_words_.push_back(words);
    offset += words;
    count = words;
  } while (count > 1);
  words_.assign(offset, 0);
}

uint64_t HierarchicalBitmap::next_set(uint64_t from) const noexcept {
  if (from >= bits_) return kNone;
  size_t level = 0;
  uint64_t position = from;
  for (;;) {  // climb until a word holds a set bit at or after position
    const uint64_t word_index = position >> 6;
    if (word_index >= level_words_[level]) return kNone;
    const uint64_t word = words_[level_offset_[level] + word_index] & (~uint64_t{0} << (position & 63));
    if (word != 0) {
      position = (word_index << 6) + __builtin_ctzll(word);
      break;
    }
    if (level + 1 == level_offset_.size()) return kNone;
    ++level;
    position = word_index + 1;  // the next word of the level below
  }
  while (level > 0) {  // descend to the lowest set bit under it
    --level;
    position = (position << 6) + __builtin_ctzll(words_[level_offset_[level] + position]);
  }
  return position;
}

void HierarchicalBitmap::reset() noexcept { std::fill(words_.begin(), words_.end(), 0); }

}  // namespace bpfq::maps::detail

