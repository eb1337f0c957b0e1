// QUEUE (FIFO) and STACK (LIFO): a ring of max_entries values without keys. Both push at the
// newest end; push with BPF_EXIST on a full map drops the oldest element to make room.
#include <cerrno>
#include <cstring>
#include <memory>

#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

class QueueStackMap final : public Map {
 public:
  explicit QueueStackMap(const MapSpec& spec)
      : Map(spec),
        pops_newest_(spec.type == static_cast<uint32_t>(MapType::Stack)),
        capacity_(spec.max_entries),
        value_size_(spec.value_size),
        slots_(new std::byte[size_t{capacity_} * value_size_]) {}

  void* lookup(const void*) override { return nullptr; }
  int update(const void*, const void*, uint64_t) override { return -EINVAL; }
  int erase(const void*) override { return -EINVAL; }
  int get_next_key(const void*, void*) override { return -EINVAL; }

  int push(const void* value, uint64_t flags) override {
    if (flags != kBpfAny && flags != kBpfExist) return -EINVAL;
    if (size_ == capacity_) {
      if (flags != kBpfExist) return -E2BIG;
      oldest_ = wrap(uint64_t{oldest_} + 1);
      --size_;
    }
    std::memcpy(slot(static_cast<uint32_t>(size_)), value, value_size_);
    ++size_;
    return 0;
  }

  int pop(void* value) override {
    const int status = peek(value);
    if (status != 0) return status;
    if (!pops_newest_) oldest_ = wrap(uint64_t{oldest_} + 1);
    --size_;
    return 0;
  }

  int peek(void* value) override {
    if (size_ == 0) return -ENOENT;
    std::memcpy(value, slot(pops_newest_ ? static_cast<uint32_t>(size_ - 1) : 0), value_size_);
    return 0;
  }

  int lookup_copy(const void*, void* value_out) override { return peek(value_out); }

  // Pop order; keys are null.
  long for_each(FunctionRef<int(const void*, void*)> visit) override {
    long visited = 0;
    const auto count = static_cast<uint32_t>(size_);
    for (uint32_t i = 0; i < count; ++i) {
      ++visited;
      if (visit(nullptr, slot(pops_newest_ ? count - 1 - i : i)) != 0) break;
    }
    return visited;
  }

  void clear() override {
    oldest_ = 0;
    size_ = 0;
  }

 private:
  uint32_t wrap(uint64_t index) const {
    return static_cast<uint32_t>(index >= capacity_ ? index - capacity_ : index);
  }
  // The i-th element from the oldest.
  void* slot(uint32_t i) const { return slots_.get() + size_t{wrap(uint64_t{oldest_} + i)} * value_size_; }

  bool pops_newest_;
  uint32_t capacity_;
  uint32_t value_size_;
  std::unique_ptr<std::byte[]> slots_;
  uint32_t oldest_ = 0;
};

}  // namespace

std::shared_ptr<Map> make_queue_stack_map(const MapSpec& spec) { return std::make_shared<QueueStackMap>(spec); }

}  // namespace bpfq::maps::detail
