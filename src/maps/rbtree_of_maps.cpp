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
    Element* element = store_.find(key);
    return element != nullptr ? slot_of(element).get() : nullptr;
  }

  int erase(const void* key) override {
    auto position = store_.locate(key);
    if (position.found == nullptr) return -ENOENT;
    remove(position);
    return 0;
  }

  // In key order; an absent key and the last key are -ENOENT.
  int get_next_key(const void* key, void* next_key) override { return store_.next_key(key, next_key); }

  // Writes the minimum key's inner Map* (8 bytes) and removes it.
  int pop(void* value) override {
    auto minimum = store_.first_position();
    if (minimum.found == nullptr) return -ENOENT;
    if (value != nullptr) write_map_pointer(value, slot_of(minimum.found).get());
    remove(minimum);
    return 0;
  }

  int peek(void* value) override {
    Element* minimum = store_.first();
    if (minimum == nullptr) return -ENOENT;
    write_map_pointer(value, slot_of(minimum).get());
    return 0;
  }

  // Key order; the value is the inner Map*, as lookup() returns it.
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    return store_.for_each_element([&](Element* element) { return visit(store_.key_of(element), slot_of(element).get()); });
  }

  void clear() override {
    destroy_all_slots();
    store_.reset();
    release_retired();
    size_ = 0;
  }

 protected:
  int store(const void* key, std::shared_ptr<Map>&& inner, uint64_t flags) override {
    auto position = store_.locate(key);
    if (position.found != nullptr) {
      if (flags == kBpfNoExist) return -EEXIST;
      retire(std::exchange(slot_of(position.found), std::move(inner)));
      return 0;
    }
    if (flags == kBpfExist) return -ENOENT;
    if (size_ >= max_entries_) return -E2BIG;
    Element* element = store_.insert_at(position, key);
    if (element == nullptr) return -ENOMEM;
    new (store_.value_of(element)) InnerSlot(std::move(inner));
    ++size_;
    return 0;
  }

 private:
  InnerSlot& slot_of(const Element* element) const {
    return *std::launder(static_cast<InnerSlot*>(store_.value_of(element)));
  }

  void remove(typename OrderedStore<Order>::Position& position) {
    InnerSlot& slot = slot_of(position.found);
    retire(std::move(slot));
    slot.~InnerSlot();
    store_.remove_at(position);
    --size_;
  }

  void destroy_all_slots() {
    store_.each([&](Element* element) { slot_of(element).~InnerSlot(); });
  }

  uint32_t max_entries_;
  OrderedStore<Order> store_;
};

}  // namespace

std::shared_ptr<Map> make_rbtree_of_maps(const MapSpec& spec) { return make_ordered_map<RbtreeOfMaps>(spec); }

}  // namespace bpfq::maps::detail
