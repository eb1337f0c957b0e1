#include "node_pool.hpp"

#include <algorithm>
#include <new>

namespace bpfq::maps::detail {

namespace {

std::byte* allocate_chunk(size_t bytes) noexcept {
  return static_cast<std::byte*>(
      ::operator new(bytes, std::align_val_t{NodePool::kAlignment}, std::nothrow));
}

}  // namespace

NodePool::NodePool(size_t node_size, uint64_t capacity)
    : node_size_((std::max<size_t>(node_size, sizeof(FreeNode)) + 7) & ~size_t{7}),
      capacity_(capacity),
      nodes_per_chunk_(std::max<size_t>(1, kChunkBytes / node_size_)) {
  chunks_.reserve((capacity_ + nodes_per_chunk_ - 1) / nodes_per_chunk_);
  const size_t first = static_cast<size_t>(std::min<uint64_t>(capacity_, nodes_per_chunk_));
  std::byte* memory = allocate_chunk(first * node_size_);
  if (memory == nullptr) throw std::bad_alloc();
  chunks_.push_back({memory, memory + first * node_size_});
  bump_ = chunks_[0].begin;
  bump_end_ = chunks_[0].end;
}

NodePool::~NodePool() {
  for (const Chunk& chunk : chunks_) {
    ::operator delete(chunk.begin, std::align_val_t{kAlignment});
  }
}

void NodePool::reset() noexcept {
  free_list_ = nullptr;
  current_chunk_ = 0;
  bump_ = chunks_[0].begin;
  bump_end_ = chunks_[0].end;
}

void* NodePool::allocate_from_next_chunk() noexcept {
  if (current_chunk_ + 1 < chunks_.size()) {  // a chunk kept by reset()
    ++current_chunk_;
  } else {
    const uint64_t carved = static_cast<uint64_t>(chunks_.size()) * nodes_per_chunk_;
    if (carved >= capacity_) return nullptr;
    const size_t nodes = static_cast<size_t>(std::min<uint64_t>(capacity_ - carved, nodes_per_chunk_));
    std::byte* memory = allocate_chunk(nodes * node_size_);
    if (memory == nullptr) return nullptr;
    chunks_.push_back({memory, memory + nodes * node_size_});  // within the reserved capacity
    current_chunk_ = chunks_.size() - 1;
  }
  bump_ = chunks_[current_chunk_].begin;
  bump_end_ = chunks_[current_chunk_].end;
  void* node = bump_;
  bump_ += node_size_;
  return node;
}

}  // namespace bpfq::maps::detail
