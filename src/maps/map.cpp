#include <bpfq/maps/map.hpp>

#include <algorithm>
#include <cerrno>

#include "map_factories.hpp"

namespace bpfq::maps {

Map::Map(const MapSpec& spec)
    : spec_(spec), value_size_(spec.value_size), kptr_offsets_(spec.kptr_offsets) {
  std::sort(kptr_offsets_.begin(), kptr_offsets_.end());
}

Map::~Map() { detail::release_map_memory(memory_charge_); }

int Map::push(const void*, uint64_t) { return -EINVAL; }
int Map::pop(void*) { return -EINVAL; }
int Map::peek(void*) { return -EINVAL; }
int Map::freeze() { return -EINVAL; }
bool Map::frozen() const { return false; }

int Map::lookup_copy(const void* key, void* value_out) {
  const void* value = lookup(key);
  if (value == nullptr) return -ENOENT;
  copy_without_kptrs(value_out, value);
  return 0;
}

void Map::release_kptr_fields(void* value) {
  auto* bytes = static_cast<char*>(value);
  for (uint32_t offset : kptr_offsets_) {
    void* reference;
    std::memcpy(&reference, bytes + offset, sizeof reference);
    if (reference == nullptr) continue;
    std::memset(bytes + offset, 0, sizeof reference);  // NULL before the dtor runs: no double release
    if (kptr_dtor_ != nullptr) kptr_dtor_(reference);
  }
}

void Map::null_kptr_fields(void* value) const {
  auto* bytes = static_cast<char*>(value);
  for (uint32_t offset : kptr_offsets_) std::memset(bytes + offset, 0, sizeof(void*));
}

}  // namespace bpfq::maps
