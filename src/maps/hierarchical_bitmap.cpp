#include "hierarchical_bitmap.hpp"

#include <algorithm>

namespace bpfq::maps::detail {

HierarchicalBitmap::HierarchicalBitmap(uint64_t bits) : bits_(bits) {
  uint64_t count = bits;
  do {
    const size_t words = static_cast<size_t>((count + 63) / 64);
    level_offset_[levels_] = total_words_;
    level_words_[levels_] = words;
    ++levels_;
    total_words_ += words;
    count = words;
  } while (count > 1);
  words_ = std::make_unique<uint64_t[]>(total_words_);  // zeroed
  for (int level = 0; level < levels_; ++level) level_[level] = words_.get() + level_offset_[level];
}

uint64_t HierarchicalBitmap::next_set(uint64_t from) const noexcept {
  if (from >= bits_) return kNone;
  int level = 0;
  uint64_t position = from;
  for (;;) {  // climb until a word holds a set bit at or after position
    const uint64_t word_index = position >> 6;
    if (word_index >= level_words_[level]) return kNone;
    const uint64_t word = words_[level_offset_[level] + word_index] & (~uint64_t{0} << (position & 63));
    if (word != 0) {
      position = (word_index << 6) + static_cast<uint64_t>(__builtin_ctzll(word));
      break;
    }
    if (level + 1 == levels_) return kNone;
    ++level;
    position = word_index + 1;  // the next word of the level below
  }
  while (level > 0) {  // descend to the lowest set bit under it
    --level;
    position = (position << 6) + static_cast<uint64_t>(__builtin_ctzll(words_[level_offset_[level] + position]));
  }
  return position;
}

void HierarchicalBitmap::reset() noexcept { std::fill(words_.get(), words_.get() + total_words_, 0); }

}  // namespace bpfq::maps::detail
