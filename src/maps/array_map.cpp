// ARRAY and PERCPU_ARRAY (one CPU): max_entries zero-initialised values indexed by a u32 key.
// Every element always exists, so delete is -EINVAL and update overwrites in place.
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "array_index.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

class ArrayMap final : public Map {
 public:
  explicit ArrayMap(const MapSpec& spec)
      : Map(spec),
        max_entries_(spec.max_entries),
        stride_(round_up8(spec.value_size)),
        storage_(new(std::align_val_t{64}) std::byte[stride_ * max_entries_]()) {
    size_ = max_entries_;
    apply_initial_value();
  }

  ~ArrayMap() override { release_all_kptrs(); }

  void* lookup(const void* key) override {
    const uint32_t index = read_index(key);
    return index < max_entries_ ? element(index) : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    if (flags > kBpfExist) return -EINVAL;
    if (frozen_) return -EPERM;
    const uint32_t index = read_index(key);
    if (index >= max_entries_) return -E2BIG;
    if (flags == kBpfNoExist) return -EEXIST;  // every element exists
    void* slot = element(index);
    release_kptrs(slot);
    copy_without_kptrs(slot, value);
    return 0;
  }

  int erase(const void*) override { return -EINVAL; }

  Layout layout() const override { return {storage_.get(), stride_}; }

  int get_next_key(const void* key, void* next_key) override { return next_index(key, next_key, max_entries_); }

  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    long visited = 0;
    for (uint32_t index = 0; index < max_entries_; ++index) {
      ++visited;
      if (visit(&index, element(index)) != 0) break;
    }
    return visited;
  }

  // A frozen array (.rodata) is immutable and holds no references: clear leaves it alone.
  void clear() override {
    if (frozen_) return;
    release_all_kptrs();
    std::memset(storage_.get(), 0, stride_ * max_entries_);
    apply_initial_value();
  }

  int freeze() override {
    frozen_ = true;
    return 0;
  }
  bool frozen() const override { return frozen_; }

 private:
  struct AlignedDelete {
    void operator()(std::byte* memory) const { ::operator delete[](memory, std::align_val_t{64}); }
  };

  void* element(uint32_t index) const { return storage_.get() + size_t{index} * stride_; }

  void apply_initial_value() {
    const auto& initial = spec().initial_value;
    if (!initial.empty()) std::memcpy(element(0), initial.data(), initial.size());
  }

  void release_all_kptrs() {
    if (!has_kptrs()) return;
    for (uint32_t index = 0; index < max_entries_; ++index) release_kptrs(element(index));
  }

  uint32_t max_entries_;
  size_t stride_;
  std::unique_ptr<std::byte[], AlignedDelete> storage_;
  bool frozen_ = false;
};

}  // namespace

std::shared_ptr<Map> make_array_map(const MapSpec& spec) { return std::make_shared<ArrayMap>(spec); }

}  // namespace bpfq::maps::detail
