// Priority queues in steady state ("hold" model): the queue holds N elements; each iteration
// pops the minimum and pushes one element whose rank is the popped rank plus a random
// increment below kSpread (4000, as in scheduling-anchors.md §3), so ranks only grow, like
// departure timestamps. Compares the RBTREE
// map (16-byte key: big-endian rank + sequence, so equal ranks stay FIFO), the PIFO map,
// std::multimap and a binary heap (std::priority_queue), with ratios against std::multimap.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/maps/map.hpp>
#include <bpfq/maps/pifo_map.hpp>
#include <bpfq/maps/rbtree_map.hpp>

#include "../support/ratio_reporter.hpp"

namespace {

using bpfq::maps::MapSpec;
using bpfq::maps::MapType;

constexpr uint64_t kSpread = 4000;  // queued ranks span less than this
// PIFO buckets per window: the anchor's 64x64 = 4096, above kSpread so the order is exact.
constexpr uint64_t kPifoRange = 4096;
constexpr size_t kIncrements = 1 << 16;
const int64_t kSizes[] = {64, 1024, 16384, 262144};

// Random rank increments, drawn once so every queue sees the same sequence.
const std::vector<uint64_t>& increments() {
  static const std::vector<uint64_t> table = [] {
    std::mt19937_64 random(42);
    std::vector<uint64_t> t(kIncrements);
    for (auto& v : t) v = random() % kSpread;
    return t;
  }();
  return table;
}

struct RankKey {
  uint8_t bytes[16];
  RankKey(uint64_t rank, uint64_t sequence) {
    const uint64_t high = __builtin_bswap64(rank), low = __builtin_bswap64(sequence);
    std::memcpy(bytes, &high, 8);
    std::memcpy(bytes + 8, &low, 8);
  }
};

MapSpec spec(MapType type, uint32_t key_size, uint32_t max_entries, uint64_t extra = 0) {
  MapSpec s;
  s.name = "bench";
  s.type = static_cast<uint32_t>(type);
  s.key_size = key_size;
  s.value_size = 8;
  s.max_entries = max_entries;
  s.extra = extra;
  return s;
}

// Runs the hold loop over a queue adapter with push(rank) and pop() -> rank.
template <class Queue>
void hold(benchmark::State& state, Queue& queue) {
  const auto& inc = increments();
  const auto n = static_cast<size_t>(state.range(0));
  for (size_t i = 0; i < n; ++i) queue.push(inc[i % kIncrements]);
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t rank = queue.pop();
    queue.push(rank + inc[i++ & (kIncrements - 1)]);
  }
  state.SetItemsProcessed(state.iterations());
}

struct RbtreeQueue {
  std::shared_ptr<bpfq::maps::RbtreeMap> map;
  uint64_t sequence = 0;
  explicit RbtreeQueue(size_t n)
      : map(std::dynamic_pointer_cast<bpfq::maps::RbtreeMap>(
            bpfq::maps::create_map(spec(MapType::Rbtree, 16, static_cast<uint32_t>(n + 1))))) {}
  void push(uint64_t rank) {
    const RankKey key(rank, sequence++);
    map->update(key.bytes, &rank, bpfq::maps::kBpfAny);
  }
  uint64_t pop() {
    uint64_t rank = 0;
    map->pop_with_key(nullptr, &rank);
    return rank;
  }
};

struct PifoQueue {
  std::shared_ptr<bpfq::maps::PifoMap> map;
  explicit PifoQueue(size_t n)
      : map(std::dynamic_pointer_cast<bpfq::maps::PifoMap>(
            bpfq::maps::create_map(spec(MapType::Pifo, 4, static_cast<uint32_t>(n + 1), kPifoRange)))) {}
  void push(uint64_t rank) { map->push(&rank, rank); }
  uint64_t pop() {
    uint64_t value = 0, rank = 0;
    map->pop_with_rank(&value, &rank);
    return rank;
  }
};

struct MultimapQueue {
  std::multimap<uint64_t, uint64_t> map;
  uint64_t sequence = 0;
  explicit MultimapQueue(size_t) {}
  void push(uint64_t rank) { map.emplace(rank, sequence++); }
  uint64_t pop() {
    const auto first = map.begin();
    const uint64_t rank = first->first;
    map.erase(first);
    return rank;
  }
};

struct HeapQueue {
  using Entry = std::pair<uint64_t, uint64_t>;  // (rank, sequence): FIFO among equal ranks
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  uint64_t sequence = 0;
  explicit HeapQueue(size_t) {}
  void push(uint64_t rank) { heap.emplace(rank, sequence++); }
  uint64_t pop() {
    const uint64_t rank = heap.top().first;
    heap.pop();
    return rank;
  }
};

// The anchor's cFFS-like queue, without the Map interface: two windows of kPifoRange FIFO
// buckets, each with a two-level 64x64 bitmap, nodes from a free list. It shows what the PIFO
// map's interface and generality cost on the same machine in the same run.
class BucketQueue {
 public:
  explicit BucketQueue(size_t n) : nodes_(n + 1) {
    for (uint32_t i = 0; i < nodes_.size(); ++i) nodes_[i].next = i + 1;
  }
  void push(uint64_t rank) {
    uint64_t offset = std::min(rank - base_, 2 * kPifoRange - 1);
    Window& window = windows_[(current_ + (offset >= kPifoRange)) & 1];
    offset &= kPifoRange - 1;
    const uint32_t node = free_;
    free_ = nodes_[node].next;
    nodes_[node] = {kNil, rank};
    Bucket& bucket = window.buckets[offset];
    if (bucket.head == kNil) {
      bucket.head = node;
      window.words[offset >> 6] |= uint64_t{1} << (offset & 63);
      window.summary |= uint64_t{1} << (offset >> 6);
    } else {
      nodes_[bucket.tail].next = node;
    }
    bucket.tail = node;
  }
  uint64_t pop() {
    if (windows_[current_].summary == 0) {
      current_ ^= 1;
      base_ += kPifoRange;
    }
    Window& window = windows_[current_];
    const auto word = static_cast<uint32_t>(__builtin_ctzll(window.summary));
    const uint32_t offset = word * 64 + static_cast<uint32_t>(__builtin_ctzll(window.words[word]));
    Bucket& bucket = window.buckets[offset];
    const uint32_t node = bucket.head;
    bucket.head = nodes_[node].next;
    if (bucket.head == kNil) {
      window.words[word] &= ~(uint64_t{1} << (offset & 63));
      if (window.words[word] == 0) window.summary &= ~(uint64_t{1} << word);
    }
    const uint64_t rank = nodes_[node].rank;
    nodes_[node].next = free_;
    free_ = node;
    return rank;
  }

 private:
  static constexpr uint32_t kNil = ~uint32_t{0};
  struct Node {
    uint32_t next;
    uint64_t rank;
  };
  struct Bucket {
    uint32_t head = kNil, tail = kNil;
  };
  struct Window {
    uint64_t summary = 0;
    uint64_t words[kPifoRange / 64] = {};
    Bucket buckets[kPifoRange];
  };
  std::vector<Node> nodes_;
  std::unique_ptr<Window[]> windows_ = std::make_unique<Window[]>(2);
  unsigned current_ = 0;
  uint64_t base_ = 0;
  uint32_t free_ = 0;
};

template <class Queue>
void run(benchmark::State& state) {
  Queue queue(static_cast<size_t>(state.range(0)));
  hold(state, queue);
}

}  // namespace

int main(int argc, char** argv) {
  const std::pair<const char*, void (*)(benchmark::State&)> queues[] = {
      {"RbtreeMap", run<RbtreeQueue>},
      {"PifoMap", run<PifoQueue>},
      {"StdMultimap", run<MultimapQueue>},
      {"BinaryHeap", run<HeapQueue>},
      {"BucketQueue", run<BucketQueue>},
  };
  std::vector<std::pair<std::string, std::string>> ratios;
  for (const auto& [name, function] : queues) {
    auto* b = benchmark::RegisterBenchmark(name, function);
    for (int64_t n : kSizes) b->Arg(n);
  }
  for (const char* subject : {"RbtreeMap", "PifoMap", "BinaryHeap", "BucketQueue"}) {
    for (int64_t n : kSizes) {
      ratios.emplace_back(std::string(subject) + "/" + std::to_string(n), "StdMultimap/" + std::to_string(n));
    }
  }
  for (int64_t n : kSizes) {
    ratios.emplace_back("PifoMap/" + std::to_string(n), "BucketQueue/" + std::to_string(n));
  }
  return bpfq::bench::run_with_ratios(argc, argv, std::move(ratios));
}
