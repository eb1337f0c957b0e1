#pragma once
// ARRAY_OF_MAPS, HASH_OF_MAPS and RBTREE_OF_MAPS: maps whose values are inner maps.
//
// The BPF side sees an inner map as its Map*: lookup() returns it and pop()/peek() write it
// (8 bytes, whatever value_size says), and update() takes a pointer to one, so a program can
// move an inner map it got from this layer (for instance pop a flow's queue from an
// RBTREE_OF_MAPS and re-insert it with a new key). Inner maps are held by shared_ptr.
//
// A program may go on using an inner map after removing it from the outer map, as RCU allows
// in the kernel. So an inner map that leaves the outer map (delete, overwrite, pop) while the
// outer map held its last reference is not destroyed at once but retired: it lives until the
// owner calls release_retired() at a quiescent point (after each program run, or on reset).
#include <cstddef>
#include <memory>
#include <vector>

#include <bpfq/maps/map.hpp>

namespace bpfq::maps {

class MapOfMaps : public Map {
 public:
  ~MapOfMaps() override;

  // User side: installs `inner` at `key` (flags as for update()). -EINVAL if inner is null, is
  // this map, or does not match spec().inner (type, key_size, value_size).
  int set_inner(const void* key, std::shared_ptr<Map> inner, uint64_t flags = kBpfAny);
  // The inner map at key, or null.
  std::shared_ptr<Map> inner(const void* key);
  // Whether `candidate` fits the inner-map template.
  bool accepts(const Map& candidate) const;

  // BPF side: *value is a Map* that this layer created.
  int update(const void* key, const void* value, uint64_t flags) final;
  // Writes the inner Map* (8 bytes).
  int lookup_copy(const void* key, void* value_out) override;

  // Destroys the inner maps retired since the last call (those no one else holds).
  void release_retired() { retired_.clear(); }
  size_t retired_count() const { return retired_.size(); }

 protected:
  explicit MapOfMaps(const MapSpec& spec);

  // Stores an already checked inner map with update() semantics for flags.
  virtual int store(const void* key, std::shared_ptr<Map>&& inner, uint64_t flags) = 0;
  // Takes an inner map that leaves this map; keeps it alive if this map held the last reference.
  void retire(std::shared_ptr<Map>&& removed);
  static void write_map_pointer(void* out, const Map* map);

 private:
  std::vector<std::shared_ptr<Map>> retired_;
};

}  // namespace bpfq::maps
