#pragma once
// Keyed nodes in key order: an RbTree over a NodePool, each node laid out as
//   [RbNode][key, padded to 8][value]
// Order is one of key_order.hpp's memcmp-equivalent orders; RBTREE and RBTREE_OF_MAPS build on it.
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <bpfq/maps/map.hpp>

#include "key_order.hpp"
#include "map_factories.hpp"
#include "node_pool.hpp"
#include "rb_tree.hpp"

namespace bpfq::maps::detail {

template <class Order>
class OrderedStore {
 public:
  OrderedStore(Order order, uint32_t key_size, uint32_t value_bytes, uint32_t max_entries)
      : order_(order),
        key_size_(key_size),
        value_offset_(sizeof(RbNode) + round_up8(key_size)),
        pool_(cache_friendly(value_offset_ + value_bytes), max_entries) {}

  RbTree::Position locate(const void* key) const {
    const auto probe = order_.probe(key);
    return tree_.locate([&](const RbNode* node) { return order_.compare(probe, key_of(node)); });
  }
  RbNode* find(const void* key) const { return locate(key).found; }

  // Links a new node for key at a position locate() reported as free; value uninitialised.
  // nullptr when out of memory.
  RbNode* insert_at(const RbTree::Position& position, const void* key) noexcept {
    auto* node = static_cast<RbNode*>(pool_.allocate());
    if (node == nullptr) return nullptr;
    if constexpr (requires { Order::kKeySize; }) {
      std::memcpy(key_of(node), key, Order::kKeySize);  // a fixed size: inlined
    } else {
      std::memcpy(key_of(node), key, key_size_);
    }
    tree_.insert_at(node, position.parent, position.side);
    return node;
  }

  // Unlinks a node and frees it; the caller has dealt with its value.
  void remove(RbNode* node) noexcept {
    tree_.erase(node);
    pool_.release(node);
  }

  RbNode* first() const { return tree_.first(); }
  static RbNode* next(const RbNode* node) { return RbTree::next(node); }

  // get_next_key in key order: the first key for key == nullptr; -ENOENT for an absent key and
  // after the last one.
  int next_key(const void* key, void* next_key) const {
    RbNode* next;
    if (key == nullptr) {
      next = first();
    } else {
      RbNode* current = find(key);
      if (current == nullptr) return -ENOENT;
      next = RbTree::next(current);
    }
    if (next == nullptr) return -ENOENT;
    std::memcpy(next_key, key_of(next), key_size_);
    return 0;
  }

  // for_each in key order: visit(node) returns non-zero to stop and may remove the node it
  // visits. Returns the number of nodes visited, the stopping one included.
  template <class Visit>
  long for_each_node(Visit visit) const {
    long visited = 0;
    for (RbNode* node = first(); node != nullptr;) {
      RbNode* following = RbTree::next(node);
      ++visited;
      if (visit(node) != 0) break;
      node = following;
    }
    return visited;
  }

  void* key_of(const RbNode* node) const {
    return const_cast<char*>(reinterpret_cast<const char*>(node)) + sizeof(RbNode);
  }
  void* value_of(const RbNode* node) const {
    return const_cast<char*>(reinterpret_cast<const char*>(node)) + value_offset_;
  }
  uint32_t key_size() const { return key_size_; }

  // Forgets every node (the caller has dealt with the values).
  void reset() noexcept {
    tree_.reset();
    pool_.reset();
  }

  const RbTree& tree() const { return tree_; }

 private:
  // Nodes of up to 64 bytes take a power-of-two size, so with the pool's 64-byte alignment no
  // node straddles two cache lines (a descent touches one line per level).
  static size_t cache_friendly(size_t node_size) {
    return node_size <= 64 ? std::bit_ceil(node_size) : node_size;
  }

  Order order_;
  uint32_t key_size_;
  size_t value_offset_;
  RbTree tree_;
  NodePool pool_;
};

// Instantiates MapClass<Order> with the fastest order for the spec's key size.
template <template <class> class MapClass>
std::shared_ptr<Map> make_ordered_map(const MapSpec& spec) {
  switch (spec.key_size) {
    case 4: return std::make_shared<MapClass<BigEndian32Order>>(spec, BigEndian32Order{});
    case 8: return std::make_shared<MapClass<BigEndian64Order>>(spec, BigEndian64Order{});
    case 16: return std::make_shared<MapClass<BigEndian128Order>>(spec, BigEndian128Order{});
    default: return std::make_shared<MapClass<BytewiseOrder>>(spec, BytewiseOrder{spec.key_size});
  }
}

}  // namespace bpfq::maps::detail
