#pragma once
// Fixed-size node storage for the linked map types (hash, rbtree, their map-of-maps forms).
// Nodes are carved from large chunks and recycled through a free list, so insert and delete never
// call malloc and a node never moves (map values keep stable addresses). The first chunk is
// allocated with the map; a map whose max_entries would need more than kChunkBytes gets further
// chunks as it fills, one chunk per kChunkBytes of nodes, never one allocation per element.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfq::maps::detail {

class NodePool {
 public:
  static constexpr size_t kChunkBytes = size_t{16} << 20;
  static constexpr size_t kAlignment = 64;  // a cache line

  // node_size is rounded up to a multiple of 8; capacity bounds the number of live nodes.
  NodePool(size_t node_size, uint64_t capacity);
  ~NodePool();
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  // An uninitialised node, or nullptr once capacity nodes are live (or memory is exhausted).
  void* allocate() noexcept {
    if (free_list_ != nullptr) {
      FreeNode* node = free_list_;
      free_list_ = node->next;
      return node;
    }
    if (bump_ != bump_end_) {
      void* node = bump_;
      bump_ += node_size_;
      return node;
    }
    return allocate_from_next_chunk();
  }

  void release(void* node) noexcept {
    auto* free_node = static_cast<FreeNode*>(node);
    free_node->next = free_list_;
    free_list_ = free_node;
  }

  // Forgets every node (the owner has already destroyed their contents); keeps the chunks.
  void reset() noexcept;

  size_t node_size() const { return node_size_; }

 private:
  struct FreeNode {
    FreeNode* next;
  };
  struct Chunk {
    std::byte* begin;
    std::byte* end;
  };

  void* allocate_from_next_chunk() noexcept;

  size_t node_size_;
  uint64_t capacity_;
  size_t nodes_per_chunk_;
  FreeNode* free_list_ = nullptr;
  std::byte* bump_ = nullptr;
  std::byte* bump_end_ = nullptr;
  size_t current_chunk_ = 0;
  std::vector<Chunk> chunks_;  // capacity reserved up front: growing never reallocates it
};

}  // namespace bpfq::maps::detail
