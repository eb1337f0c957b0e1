// ARRAY and PERCPU_ARRAY (one CPU): max_entries zero-initialised values indexed by a u32 key.
// Every element always exists, so delete is -EINVAL and update overwrites in place.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "array_index.hpp"
#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

// Zero-filled, 64-byte-aligned element storage. Large arrays (a 4 MiB .bss, a table of 64k
// slots) are anonymous pages, which the kernel zero-fills on first touch: pages a program never
// uses cost nothing, and an object opened only to be checked does not write megabytes of zeros.
class ZeroedStorage {
 public:
  explicit ZeroedStorage(size_t bytes) : bytes_(bytes) {
    if (bytes_ >= kPagedBytes) {
      void* pages = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (pages == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<std::byte*>(pages);
      paged_ = true;
    } else {
      data_ = new (std::align_val_t{64}) std::byte[bytes_]();
    }
  }
  ZeroedStorage(const ZeroedStorage&) = delete;
  ZeroedStorage& operator=(const ZeroedStorage&) = delete;
  ~ZeroedStorage() {
    if (paged_) munmap(data_, bytes_);
    else ::operator delete[](data_, std::align_val_t{64});
  }

  std::byte* data() const { return data_; }

  // Back to zeros; whole pages are given back to the kernel instead of written.
  void zero() {
    if (!paged_ || madvise(data_, bytes_, MADV_DONTNEED) != 0) std::memset(data_, 0, bytes_);
  }

 private:
  static constexpr size_t kPagedBytes = size_t{64} << 10;  // below: a heap block
  size_t bytes_;
  std::byte* data_ = nullptr;
  bool paged_ = false;
};

class ArrayMap final : public Map {
 public:
  explicit ArrayMap(const MapSpec& spec)
      : Map(spec),
        max_entries_(spec.max_entries),
        stride_(round_up8(spec.value_size)),
        storage_(stride_ * max_entries_) {
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

  Layout layout() const override { return {storage_.data(), stride_}; }

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
    storage_.zero();
    apply_initial_value();
  }

  int freeze() override {
    frozen_ = true;
    return 0;
  }
  bool frozen() const override { return frozen_; }

 private:
  void* element(uint32_t index) const { return storage_.data() + size_t{index} * stride_; }

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
  ZeroedStorage storage_;
  bool frozen_ = false;
};

}  // namespace

std::shared_ptr<Map> make_array_map(const MapSpec& spec) { return std::make_shared<ArrayMap>(spec); }

}  // namespace bpfq::maps::detail
