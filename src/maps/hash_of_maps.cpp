// HASH_OF_MAPS: byte keys in a preallocated chained table whose values are inner maps.
#include <bpfq/maps/map_of_maps.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "hash_table.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

using InnerSlot = std::shared_ptr<Map>;

class HashOfMaps final : public MapOfMaps {
 public:
  explicit HashOfMaps(const MapSpec& spec)
      : MapOfMaps(spec),
        max_entries_(spec.max_entries),
        table_(spec.key_size, sizeof(InnerSlot), spec.max_entries, false) {}

  ~HashOfMaps() override { destroy_all_slots(); }

  void* lookup(const void* key) override {
    HashNode* node = table_.find(key);
    return node != nullptr ? slot_of(node).get() : nullptr;
  }

  int erase(const void* key) override {
    HashNode* node = table_.find(key);
    if (node == nullptr) return -ENOENT;
    InnerSlot& slot = slot_of(node);
    retire(std::move(slot));
    slot.~InnerSlot();
    table_.remove(node);
    --size_;
    return 0;
  }

  // Bucket order; an absent key restarts from the first element, as in the kernel.
  int get_next_key(const void* key, void* next_key) override { return table_.next_key(key, next_key); }

  // The value is the inner Map*, as lookup() returns it.
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    return table_.for_each_node([&](HashNode* node) { return visit(table_.key_of(node), slot_of(node).get()); });
  }

  void clear() override {
    destroy_all_slots();
    table_.reset();
    release_retired();
    size_ = 0;
  }

 protected:
  int store(const void* key, std::shared_ptr<Map>&& inner, uint64_t flags) override {
    const uint64_t hash = table_.hash(key);
    HashNode* node = table_.find(key, hash);
    if (node != nullptr) {
      if (flags == kBpfNoExist) return -EEXIST;
      retire(std::exchange(slot_of(node), std::move(inner)));
      return 0;
    }
    if (flags == kBpfExist) return -ENOENT;
    if (size_ >= max_entries_) return -E2BIG;
    node = table_.insert(key, hash);
    if (node == nullptr) return -ENOMEM;
    new (table_.value_of(node)) InnerSlot(std::move(inner));
    ++size_;
    return 0;
  }

 private:
  InnerSlot& slot_of(const HashNode* node) const {
    return *std::launder(static_cast<InnerSlot*>(table_.value_of(node)));
  }

  void destroy_all_slots() {
    for (HashNode* node = table_.first(); node != nullptr; node = table_.next(node)) slot_of(node).~InnerSlot();
  }

  uint32_t max_entries_;
  HashTable table_;
};

}  // namespace

std::shared_ptr<Map> make_hash_of_maps(const MapSpec& spec) { return std::make_shared<HashOfMaps>(spec); }

}  // namespace bpfq::maps::detail
