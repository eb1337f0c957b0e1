// RBTREE_OF_MAPS (the seed's BPF_MAP_TYPE_RBTREE_OF_MAPS, bpfq type 1001): unique keys in memcmp
// order whose values are inner maps; pop() removes the minimum key and hands over its inner map
// (a flow's queue, say), which stays alive until release_retired() if the map held its last
// reference. As for RBTREE, max_entries is enforced (-E2BIG) and get_next_key walks in order.
#include <bpfq/maps/map_of_maps.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "map_factories.hpp"
#include "ordered_store.hpp"

namespace bpfq::maps::detail {
namespace {

using InnerSlot = std::shared_ptr<Map>;

template <class Order>
class RbtreeOfMaps final : public MapOfMaps {
 public:
  RbtreeOfMaps(const MapSpec& spec, Order order)
      : MapOfMaps(spec),
        max_entries_(spec.max_entries),
        store_(order, spec.key_size, sizeof(InnerSlot), spec.max_entries) {}

  ~RbtreeOfMaps() override { destroy_all_slots(); }

  void* lookup(const void* key) override {
    RbNode* node = store_.find(key);
    return node != nullptr ? slot_of(node).get() : nullptr;
  }

  int erase(const void* key) override {
    RbNode* node = store_.find(key);
    if (node == nullptr) return -ENOENT;
    remove(node);
    return 0;
  }

  // In key order; an absent key and the last key are -ENOENT.
  int get_next_key(const void* key, void* next_key) override { return store_.next_key(key, next_key); }

  // Writes the minimum key's inner Map* (8 bytes) and removes it.
  int pop(void* value) override {
    RbNode* minimum = store_.first();
    if (minimum == nullptr) return -ENOENT;
    if (value != nullptr) write_map_pointer(value, slot_of(minimum).get());
    remove(minimum);
    return 0;
  }

  int peek(void* value) override {
    RbNode* minimum = store_.first();
    if (minimum == nullptr) return -ENOENT;
    write_map_pointer(value, slot_of(minimum).get());
    return 0;
  }

  // Key order; the value is the inner Map*, as lookup() returns it.
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    return store_.for_each_node([&](RbNode* node) { return visit(store_.key_of(node), slot_of(node).get()); });
  }

  void clear() override {
    destroy_all_slots();
    store_.reset();
    release_retired();
    size_ = 0;
  }

 protected:
  int store(const void* key, std::shared_ptr<Map>&& inner, uint64_t flags) override {
    const RbTree::Position position = store_.locate(key);
    if (position.found != nullptr) {
      if (flags == kBpfNoExist) return -EEXIST;
      retire(std::exchange(slot_of(position.found), std::move(inner)));
      return 0;
    }
    if (flags == kBpfExist) return -ENOENT;
    if (size_ >= max_entries_) return -E2BIG;
    RbNode* node = store_.insert_at(position, key);
    if (node == nullptr) return -ENOMEM;
    new (store_.value_of(node)) InnerSlot(std::move(inner));
    ++size_;
    return 0;
  }

 private:
  InnerSlot& slot_of(const RbNode* node) const {
    return *std::launder(static_cast<InnerSlot*>(store_.value_of(node)));
  }

  void remove(RbNode* node) {
    InnerSlot& slot = slot_of(node);
    retire(std::move(slot));
    slot.~InnerSlot();
    store_.remove(node);
    --size_;
  }

  void destroy_all_slots() {
    for (RbNode* node = store_.first(); node != nullptr; node = store_.next(node)) slot_of(node).~InnerSlot();
  }

  uint32_t max_entries_;
  OrderedStore<Order> store_;
};

}  // namespace

std::shared_ptr<Map> make_rbtree_of_maps(const MapSpec& spec) { return make_ordered_map<RbtreeOfMaps>(spec); }

}  // namespace bpfq::maps::detail
