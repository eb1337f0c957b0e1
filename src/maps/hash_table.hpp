#pragma once
// A chained hash table of byte keys over a NodePool: buckets never rehash and nodes never move,
// so a value's address is stable for the element's life. Each node is
//   [HashNode header][key, padded to 8][value]
// The table can keep its nodes on a recency list (most recent first) for LRU eviction.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "node_pool.hpp"

namespace bpfq::maps::detail {

struct HashNode {
  HashNode* chain_next;
  HashNode* recent_prev;  // recency list, when tracked
  HashNode* recent_next;
  uint64_t hash;
};

uint64_t hash_bytes(const void* data, size_t size);

class HashTable {
 public:
  static constexpr uint64_t kMaxBuckets = uint64_t{1} << 22;

  HashTable(uint32_t key_size, uint32_t value_bytes, uint32_t max_entries, bool track_recency);

  uint64_t hash(const void* key) const { return hash_bytes(key, key_size_); }
  HashNode* find(const void* key, uint64_t hash) const {
    for (HashNode* node = buckets_[hash & bucket_mask_]; node != nullptr; node = node->chain_next) {
      if (node->hash == hash && std::memcmp(key_of(node), key, key_size_) == 0) return node;
    }
    return nullptr;
  }
  HashNode* find(const void* key) const { return find(key, hash(key)); }

  // A new node holding key, most recent; its value is uninitialised. nullptr when out of memory.
  HashNode* insert(const void* key, uint64_t hash) noexcept;
  // Unlinks a node and returns it to the pool; the caller has dealt with its value.
  void remove(HashNode* node) noexcept;

  void* key_of(const HashNode* node) const {
    return const_cast<char*>(reinterpret_cast<const char*>(node)) + sizeof(HashNode);
  }
  void* value_of(const HashNode* node) const {
    return const_cast<char*>(reinterpret_cast<const char*>(node)) + value_offset_;
  }

  // Iteration in bucket order.
  HashNode* first() const { return first_from_bucket(0); }
  HashNode* next(const HashNode* node) const {
    return node->chain_next != nullptr ? node->chain_next
                                       : first_from_bucket((node->hash & bucket_mask_) + 1);
  }

  // get_next_key in bucket order: an absent key restarts from the first element, as in the
  // kernel; -ENOENT after the last one.
  int next_key(const void* key, void* next_key) const {
    HashNode* current = key != nullptr ? find(key) : nullptr;
    HashNode* next = current != nullptr ? this->next(current) : first();
    if (next == nullptr) return -ENOENT;
    std::memcpy(next_key, key_of(next), key_size_);
    return 0;
  }

  // for_each in bucket order: visit(node) returns non-zero to stop and may remove the node it
  // visits. Returns the number of nodes visited, the stopping one included.
  template <class Visit>
  long for_each_node(Visit visit) const {
    long visited = 0;
    for (HashNode* node = first(); node != nullptr;) {
      HashNode* following = next(node);
      ++visited;
      if (visit(node) != 0) break;
      node = following;
    }
    return visited;
  }

  // Recency list (track_recency only).
  void touch(HashNode* node) noexcept {
    if (node == most_recent_) return;
    unlink_recent(node);
    link_most_recent(node);
  }
  HashNode* least_recent() const { return least_recent_; }
  HashNode* most_recent() const { return most_recent_; }

  // Forgets every node (the caller has dealt with the values).
  void reset() noexcept;

 private:
  HashNode* first_from_bucket(uint64_t bucket) const;
  void unlink_recent(HashNode* node) noexcept;
  void link_most_recent(HashNode* node) noexcept;

  uint32_t key_size_;
  size_t value_offset_;
  bool track_recency_;
  uint64_t bucket_mask_;
  std::vector<HashNode*> buckets_;
  NodePool pool_;
  HashNode* most_recent_ = nullptr;
  HashNode* least_recent_ = nullptr;
};

}  // namespace bpfq::maps::detail
