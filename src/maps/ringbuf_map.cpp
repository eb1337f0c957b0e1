// RINGBUF: the kernel's BPF ring buffer, in one process. The data pages are mapped twice back to
// back, so a record that runs past the end of the ring is still contiguous in memory, exactly as
// the kernel maps its ring for user space. Positions only grow; position & mask is the offset.
#include <bpfq/maps/ringbuf_map.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <bpfq/error.hpp>

#include "map_factories.hpp"

namespace bpfq::maps::detail {
namespace {

constexpr uint32_t kBusyBit = 1u << 31;     // reserved, not yet submitted or discarded
constexpr uint32_t kDiscardBit = 1u << 30;  // the consumer skips it
constexpr uint64_t kHeaderSize = 8;         // struct bpf_ringbuf_hdr { u32 len; u32 pg_off; }
constexpr uint64_t kMaxRecordSize = (1u << 30) - 1;

struct RecordHeader {
  uint32_t length;  // data bytes | kBusyBit | kDiscardBit
  uint32_t unused;  // the kernel's page offset; bpfq has no pages to find
};

class RingbufMapImpl final : public RingbufMap {
 public:
  explicit RingbufMapImpl(const MapSpec& spec) : RingbufMap(spec), ring_size_(spec.max_entries) {
    map_ring_twice();
  }

  ~RingbufMapImpl() override { ::munmap(ring_, 2 * ring_size_); }

  void* lookup(const void*) override { return nullptr; }
  int update(const void*, const void*, uint64_t) override { return -EINVAL; }
  int erase(const void*) override { return -EINVAL; }
  int get_next_key(const void*, void*) override { return -EINVAL; }
  int lookup_copy(const void*, void*) override { return -EINVAL; }
  long for_each(FunctionRef<int(const void*, void*)>) override { return -EINVAL; }

  void* reserve(uint64_t size) override {
    if (size > kMaxRecordSize) return nullptr;
    const uint64_t length = round_up8(size + kHeaderSize);
    // As in the kernel the ring never fills completely: used bytes stay below its size.
    if (producer_ + length - consumer_ >= ring_size_) return nullptr;
    auto* header = header_at(producer_);
    header->length = static_cast<uint32_t>(size) | kBusyBit;
    header->unused = 0;
    producer_ += length;
    ++size_;
    return header + 1;
  }

  void submit(void* sample) override { settle(sample, 0); }
  void discard(void* sample) override { settle(sample, kDiscardBit); }

  int output(const void* data, uint64_t size) override {
    void* sample = reserve(size);
    if (sample == nullptr) return -EAGAIN;
    std::memcpy(sample, data, size);
    submit(sample);
    return 0;
  }

  uint64_t query(uint64_t flags) const override {
    switch (flags) {
      case kRingbufAvailData: return producer_ - consumer_;
      case kRingbufRingSize: return ring_size_;
      case kRingbufConsPos: return consumer_;
      case kRingbufProdPos: return producer_;
      default: return 0;
    }
  }

  long consume(FunctionRef<int(const void*, size_t)> record) override {
    long consumed = 0;
    while (consumer_ < producer_) {
      const RecordHeader* header = header_at(consumer_);
      const uint32_t length = header->length;
      if ((length & kBusyBit) != 0) break;  // still being written: later records wait for it
      const uint32_t size = length & ~(kBusyBit | kDiscardBit);
      int stop = 0;
      if ((length & kDiscardBit) == 0) {
        ++consumed;
        --size_;
        stop = record(header + 1, size);
      }
      consumer_ += round_up8(size + kHeaderSize);  // after the callback: its data stays put meanwhile
      if (stop != 0) break;
    }
    return consumed;
  }

  // Drops every record, reserved ones included: only called when no program runs.
  void clear() override {
    producer_ = consumer_ = 0;
    size_ = 0;
  }

 private:
  RecordHeader* header_at(uint64_t position) const {
    return reinterpret_cast<RecordHeader*>(ring_ + (position & (ring_size_ - 1)));
  }

  // Clears the busy bit of a reserved sample; ignores pointers that are not one.
  void settle(void* sample, uint32_t extra_bits) {
    const auto address = reinterpret_cast<uintptr_t>(sample);
    const auto ring = reinterpret_cast<uintptr_t>(ring_);
    if (address < ring + kHeaderSize || address - kHeaderSize - ring >= ring_size_ || address % 8 != 0) {
      return;
    }
    auto* record = reinterpret_cast<RecordHeader*>(ring_ + (address - kHeaderSize - ring));
    if ((record->length & kBusyBit) == 0) return;
    record->length = (record->length & ~kBusyBit) | extra_bits;
    if (extra_bits & kDiscardBit) --size_;
  }

  void map_ring_twice() {
    const auto fail = [&](const char* step) {
      throw Error("map '" + spec().name + "': cannot map the ring buffer (" + step + ": " +
                  std::strerror(errno) + ")");
    };
    const int fd = ::memfd_create("bpfq-ringbuf", MFD_CLOEXEC);
    if (fd < 0) fail("memfd_create");
    if (::ftruncate(fd, static_cast<off_t>(ring_size_)) != 0) {
      ::close(fd);
      fail("ftruncate");
    }
    void* area = ::mmap(nullptr, 2 * ring_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
      ::close(fd);
      fail("mmap");
    }
    auto* base = static_cast<std::byte*>(area);
    for (int copy = 0; copy < 2; ++copy) {
      if (::mmap(base + copy * ring_size_, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                 0) == MAP_FAILED) {
        ::munmap(area, 2 * ring_size_);
        ::close(fd);
        fail("mmap");
      }
    }
    ::close(fd);
    ring_ = base;
  }

  uint64_t ring_size_;
  std::byte* ring_ = nullptr;
  uint64_t producer_ = 0;
  uint64_t consumer_ = 0;
};

}  // namespace

std::shared_ptr<Map> make_ringbuf_map(const MapSpec& spec) { return std::make_shared<RingbufMapImpl>(spec); }

}  // namespace bpfq::maps::detail
