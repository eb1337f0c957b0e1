#pragma once
// BPF_MAP_TYPE_PIFO (bpfq type 1002): the XDP queueing RFC's PIFO_GENERIC map. push() takes the
// rank from its flags (flags & BPF_PIFO_PRIO_MASK); pop() returns the lowest rank, first in first
// out among equal ranks. Ranks live in two windows of map_extra (a power of two) buckets each:
// the primary [min_rank, min_rank + range) and the secondary just above it; a higher rank is
// clamped into the secondary's last bucket. When the primary runs empty the windows rotate up by
// range, so ever-growing ranks (timestamps) keep working.
#include <bpfq/maps/map.hpp>

namespace bpfq::maps {

class PifoMap : public Map {
 public:
  // pop() that also reports the element's rank (its bucket's rank, after any clamping).
  virtual int pop_with_rank(void* value_out, uint64_t* rank_out) = 0;
  // Lowest rank push() accepts (the primary window's start); below it push fails with -ERANGE.
  virtual uint64_t min_rank() const = 0;
  uint32_t range() const { return static_cast<uint32_t>(spec().extra); }

 protected:
  using Map::Map;
};

}  // namespace bpfq::maps
