// ARRAY_OF_MAPS: max_entries slots indexed by a u32 key, each empty or holding an inner map.
// As in the kernel, delete empties a slot and get_next_key walks every index, empty or not.
// size() counts the occupied slots.
#include <bpfq/maps/map_of_maps.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "array_index.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

class ArrayOfMaps final : public MapOfMaps {
 public:
  explicit ArrayOfMaps(const MapSpec& spec) : MapOfMaps(spec), slots_(spec.max_entries) {}

  void* lookup(const void* key) override {
    const uint32_t index = read_index(key);
    return index < slots_.size() ? slots_[index].get() : nullptr;
  }

  int erase(const void* key) override {
    const uint32_t index = read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    if (slots_[index] == nullptr) return -ENOENT;
    retire(std::move(slots_[index]));
    --size_;
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    return next_index(key, next_key, static_cast<uint32_t>(slots_.size()));
  }

  // Occupied slots in index order; the value is the inner Map*, as lookup() returns it.
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    long visited = 0;
    for (uint32_t index = 0; index < slots_.size(); ++index) {
      if (slots_[index] == nullptr) continue;
      ++visited;
      if (visit(&index, slots_[index].get()) != 0) break;
    }
    return visited;
  }

  void clear() override {
    for (auto& slot : slots_) slot.reset();
    release_retired();
    size_ = 0;
  }

 protected:
  int store(const void* key, std::shared_ptr<Map>&& inner, uint64_t flags) override {
    const uint32_t index = read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    std::shared_ptr<Map>& slot = slots_[index];
    if (slot != nullptr && flags == kBpfNoExist) return -EEXIST;
    if (slot == nullptr && flags == kBpfExist) return -ENOENT;
    if (slot == nullptr) ++size_;
    std::shared_ptr<Map> old = std::exchange(slot, std::move(inner));
    retire(std::move(old));
    return 0;
  }

 private:
  std::vector<std::shared_ptr<Map>> slots_;
};

}  // namespace

std::shared_ptr<Map> make_array_of_maps(const MapSpec& spec) { return std::make_shared<ArrayOfMaps>(spec); }

}  // namespace bpfq::maps::detail
