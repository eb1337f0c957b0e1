// RBTREE (the seed's BPF_MAP_TYPE_RBTREE): unique keys in memcmp order, values in the ordered
// store's elements (a B+ tree, despite the name). Departures from the seed: max_entries is
// enforced (-E2BIG), get_next_key at the last key returns -ENOENT, and an overwriting update
// releases the old value's kptrs.
#include <bpfq/maps/rbtree_map.hpp>

#include <cerrno>
#include <cstring>
#include <memory>

#include "map_factories.hpp"
#include "ordered_store.hpp"

namespace bpfq::maps::detail {
namespace {

template <class Order>
class RbtreeMapImpl final : public RbtreeMap {
 public:
  RbtreeMapImpl(const MapSpec& spec, Order order)
      : RbtreeMap(spec),
        max_entries_(spec.max_entries),
        store_(order, spec.key_size, spec.value_size, spec.max_entries) {}

  ~RbtreeMapImpl() override { release_all_kptrs(); }

  void* lookup(const void* key) override {
    Element* element = store_.find(key);
    return element != nullptr ? store_.value_of(element) : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    if (flags > kBpfExist) return -EINVAL;
    auto position = store_.locate(key);
    if (position.found != nullptr) {
      if (flags == kBpfNoExist) return -EEXIST;
      void* slot = store_.value_of(position.found);
      release_kptrs(slot);
      copy_without_kptrs(slot, value);
      return 0;
    }
    if (flags == kBpfExist) return -ENOENT;
    if (size_ >= max_entries_) return -E2BIG;
    Element* element = store_.insert_at(position, key);
    if (element == nullptr) return -ENOMEM;
    copy_without_kptrs(store_.value_of(element), value);
    ++size_;
    return 0;
  }

  int erase(const void* key) override {
    auto position = store_.locate(key);
    if (position.found == nullptr) return -ENOENT;
    remove(position);
    return 0;
  }

  // In key order. An absent key is -ENOENT (as in the seed); so is the last key (the seed
  // returned 0 there without writing next_key).
  int get_next_key(const void* key, void* next_key) override { return store_.next_key(key, next_key); }

  int pop(void* value) override { return pop_with_key(nullptr, value); }

  int pop_with_key(void* key_out, void* value_out) override {
    auto minimum = store_.first_position();
    if (minimum.found == nullptr) return -ENOENT;
    if (key_out != nullptr) store_.copy_key_out(key_out, minimum.found);
    if (value_out != nullptr) copy_without_kptrs(value_out, store_.value_of(minimum.found));
    remove(minimum);
    return 0;
  }

  int peek(void* value) override {
    Element* minimum = store_.first();
    if (minimum == nullptr) return -ENOENT;
    copy_without_kptrs(value, store_.value_of(minimum));
    return 0;
  }

  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    return store_.for_each_element(
        [&](Element* element) { return visit(store_.key_of(element), store_.value_of(element)); });
  }

  void clear() override {
    release_all_kptrs();
    store_.reset();
    size_ = 0;
  }

 private:
  void remove(typename OrderedStore<Order>::Position& position) {
    release_kptrs(store_.value_of(position.found));
    store_.remove_at(position);
    --size_;
  }

  void release_all_kptrs() {
    if (!has_kptrs()) return;
    store_.each([&](Element* element) { release_kptrs(store_.value_of(element)); });
  }

  uint32_t max_entries_;
  OrderedStore<Order> store_;
};

}  // namespace

std::shared_ptr<Map> make_rbtree_map(const MapSpec& spec) { return make_ordered_map<RbtreeMapImpl>(spec); }

}  // namespace bpfq::maps::detail
