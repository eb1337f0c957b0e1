#pragma once
// BPF_MAP_TYPE_RINGBUF: a byte ring (max_entries bytes, a power of two and a multiple of 4096)
// of variable-size records that programs produce and user space consumes, as in the kernel:
// each record has an 8-byte header, records are consumed in reservation order, and a record
// reserved but not yet submitted or discarded holds back every record after it.
#include <cstddef>
#include <cstdint>

#include <bpfq/maps/map.hpp>

namespace bpfq::maps {

// bpf_ringbuf_query() flags.
inline constexpr uint64_t kRingbufAvailData = 0;  // BPF_RB_AVAIL_DATA: bytes not yet consumed
inline constexpr uint64_t kRingbufRingSize = 1;   // BPF_RB_RING_SIZE
inline constexpr uint64_t kRingbufConsPos = 2;    // BPF_RB_CONS_POS
inline constexpr uint64_t kRingbufProdPos = 3;    // BPF_RB_PROD_POS

class RingbufMap : public Map {
 public:
  // BPF side. reserve: a writable sample of `size` bytes, or nullptr when the ring lacks room.
  virtual void* reserve(uint64_t size) = 0;
  // Publishes / drops a sample returned by reserve(). Anything else is ignored.
  virtual void submit(void* sample) = 0;
  virtual void discard(void* sample) = 0;
  // reserve + copy + submit: 0, or -EAGAIN when the ring lacks room.
  virtual int output(const void* data, uint64_t size) = 0;
  // bpf_ringbuf_query(); 0 for an unknown flag.
  virtual uint64_t query(uint64_t flags) const = 0;

  // User side: hands each submitted record to `record` in order, skipping discarded ones, until
  // the ring is empty, a record is still reserved, or `record` returns non-zero (that record
  // counts as consumed). Returns the number of records handed over.
  virtual long consume(FunctionRef<int(const void* data, size_t size)> record) = 0;

 protected:
  using Map::Map;
};

}  // namespace bpfq::maps
