// HASH and LRU_HASH: byte keys in a preallocated chained table (no malloc per operation, stable
// value addresses). LRU_HASH keeps exact recency (lookup and update count as uses) and, when full,
// evicts the least recently used element to make room for a new key.
#include <cerrno>
#include <cstring>
#include <memory>

#include "hash_table.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

class HashMap final : public Map {
 public:
  explicit HashMap(const MapSpec& spec)
      : Map(spec),
        evicts_least_recent_(spec.type == static_cast<uint32_t>(MapType::LruHash)),
        max_entries_(spec.max_entries),
        key_size_(spec.key_size),
        table_(spec.key_size, spec.value_size, spec.max_entries, evicts_least_recent_) {}

  ~HashMap() override { release_all_kptrs(); }

  void* lookup(const void* key) override {
    HashNode* node = table_.find(key);
    if (node == nullptr) return nullptr;
    if (evicts_least_recent_) table_.touch(node);
    return table_.value_of(node);
  }

  int lookup_copy(const void* key, void* value_out) override {  // user space: not a use
    HashNode* node = table_.find(key);
    if (node == nullptr) return -ENOENT;
    copy_without_kptrs(value_out, table_.value_of(node));
    return 0;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    if (flags > kBpfExist) return -EINVAL;
    const uint64_t hash = table_.hash(key);
    HashNode* node = table_.find(key, hash);
    if (node != nullptr) {
      if (flags == kBpfNoExist) return -EEXIST;
      void* slot = table_.value_of(node);
      release_kptrs(slot);
      copy_without_kptrs(slot, value);
      if (evicts_least_recent_) table_.touch(node);
      return 0;
    }
    if (flags == kBpfExist) return -ENOENT;
    if (size_ >= max_entries_) {
      if (!evicts_least_recent_) return -E2BIG;
      remove(table_.least_recent());
    }
    node = table_.insert(key, hash);
    if (node == nullptr) return -ENOMEM;
    copy_without_kptrs(table_.value_of(node), value);
    ++size_;
    return 0;
  }

  int erase(const void* key) override {
    HashNode* node = table_.find(key);
    if (node == nullptr) return -ENOENT;
    remove(node);
    return 0;
  }

  // Bucket order; an absent key restarts from the first element, as in the kernel.
  int get_next_key(const void* key, void* next_key) override { return table_.next_key(key, next_key); }

  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    return table_.for_each_node([&](HashNode* node) { return visit(table_.key_of(node), table_.value_of(node)); });
  }

  void clear() override {
    release_all_kptrs();
    table_.reset();
    size_ = 0;
  }

 private:
  void remove(HashNode* node) {
    release_kptrs(table_.value_of(node));
    table_.remove(node);
    --size_;
  }

  void release_all_kptrs() {
    if (!has_kptrs()) return;
    for (HashNode* node = table_.first(); node != nullptr; node = table_.next(node)) {
      release_kptrs(table_.value_of(node));
    }
  }

  bool evicts_least_recent_;
  uint32_t max_entries_;
  uint32_t key_size_;
  HashTable table_;
};

}  // namespace

std::shared_ptr<Map> make_hash_map(const MapSpec& spec) { return std::make_shared<HashMap>(spec); }

}  // namespace bpfq::maps::detail
