#pragma once
// BPF_MAP_TYPE_RBTREE (the seed's map, bpfq type 1000): unique keys ordered by memcmp() of their
// bytes, so integer ranks must be stored big-endian. pop() removes the minimum key.
#include <bpfq/maps/map.hpp>

namespace bpfq::maps {

class RbtreeMap : public Map {
 public:
  // Removes the minimum element, copying its key and value out (either pointer may be null).
  // The value's kptr fields read as NULL and its references are released. -ENOENT when empty.
  virtual int pop_with_key(void* key_out, void* value_out) = 0;

 protected:
  using Map::Map;
};

}  // namespace bpfq::maps
