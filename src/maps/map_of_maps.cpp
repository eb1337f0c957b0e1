// MapOfMaps: what ARRAY_OF_MAPS, HASH_OF_MAPS and RBTREE_OF_MAPS share: checking inner maps
// against the template, taking them from the BPF side as a Map*, and retiring removed ones.
#include <bpfq/maps/map_of_maps.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bpfq::maps {

namespace {
// Retirements between two quiescent points rarely exceed this; beyond it the list grows.
constexpr size_t kRetiredReserve = 4096;
}  // namespace

MapOfMaps::MapOfMaps(const MapSpec& spec) : Map(spec) {
  retired_.reserve(std::min<size_t>(spec.max_entries, kRetiredReserve));
}

MapOfMaps::~MapOfMaps() = default;

bool MapOfMaps::accepts(const Map& candidate) const {
  const MapSpec& want = *spec().inner;
  const MapSpec& have = candidate.spec();
  return &candidate != this && have.type == want.type && have.key_size == want.key_size &&
         have.value_size == want.value_size;
}

int MapOfMaps::set_inner(const void* key, std::shared_ptr<Map> inner, uint64_t flags) {
  if (flags > kBpfExist || inner == nullptr || !accepts(*inner)) return -EINVAL;
  return store(key, std::move(inner), flags);
}

std::shared_ptr<Map> MapOfMaps::inner(const void* key) {
  auto* map = static_cast<Map*>(lookup(key));
  return map != nullptr ? map->shared_from_this() : nullptr;
}

int MapOfMaps::update(const void* key, const void* value, uint64_t flags) {
  Map* map;
  std::memcpy(&map, value, sizeof map);
  if (flags > kBpfExist || map == nullptr || !accepts(*map)) return -EINVAL;
  std::shared_ptr<Map> shared = map->weak_from_this().lock();
  if (shared == nullptr) return -EINVAL;  // not a map create_map() built
  return store(key, std::move(shared), flags);
}

int MapOfMaps::lookup_copy(const void* key, void* value_out) {
  const Map* map = static_cast<const Map*>(lookup(key));
  if (map == nullptr) return -ENOENT;
  write_map_pointer(value_out, map);
  return 0;
}

void MapOfMaps::retire(std::shared_ptr<Map>&& removed) {
  if (removed != nullptr && removed.use_count() == 1) retired_.push_back(std::move(removed));
  removed.reset();
}

void MapOfMaps::write_map_pointer(void* out, const Map* map) { std::memcpy(out, &map, sizeof map); }

}  // namespace bpfq::maps
