// PIFO (the XDP queueing RFC's PIFO_GENERIC map, bpfq type 1002): a bucketed integer priority
// queue in the style of Eiffel's cFFS. Each rank in the two windows has a bucket (a FIFO of
// nodes); a hierarchical bitmap per window finds the lowest non-empty bucket in log64(range)
// find-first-set steps, so push and pop cost O(1) in the number of queued elements. Nodes come
// from a pool of max_entries preallocated slots: no allocation per operation.
#include <bpfq/maps/pifo_map.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include <bpfq/bpf/map_types.h>

#include "hierarchical_bitmap.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

constexpr uint32_t kNoNode = ~uint32_t{0};

// A bucket is a circular singly linked list reached through its tail (tail->next is the head),
// so one index is enough; count is what lookup() exposes (the RFC's u32 elem_count).
struct Bucket {
  uint32_t tail = kNoNode;
  uint32_t count = 0;
};

// One window of `range` consecutive ranks.
struct Window {
  explicit Window(uint32_t range) : buckets(new Bucket[range]), occupied(range) {}
  std::unique_ptr<Bucket[]> buckets;
  HierarchicalBitmap occupied;  // bit i: buckets[i] is non-empty
};

class PifoMapImpl final : public PifoMap {
 public:
  explicit PifoMapImpl(const MapSpec& spec)
      : PifoMap(spec),
        range_(static_cast<uint32_t>(spec.extra)),
        capacity_(spec.max_entries),
        value_size_(spec.value_size),
        stride_(8 + round_up8(spec.value_size)),
        nodes_(static_cast<std::byte*>(::operator new(size_t{capacity_} * stride_, std::align_val_t{64}))),
        windows_{Window(range_), Window(range_)} {}

  // key: a rank's low 32 bits (ranks in the windows span less than 2^32, so they are unique).
  // The element count of that rank's bucket, or nullptr when it holds nothing.
  void* lookup(const void* key) override {
    uint64_t offset;
    if (!offset_of_key(key, &offset)) return nullptr;
    Bucket& bucket = bucket_at(offset);
    return bucket.count != 0 ? &bucket.count : nullptr;
  }

  int update(const void*, const void*, uint64_t) override { return -EINVAL; }
  int erase(const void*) override { return -EINVAL; }

  // Walks the non-empty ranks in increasing order; a key outside the windows restarts.
  int get_next_key(const void* key, void* next_key) override {
    uint64_t from = 0;
    uint64_t offset;
    if (key != nullptr && offset_of_key(key, &offset)) from = offset + 1;
    const uint64_t next = next_occupied(from);
    if (next == HierarchicalBitmap::kNone) return -ENOENT;
    const auto low_bits = static_cast<uint32_t>(min_rank_ + next);
    std::memcpy(next_key, &low_bits, sizeof low_bits);
    return 0;
  }

  int push(const void* value, uint64_t flags) override {
    if ((flags & ~uint64_t{BPF_PIFO_PRIO_MASK}) != 0) return -EINVAL;
    const uint64_t rank = flags;
    if (size_ >= capacity_) return -EOVERFLOW;
    if (rank < min_rank_) return -ERANGE;
    uint64_t offset = rank - min_rank_;
    if (offset >= 2 * uint64_t{range_}) offset = 2 * uint64_t{range_} - 1;  // clamp into the last bucket

    const uint32_t node = allocate_node();
    copy_value(value_of(node), value);
    Window& window = offset < range_ ? *primary_ : *secondary_;
    const auto index = static_cast<uint32_t>(offset & (range_ - 1));
    Bucket& bucket = window.buckets[index];
    if (bucket.tail == kNoNode) {
      next_of(node) = node;
      window.occupied.set(index);
    } else {
      next_of(node) = next_of(bucket.tail);
      next_of(bucket.tail) = node;
    }
    bucket.tail = node;
    ++bucket.count;
    ++size_;
    return 0;
  }

  int pop(void* value) override { return pop_with_rank(value, nullptr); }

  int pop_with_rank(void* value_out, uint64_t* rank_out) override {
    if (size_ == 0) return -ENOENT;
    if (primary_->occupied.empty()) rotate();  // everything is in the secondary
    Window& window = *primary_;
    const auto index = static_cast<uint32_t>(window.occupied.first());
    Bucket& bucket = window.buckets[index];
    const uint32_t head = next_of(bucket.tail);
    if (head == bucket.tail) {
      bucket.tail = kNoNode;
      window.occupied.clear(index);
    } else {
      next_of(bucket.tail) = next_of(head);
    }
    --bucket.count;
    --size_;
    if (value_out != nullptr) copy_value(value_out, value_of(head));
    if (rank_out != nullptr) *rank_out = min_rank_ + index;
    free_node(head);
    return 0;
  }

  // An RFC departure: the RFC's PIFO has no peek; bpfq's returns what pop() would.
  int peek(void* value) override {
    if (size_ == 0) return -ENOENT;
    const uint64_t offset = next_occupied(0);
    const Bucket& bucket = bucket_at(offset);
    copy_value(value, value_of(next_of(bucket.tail)));
    return 0;
  }

  int lookup_copy(const void* key, void* value_out) override {
    const void* count = lookup(key);
    if (count == nullptr) return -ENOENT;
    std::memcpy(value_out, count, sizeof(uint32_t));
    return 0;
  }

  // Pop order; key points to the rank's low 32 bits. visit may not remove anything (PIFO has
  // no delete).
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    long visited = 0;
    for (uint64_t offset = next_occupied(0); offset != HierarchicalBitmap::kNone;
         offset = next_occupied(offset + 1)) {
      const auto key = static_cast<uint32_t>(min_rank_ + offset);
      const Bucket& bucket = bucket_at(offset);
      uint32_t node = next_of(bucket.tail);
      for (uint32_t i = 0; i < bucket.count; ++i, node = next_of(node)) {
        ++visited;
        if (visit(&key, value_of(node)) != 0) return visited;
      }
    }
    return visited;
  }

  void clear() override {
    for (Window& window : windows_) {
      window.occupied.reset();
      std::fill(window.buckets.get(), window.buckets.get() + range_, Bucket{});
    }
    primary_ = &windows_[0];
    secondary_ = &windows_[1];
    min_rank_ = 0;
    free_list_ = kNoNode;
    never_used_ = 0;
    size_ = 0;
  }

  uint64_t min_rank() const override { return min_rank_; }

 private:
  // The primary window has drained: the secondary becomes the primary and the empty old
  // primary becomes the new secondary, one range higher.
  void rotate() {
    std::swap(primary_, secondary_);
    min_rank_ += range_;
  }

  // Offset of a rank from min_rank_ for a u32 key, if the rank lies in the two windows.
  bool offset_of_key(const void* key, uint64_t* offset) const {
    uint32_t low_bits;
    std::memcpy(&low_bits, key, sizeof low_bits);
    const uint32_t distance = low_bits - static_cast<uint32_t>(min_rank_);
    if (distance >= 2 * uint64_t{range_}) return false;
    *offset = distance;
    return true;
  }

  Bucket& bucket_at(uint64_t offset) {
    return (offset < range_ ? primary_ : secondary_)->buckets[offset & (range_ - 1)];
  }
  const Bucket& bucket_at(uint64_t offset) const { return const_cast<PifoMapImpl*>(this)->bucket_at(offset); }

  // Lowest non-empty bucket at or after `from` (an offset from min_rank_), or kNone.
  uint64_t next_occupied(uint64_t from) const {
    if (from < range_) {
      const uint64_t in_primary = primary_->occupied.next_set(from);
      if (in_primary != HierarchicalBitmap::kNone) return in_primary;
      from = range_;
    }
    const uint64_t in_secondary = secondary_->occupied.next_set(from - range_);
    return in_secondary == HierarchicalBitmap::kNone ? in_secondary : range_ + in_secondary;
  }

  void copy_value(void* dst, const void* src) const {
    if (value_size_ == 8) {  // the common case (a u64 or a pointer): no call
      uint64_t word;
      std::memcpy(&word, src, sizeof word);
      std::memcpy(dst, &word, sizeof word);
    } else {
      std::memcpy(dst, src, value_size_);
    }
  }

  // Node layout: [u32 next][u32 unused][value, padded to 8].
  uint32_t& next_of(uint32_t node) const {
    return *reinterpret_cast<uint32_t*>(nodes_.get() + size_t{node} * stride_);
  }
  void* value_of(uint32_t node) const { return nodes_.get() + size_t{node} * stride_ + 8; }

  // Callers have checked size_ < capacity_, so a node is always available.
  uint32_t allocate_node() {
    if (free_list_ != kNoNode) {
      const uint32_t node = free_list_;
      free_list_ = next_of(node);
      return node;
    }
    return never_used_++;  // nodes are first touched when used: a large map costs no RSS up front
  }
  void free_node(uint32_t node) {
    next_of(node) = free_list_;
    free_list_ = node;
  }

  struct AlignedDelete {
    void operator()(std::byte* memory) const { ::operator delete(memory, std::align_val_t{64}); }
  };

  uint32_t range_;
  uint32_t capacity_;
  uint32_t value_size_;
  size_t stride_;
  std::unique_ptr<std::byte, AlignedDelete> nodes_;
  Window windows_[2];
  Window* primary_ = &windows_[0];  // ranks [min_rank_, min_rank_ + range_)
  Window* secondary_ = &windows_[1];  // the next range_ ranks
  uint64_t min_rank_ = 0;  // first rank of the primary window
  uint32_t free_list_ = kNoNode;
  uint32_t never_used_ = 0;
};

}  // namespace

std::shared_ptr<Map> make_pifo_map(const MapSpec& spec) { return std::make_shared<PifoMapImpl>(spec); }

}  // namespace bpfq::maps::detail
