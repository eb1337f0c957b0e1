// PIFO (the XDP queueing RFC's PIFO_GENERIC map, bpfq type 1002): a bucketed integer priority
// queue in the style of Eiffel's cFFS. Each rank in the two windows has a bucket (a FIFO of
// nodes); a hierarchical bitmap per window finds the lowest non-empty bucket in log64(range)
// find-first-set steps, so push and pop cost O(1) in the number of queued elements. Nodes come
// from a pool of max_entries preallocated slots: no allocation per operation.
#include <bpfq/maps/pifo_map.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

// A bucket is a FIFO of nodes linked head to tail; count is what lookup() exposes (the RFC's u32
// elem_count) and says whether head and tail mean anything. All-zero is the empty bucket, so a
// large range's buckets come from calloc and cost no memory until a rank is used.
struct Bucket {
  uint32_t head;
  uint32_t tail;
  uint32_t count;
  uint32_t unused;  // 16 bytes: a bucket never straddles a cache line
};

struct FreeDelete {
  void operator()(void* memory) const { std::free(memory); }
};
struct AlignedDelete {
  void operator()(std::byte* memory) const { ::operator delete(memory, std::align_val_t{64}); }
};

// Levels: the bitmap depth range_ needs (bitmap_levels(range_)), fixed so bitmap walks unroll.
template <int Levels>
class PifoMapImpl final : public PifoMap {
 public:
  explicit PifoMapImpl(const MapSpec& spec)
      : PifoMap(spec),
        range_(static_cast<uint32_t>(spec.extra)),
        capacity_(spec.max_entries),
        stride_(8 + round_up8(spec.value_size)),
        nodes_(static_cast<std::byte*>(::operator new(size_t{capacity_} * stride_, std::align_val_t{64}))),
        buckets_(static_cast<Bucket*>(std::calloc(2 * size_t{range_}, sizeof(Bucket)))),
        occupied_{HierarchicalBitmap<Levels>(range_), HierarchicalBitmap<Levels>(range_)} {
    if (buckets_ == nullptr) throw std::bad_alloc();
  }

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
    if (next == kNoBit) return -ENOENT;
    const auto low_bits = static_cast<uint32_t>(min_rank_ + next);
    std::memcpy(next_key, &low_bits, sizeof low_bits);
    return 0;
  }

  int push(const void* value, uint64_t flags) override {
    if ((flags & ~uint64_t{BPF_PIFO_PRIO_MASK}) != 0) return -EINVAL;
    const uint64_t rank = flags;
    if (size_ >= capacity_) return -EOVERFLOW;
    if (rank < min_rank_) return -ERANGE;
    const uint64_t offset = std::min(rank - min_rank_, 2 * uint64_t{range_} - 1);  // clamp into the last bucket

    const uint32_t node = allocate_node();
    copy_without_kptrs(value_of(node), value);  // a plain copy: PIFO values hold no kptrs
    const unsigned window = primary_ ^ static_cast<unsigned>(offset >= range_);
    const auto index = static_cast<uint32_t>(offset & (range_ - 1));
    Bucket& bucket = buckets_[size_t{window} * range_ + index];
    if (bucket.count == 0) {
      bucket.head = node;
      occupied_[window].set(index);
      if (window == primary_ && index < lowest_) lowest_ = index;
    } else {
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
    // Runs of equal ranks pop from the bucket the last pop used, without reading the bitmap.
    Bucket* bucket = &buckets_[primary_base() + lowest_];
    if (bucket->count == 0) {
      uint64_t lowest = occupied_[primary_].first();
      if (lowest == kNoBit) {  // everything is in the secondary
        rotate();
        lowest = occupied_[primary_].first();
      }
      lowest_ = static_cast<uint32_t>(lowest);
      bucket = &buckets_[primary_base() + lowest_];
    }
    const uint32_t head = bucket->head;
    if (--bucket->count == 0) {
      occupied_[primary_].clear(lowest_);
    } else {
      bucket->head = next_of(head);
      __builtin_prefetch(value_of(bucket->head));  // most likely the next pop's node
    }
    --size_;
    if (value_out != nullptr) copy_without_kptrs(value_out, value_of(head));
    if (rank_out != nullptr) *rank_out = min_rank_ + lowest_;
    free_node(head);
    return 0;
  }

  // An RFC departure: the RFC's PIFO has no peek; bpfq's returns what pop() would.
  int peek(void* value) override {
    if (size_ == 0) return -ENOENT;
    copy_without_kptrs(value, value_of(bucket_at(next_occupied(0)).head));
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
    for (uint64_t offset = next_occupied(0); offset != kNoBit;
         offset = next_occupied(offset + 1)) {
      const auto key = static_cast<uint32_t>(min_rank_ + offset);
      const Bucket& bucket = bucket_at(offset);
      uint32_t node = bucket.head;
      for (uint32_t i = 0; i < bucket.count; ++i, node = next_of(node)) {
        ++visited;
        if (visit(&key, value_of(node)) != 0) return visited;
      }
    }
    return visited;
  }

  void clear() override {
    // Only non-empty buckets need zeroing (an empty one's head and tail mean nothing), so a
    // large range's untouched zero pages stay untouched.
    for (unsigned window = 0; window < 2; ++window) {
      HierarchicalBitmap<Levels>& bitmap = occupied_[window];
      for (uint64_t index = bitmap.next_set(0); index != kNoBit; index = bitmap.next_set(index + 1)) {
        buckets_[size_t{window} * range_ + index] = Bucket{};
      }
      bitmap.reset();
    }
    primary_ = 0;
    lowest_ = 0;
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
    primary_ ^= 1;
    lowest_ = 0;
    min_rank_ += range_;
  }

  // The windows are the two halves of buckets_; the primary is either.
  size_t primary_base() const { return size_t{primary_} * range_; }

  // Offset of a rank from min_rank_ for a u32 key, if the rank lies in the two windows.
  bool offset_of_key(const void* key, uint64_t* offset) const {
    uint32_t low_bits;
    std::memcpy(&low_bits, key, sizeof low_bits);
    const uint32_t distance = low_bits - static_cast<uint32_t>(min_rank_);
    if (distance >= 2 * uint64_t{range_}) return false;
    *offset = distance;
    return true;
  }

  // offset < 2 * range_: the secondary follows the primary circularly.
  Bucket& bucket_at(uint64_t offset) const {
    return buckets_[(primary_base() + offset) & (2 * size_t{range_} - 1)];
  }

  // Lowest non-empty bucket at or after `from` (an offset from min_rank_), or kNoBit.
  uint64_t next_occupied(uint64_t from) const {
    if (from < range_) {
      const uint64_t in_primary = occupied_[primary_].next_set(from);
      if (in_primary != kNoBit) return in_primary;
      from = range_;
    }
    const uint64_t in_secondary = occupied_[primary_ ^ 1].next_set(from - range_);
    return in_secondary == kNoBit ? in_secondary : range_ + in_secondary;
  }

  // Node layout: [u32 next][u32 unused][value, padded to 8].
  uint32_t& next_of(uint32_t node) const {
    return *reinterpret_cast<uint32_t*>(nodes_.get() + size_t{node} * stride_);
  }
  void* value_of(uint32_t node) const { return nodes_.get() + size_t{node} * stride_ + 8; }

  // Callers have checked size_ < capacity_, so a node is always available. The free list is
  // last in, first out: a push reuses the node the last pop left in the cache.
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

  uint32_t range_;
  uint32_t capacity_;
  size_t stride_;
  std::unique_ptr<std::byte, AlignedDelete> nodes_;
  std::unique_ptr<Bucket[], FreeDelete> buckets_;  // 2 * range_: window w is [w * range_, (w + 1) * range_)
  HierarchicalBitmap<Levels> occupied_[2];  // bit i of window w: buckets_[w * range_ + i] is non-empty
  unsigned primary_ = 0;  // the window holding ranks [min_rank_, min_rank_ + range_)
  uint32_t lowest_ = 0;  // no non-empty primary bucket lies below this one
  uint64_t min_rank_ = 0;  // first rank of the primary window
  uint32_t free_list_ = kNoNode;
  uint32_t never_used_ = 0;
};

}  // namespace

std::shared_ptr<Map> make_pifo_map(const MapSpec& spec) {
  switch (bitmap_levels(static_cast<uint32_t>(spec.extra))) {  // create_map allows ranges up to 2^24
    case 1: return std::make_shared<PifoMapImpl<1>>(spec);
    case 2: return std::make_shared<PifoMapImpl<2>>(spec);
    case 3: return std::make_shared<PifoMapImpl<3>>(spec);
    default: return std::make_shared<PifoMapImpl<4>>(spec);
  }
}

}  // namespace bpfq::maps::detail
