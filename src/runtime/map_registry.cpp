// Validating map pointers without allocating or dereferencing them first.
//
// Top-level maps are registered by their Object and looked up in a process-wide set (shared
// lock: runs on many threads read it at once); each thread remembers the few maps it found
// there lately until any map is forgotten, so a program's map helpers rarely take the lock.
// An inner map reaches a program only through a
// helper on a map-of-maps during a run, so those are remembered per thread in a small
// set-associative cache of weak references, filled when the helper hands one out.
#include "map_registry.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/helpers.hpp>

namespace bpfq::runtime {

namespace {

struct Registry {
  std::shared_mutex mutex;
  std::unordered_map<const maps::Map*, int> maps;  // map -> registrations
  // Bumped whenever a map is forgotten: invalidates every thread's RecentMaps.
  std::atomic<uint64_t> generation{0};
};

Registry& registry() {
  static Registry r;
  return r;
}

class InnerMapCache {
 public:
  void note(maps::Map* map) {
    Set& set = sets_[set_of(map)];
    for (Entry& e : set.ways)
      if (e.map == map) {
        e.alive = map->weak_from_this();
        return;
      }
    Entry& victim = set.ways[set.next];
    set.next = static_cast<uint8_t>((set.next + 1) % kWays);
    victim.map = map;
    victim.alive = map->weak_from_this();
  }

  bool contains(const maps::Map* map) const {
    const Set& set = sets_[set_of(map)];
    for (const Entry& e : set.ways)
      if (e.map == map) return !e.alive.expired();
    return false;
  }

 private:
  static constexpr size_t kSets = 64, kWays = 4;
  struct Entry {
    const maps::Map* map = nullptr;
    std::weak_ptr<maps::Map> alive;
  };
  struct Set {
    std::array<Entry, kWays> ways;
    uint8_t next = 0;
  };
  static size_t set_of(const maps::Map* map) {
    const uint64_t h = (reinterpret_cast<uint64_t>(map) >> 4) * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(h >> 58);  // top 6 bits: kSets = 64
  }
  std::array<Set, kSets> sets_;
};

InnerMapCache& inner_maps() {
  thread_local InnerMapCache cache;
  return cache;
}

// The maps this thread found registered lately, valid while no map has been forgotten since:
// the per-call check of a program's map argument skips the shared lock.
struct RecentMaps {
  static constexpr size_t kSize = 8;
  const maps::Map* maps[kSize] = {};
  uint64_t generation = ~uint64_t{0};
  size_t next = 0;

  bool contains(const maps::Map* map, uint64_t current) const {
    if (generation != current) return false;
    for (const maps::Map* m : maps)
      if (m == map) return true;
    return false;
  }
  void note(const maps::Map* map, uint64_t current) {
    if (generation != current) {
      std::fill(std::begin(maps), std::end(maps), nullptr);
      generation = current;
    }
    maps[next] = map;
    next = (next + 1) % kSize;
  }
};

RecentMaps& recent_maps() {
  thread_local RecentMaps recent;
  return recent;
}

}  // namespace

void register_map(const maps::Map* map) {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  ++r.maps[map];
}

void forget_map(const maps::Map* map) {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  auto it = r.maps.find(map);
  if (it != r.maps.end() && --it->second == 0) {
    r.maps.erase(it);
    r.generation.fetch_add(1, std::memory_order_release);
  }
}

maps::Map* program_map_checked(uint64_t arg) {
  const auto* map = reinterpret_cast<const maps::Map*>(arg);
  if (map == nullptr) return nullptr;
  Registry& r = registry();
  RecentMaps& recent = recent_maps();
  const uint64_t generation = r.generation.load(std::memory_order_acquire);
  if (recent.contains(map, generation)) return const_cast<maps::Map*>(map);
  {
    std::shared_lock lock(r.mutex);
    if (r.maps.count(map) != 0) {
      recent.note(map, r.generation.load(std::memory_order_relaxed));
      return const_cast<maps::Map*>(map);
    }
  }
  return inner_maps().contains(map) ? const_cast<maps::Map*>(map) : nullptr;
}

namespace detail {

void note_inner_map(maps::Map* inner) {
  if (inner != nullptr) inner_maps().note(inner);
}

}  // namespace detail

}  // namespace bpfq::runtime
