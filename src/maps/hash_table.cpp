#include "hash_table.hpp"

#include <algorithm>
#include <bit>

namespace bpfq::maps::detail {

namespace {

constexpr size_t round_up8(size_t n) { return (n + 7) & ~size_t{7}; }

uint64_t mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e98a8a6e5fd893ull;
  h ^= h >> 29;
  return h;
}

}  // namespace

// Word-at-a-time multiply-xorshift; keys are short (4–64 bytes typically).
uint64_t hash_bytes(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9e3779b97f4a7c15ull ^ size;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, bytes, 8);
    h = (h ^ word) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    bytes += 8;
    size -= 8;
  }
  if (size != 0) {
    uint64_t word = 0;
    std::memcpy(&word, bytes, size);
    h = (h ^ word) * 0x94d049bb133111ebull;
  }
  return mix(h);
}

HashTable::HashTable(uint32_t key_size, uint32_t value_bytes, uint32_t max_entries, bool track_recency)
    : key_size_(key_size),
      value_offset_(sizeof(HashNode) + round_up8(key_size)),
      track_recency_(track_recency),
      bucket_mask_(std::min<uint64_t>(std::bit_ceil(uint64_t{max_entries}), kMaxBuckets) - 1),
      buckets_(bucket_mask_ + 1, nullptr),
      pool_(value_offset_ + value_bytes, max_entries) {}

HashNode* HashTable::insert(const void* key, uint64_t hash) noexcept {
  auto* node = static_cast<HashNode*>(pool_.allocate());
  if (node == nullptr) return nullptr;
  node->hash = hash;
  std::memcpy(key_of(node), key, key_size_);
  HashNode*& head = buckets_[hash & bucket_mask_];
  node->chain_next = head;
  head = node;
  if (track_recency_) link_most_recent(node);
  return node;
}

void HashTable::remove(HashNode* node) noexcept {
  HashNode** link = &buckets_[node->hash & bucket_mask_];
  while (*link != node) link = &(*link)->chain_next;
  *link = node->chain_next;
  if (track_recency_) unlink_recent(node);
  pool_.release(node);
}

HashNode* HashTable::first_from_bucket(uint64_t bucket) const {
  for (; bucket <= bucket_mask_; ++bucket) {
    if (buckets_[bucket] != nullptr) return buckets_[bucket];
  }
  return nullptr;
}

void HashTable::unlink_recent(HashNode* node) noexcept {
  (node->recent_prev != nullptr ? node->recent_prev->recent_next : most_recent_) = node->recent_next;
  (node->recent_next != nullptr ? node->recent_next->recent_prev : least_recent_) = node->recent_prev;
}

void HashTable::link_most_recent(HashNode* node) noexcept {
  node->recent_prev = nullptr;
  node->recent_next = most_recent_;
  (most_recent_ != nullptr ? most_recent_->recent_prev : least_recent_) = node;
  most_recent_ = node;
}

void HashTable::reset() noexcept {
  std::fill(buckets_.begin(), buckets_.end(), nullptr);
  pool_.reset();
  most_recent_ = least_recent_ = nullptr;
}

}  // namespace bpfq::maps::detail
