#pragma once
// One factory per map type, each defined beside its type. create_map() validates the spec
// first, so factories may assume sizes are sane.
#include <memory>

#include <bpfq/maps/map.hpp>

namespace bpfq::maps::detail {

std::shared_ptr<Map> make_array_map(const MapSpec& spec);        // ARRAY, PERCPU_ARRAY
std::shared_ptr<Map> make_hash_map(const MapSpec& spec);         // HASH, LRU_HASH
std::shared_ptr<Map> make_queue_stack_map(const MapSpec& spec);  // QUEUE, STACK
std::shared_ptr<Map> make_ringbuf_map(const MapSpec& spec);
std::shared_ptr<Map> make_array_of_maps(const MapSpec& spec);
std::shared_ptr<Map> make_hash_of_maps(const MapSpec& spec);
std::shared_ptr<Map> make_rbtree_of_maps(const MapSpec& spec);
std::shared_ptr<Map> make_rbtree_map(const MapSpec& spec);
std::shared_ptr<Map> make_pifo_map(const MapSpec& spec);

// Takes a destroyed map's estimate out of map_memory_in_use() (create_map.cpp).
void release_map_memory(uint64_t bytes) noexcept;

inline constexpr size_t round_up8(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace bpfq::maps::detail
