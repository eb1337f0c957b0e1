// create_map(): checks a MapSpec against each type's rules, then builds the map.
#include <algorithm>
#include <atomic>
#include <bit>
#include <new>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/maps/map.hpp>

#include "map_factories.hpp"

namespace bpfq::maps {

namespace {

constexpr uint32_t kMaxValueSize = uint32_t{64} << 20;  // bpfq's bound on one value
constexpr uint32_t kMaxPifoRange = uint32_t{1} << 24;   // 2 windows x 2^24 16-byte buckets = 512 MiB (calloc: untouched pages cost nothing)
constexpr uint32_t kRingbufPageSize = 4096;

[[noreturn]] void reject(const MapSpec& spec, const std::string& reason, const std::string& hint = {}) {
  throw Error("map '" + spec.name + "': " + reason, "", hint);
}

const char* type_label(const MapSpec& spec) {
  const char* name = map_type_name(spec.type);
  return name != nullptr ? name : "?";
}

bool can_hold_kptrs(MapType type) {
  switch (type) {
    case MapType::Array:
    case MapType::PercpuArray:
    case MapType::Hash:
    case MapType::LruHash:
    case MapType::Rbtree:
      return true;
    default:
      return false;
  }
}

void require_key_size(const MapSpec& spec, uint32_t expected) {
  if (spec.key_size != expected) {
    reject(spec,
           "key_size " + std::to_string(spec.key_size) + " is invalid for " + type_label(spec) +
               " (must be " + std::to_string(expected) + ")",
           expected == 0 ? "this type has no keys: declare no key" : "keys are a __u32 index or rank");
  }
}

void require_some_key(const MapSpec& spec) {
  if (spec.key_size == 0) reject(spec, std::string("key_size 0: ") + type_label(spec) + " maps need a key");
  if (spec.key_size > kMaxKeySize) {
    reject(spec, "key_size " + std::to_string(spec.key_size) + " exceeds " + std::to_string(kMaxKeySize) + " bytes",
           "keys live on the 512-byte BPF stack");
  }
}

void require_some_value(const MapSpec& spec) {
  if (spec.value_size == 0) reject(spec, std::string("value_size 0: ") + type_label(spec) + " maps need a value");
}

// What a map holds when full: per_element x max_entries + fixed. Approximate (allocator and
// node headers aside) but never below what the type allocates.
struct MemoryEstimate {
  uint64_t per_element = 0;
  uint64_t fixed = 0;
  uint64_t total(const MapSpec& spec) const { return per_element * spec.max_entries + fixed; }
};

MemoryEstimate estimate_memory(const MapSpec& spec) {
  const uint64_t key = detail::round_up8(spec.key_size), value = detail::round_up8(spec.value_size);
  const uint64_t inner_slot = sizeof(std::shared_ptr<Map>);
  // HASH: a node (4 words of links and hash, key, value) per element and up to 2^22 bucket heads.
  const uint64_t hash_buckets = std::min<uint64_t>(std::bit_ceil(uint64_t{spec.max_entries}), uint64_t{1} << 22) * 8;
  // RBTREE: the element, and its slot (key + pointer) in leaves that are at least a quarter full.
  const auto ordered = [&](uint64_t element_value) { return key + element_value + 4 * (key + 8); };
  switch (static_cast<MapType>(spec.type)) {
    case MapType::Array:
    case MapType::PercpuArray: return {value, 0};
    case MapType::Queue:
    case MapType::Stack: return {spec.value_size, 0};
    case MapType::Hash:
    case MapType::LruHash: return {32 + key + value, hash_buckets};
    case MapType::HashOfMaps: return {32 + key + inner_slot, hash_buckets};
    case MapType::ArrayOfMaps: return {inner_slot, 0};
    case MapType::Rbtree: return {ordered(value), 0};
    case MapType::RbtreeOfMaps: return {ordered(inner_slot), 0};
    case MapType::Ringbuf: return {1, 0};  // max_entries is the ring's size in bytes
    case MapType::Pifo: {
      // Two windows of 16-byte buckets and their bitmaps (a bit per rank, plus upper levels).
      const uint64_t range = static_cast<uint32_t>(spec.extra);
      return {8 + value, 2 * range * 16 + 2 * (range / 8 + range / 256 + 64)};
    }
  }
  return {};
}

std::atomic<uint64_t> g_map_memory{0};

void require_memory_fits(const MapSpec& spec, const MemoryEstimate& e) {
  const uint64_t total = e.total(spec);
  if (total > kMaxMapBytes) {
    reject(spec,
           "max_entries " + std::to_string(spec.max_entries) + " x " + std::to_string(e.per_element) +
               " bytes per element needs " + std::to_string(total >> 20) + " MiB, over the " +
               std::to_string(kMaxMapBytes >> 20) + " MiB limit",
           "lower max_entries or value_size");
  }
}

// Adds the map's estimate to the live total, or refuses it. A compare-and-swap loop, so that
// maps created on several threads cannot overshoot the limit together.
void charge_memory(const MapSpec& spec, uint64_t bytes) {
  uint64_t in_use = g_map_memory.load();
  do {
    if (in_use + bytes > kMaxTotalMapBytes) {
      reject(spec,
             "needs " + std::to_string(bytes >> 20) + " MiB when full, but the live maps already take " +
                 std::to_string(in_use >> 20) + " of the " + std::to_string(kMaxTotalMapBytes >> 20) + " MiB allowed",
             "lower max_entries or value_size, or free other maps first");
    }
  } while (!g_map_memory.compare_exchange_weak(in_use, in_use + bytes));
}

void check_kptr_offsets(const MapSpec& spec, MapType type) {
  if (spec.kptr_offsets.empty()) return;
  if (!can_hold_kptrs(type)) {
    reject(spec, std::string("kptr fields are not supported in ") + type_label(spec) + " maps",
           "values are copied in and out of this type, so a packet reference could never be held: "
           "store packets in an ARRAY, HASH, LRU_HASH or RBTREE value");
  }
  std::vector<uint32_t> sorted = spec.kptr_offsets;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const uint32_t offset = sorted[i];
    if (offset % 8 != 0 || uint64_t{offset} + 8 > spec.value_size) {
      reject(spec,
             "kptr field at offset " + std::to_string(offset) + " does not fit an aligned 8-byte pointer in a " +
                 std::to_string(spec.value_size) + "-byte value");
    }
    if (i > 0 && sorted[i - 1] == offset) reject(spec, "kptr field at offset " + std::to_string(offset) + " is listed twice");
  }
}

void check_inner_template(const MapSpec& spec) {
  if (!spec.inner) {
    reject(spec, std::string(type_label(spec)) + " needs an inner map template",
           "declare the inner map with __array(values, ...) or set MapSpec::inner");
  }
  if (map_type_name(spec.inner->type) == nullptr || is_map_of_maps(spec.inner->type)) {
    reject(spec, "inner map type " + std::to_string(spec.inner->type) + " cannot be nested",
           "inner maps must be ordinary (non map-of-maps) types bpfq implements");
  }
  if (spec.value_size != 4 && spec.value_size != 8) {
    reject(spec, "value_size " + std::to_string(spec.value_size) + " is invalid for " + type_label(spec) + " (must be 4 or 8)",
           "values of a map-of-maps are inner maps: an fd (4) or a pointer (8)");
  }
}

void validate(const MapSpec& spec) {
  if (map_type_name(spec.type) == nullptr) {
    reject(spec, "unknown map type " + std::to_string(spec.type),
           "bpfq implements HASH, ARRAY, PERCPU_ARRAY, LRU_HASH, ARRAY_OF_MAPS, HASH_OF_MAPS, QUEUE, STACK, "
           "RINGBUF, RBTREE (1000), RBTREE_OF_MAPS (1001) and PIFO (1002)");
  }
  const auto type = static_cast<MapType>(spec.type);
  if (spec.max_entries == 0) {
    reject(spec, "max_entries is 0", type == MapType::Ringbuf ? "a RINGBUF's max_entries is its size in bytes"
                                                              : "a map needs room for at least one element");
  }
  if (spec.value_size > kMaxValueSize) {
    reject(spec, "value_size " + std::to_string(spec.value_size) + " exceeds the 64 MiB limit");
  }
  if (!spec.initial_value.empty()) {
    if (type != MapType::Array && type != MapType::PercpuArray) {
      reject(spec, std::string("an initial value is only meaningful for ARRAY maps, not ") + type_label(spec));
    }
    if (spec.initial_value.size() > spec.value_size) {
      reject(spec, "initial value of " + std::to_string(spec.initial_value.size()) + " bytes exceeds value_size " +
                       std::to_string(spec.value_size));
    }
  }
  check_kptr_offsets(spec, type);

  switch (type) {
    case MapType::Array:
    case MapType::PercpuArray:
      require_key_size(spec, 4);
      require_some_value(spec);
      break;
    case MapType::Hash:
    case MapType::LruHash:
    case MapType::Rbtree:
      require_some_key(spec);
      require_some_value(spec);
      break;
    case MapType::Queue:
    case MapType::Stack:
      require_key_size(spec, 0);
      require_some_value(spec);
      break;
    case MapType::Ringbuf:
      if (spec.key_size != 0 || spec.value_size != 0) {
        reject(spec, "RINGBUF maps have no keys or values (key_size and value_size must be 0)");
      }
      if (!std::has_single_bit(spec.max_entries) || spec.max_entries % kRingbufPageSize != 0) {
        reject(spec, "RINGBUF size " + std::to_string(spec.max_entries) + " is not a power of two multiple of 4096",
               "set max_entries to the ring's size in bytes, e.g. 256 * 1024");
      }
      break;
    case MapType::ArrayOfMaps:
      require_key_size(spec, 4);
      check_inner_template(spec);
      break;
    case MapType::HashOfMaps:
    case MapType::RbtreeOfMaps:
      require_some_key(spec);
      check_inner_template(spec);
      break;
    case MapType::Pifo: {
      require_key_size(spec, 4);
      require_some_value(spec);
      if ((spec.extra >> 32) != 0) reject(spec, "PIFO map_extra has bits set above the 32-bit priority range");
      const auto range = static_cast<uint32_t>(spec.extra);
      if (!std::has_single_bit(range)) {
        reject(spec, "PIFO priority range " + std::to_string(range) + " (map_extra) is not a power of two",
               "set map_extra to the number of distinct ranks the queue orders exactly, e.g. 1 << 16");
      }
      if (range > kMaxPifoRange) {
        reject(spec, "PIFO priority range " + std::to_string(range) + " exceeds 2^24",
               "ranks beyond the range still queue: they rotate through the secondary window");
      }
      break;
    }
  }
  require_memory_fits(spec, estimate_memory(spec));
}

}  // namespace

const char* map_type_name(uint32_t type) {
  switch (static_cast<MapType>(type)) {
    case MapType::Hash: return "HASH";
    case MapType::Array: return "ARRAY";
    case MapType::PercpuArray: return "PERCPU_ARRAY";
    case MapType::LruHash: return "LRU_HASH";
    case MapType::ArrayOfMaps: return "ARRAY_OF_MAPS";
    case MapType::HashOfMaps: return "HASH_OF_MAPS";
    case MapType::Queue: return "QUEUE";
    case MapType::Stack: return "STACK";
    case MapType::Ringbuf: return "RINGBUF";
    case MapType::Rbtree: return "RBTREE";
    case MapType::RbtreeOfMaps: return "RBTREE_OF_MAPS";
    case MapType::Pifo: return "PIFO";
  }
  return nullptr;
}

namespace detail {

void release_map_memory(uint64_t bytes) noexcept { g_map_memory -= bytes; }

}  // namespace detail

uint64_t map_memory_in_use() { return g_map_memory.load(); }

namespace {

std::shared_ptr<Map> make_map(const MapSpec& spec) {
  switch (static_cast<MapType>(spec.type)) {
    case MapType::Array:
    case MapType::PercpuArray: return detail::make_array_map(spec);
    case MapType::Hash:
    case MapType::LruHash: return detail::make_hash_map(spec);
    case MapType::Queue:
    case MapType::Stack: return detail::make_queue_stack_map(spec);
    case MapType::Ringbuf: return detail::make_ringbuf_map(spec);
    case MapType::ArrayOfMaps: return detail::make_array_of_maps(spec);
    case MapType::HashOfMaps: return detail::make_hash_of_maps(spec);
    case MapType::RbtreeOfMaps: return detail::make_rbtree_of_maps(spec);
    case MapType::Rbtree: return detail::make_rbtree_map(spec);
    case MapType::Pifo: return detail::make_pifo_map(spec);
  }
  reject(spec, "unknown map type " + std::to_string(spec.type));
}

}  // namespace

std::shared_ptr<Map> create_map(const MapSpec& spec) {
  validate(spec);
  const uint64_t bytes = estimate_memory(spec).total(spec);
  charge_memory(spec, bytes);
  std::shared_ptr<Map> map;
  try {
    map = make_map(spec);
  } catch (const std::bad_alloc&) {
    detail::release_map_memory(bytes);
    reject(spec, "out of memory creating it (about " + std::to_string(bytes >> 20) + " MiB when full)",
           "lower max_entries or value_size");
  } catch (...) {
    detail::release_map_memory(bytes);
    throw;
  }
  map->memory_charge_ = bytes;  // ~Map() gives it back
  return map;
}

}  // namespace bpfq::maps
