// bpf_ringbuf_{output,reserve,submit,discard,query}.
//
// bpf_ringbuf_submit/discard receive only the sample, so the samples reserved on this thread
// and not yet released are remembered with their ring (a fixed table: no allocation). The
// kernel's verifier guarantees every reservation is released before the program exits; here an
// unreleased one holds back the ring's later records, as it would in the kernel.
#include <array>
#include <memory>

#include <bpfq/maps/ringbuf_map.hpp>

#include "helper_support.hpp"

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {

class Reservations {
 public:
  bool add(void* sample, maps::RingbufMap* ring) {
    for (Entry& e : entries_)
      if (e.sample == nullptr || e.alive.expired()) {
        e = {sample, ring, ring->weak_from_this()};
        return true;
      }
    return false;
  }
  // The live ring that reserved `sample` (forgetting the reservation), or nullptr.
  maps::RingbufMap* take(void* sample) {
    for (Entry& e : entries_)
      if (e.sample == sample && sample != nullptr) {
        maps::RingbufMap* ring = e.alive.expired() ? nullptr : e.ring;
        e = {};
        return ring;
      }
    return nullptr;
  }

 private:
  struct Entry {
    void* sample = nullptr;
    maps::RingbufMap* ring = nullptr;
    std::weak_ptr<maps::Map> alive;
  };
  std::array<Entry, 64> entries_;
};

Reservations& reservations() {
  thread_local Reservations r;
  return r;
}

maps::RingbufMap* ring_of(uint64_t m) {
  maps::Map* map = program_map(m);
  if (!map || map->type() != maps::MapType::Ringbuf) return nullptr;
  return static_cast<maps::RingbufMap*>(map);
}

}  // namespace

uint64_t ringbuf_output(uint64_t m, uint64_t data, uint64_t size, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::RingbufMap* ring = ring_of(m);
  if (!ring) return fail(rc, "bpf_ringbuf_output: map argument is not a RINGBUF of this program");
  if (!readable(rc, data, size)) return fail(rc, "bpf_ringbuf_output: data outside program memory");
  return errno_result(ring->output(reinterpret_cast<const void*>(data), size));
}

uint64_t ringbuf_reserve(uint64_t m, uint64_t size, uint64_t flags, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::RingbufMap* ring = ring_of(m);
  if (!ring) return fail(rc, "bpf_ringbuf_reserve: map argument is not a RINGBUF of this program");
  if (flags != 0) return 0;  // the kernel accepts no flags here
  void* sample = ring->reserve(size);
  if (sample == nullptr) return 0;
  if (!reservations().add(sample, ring)) {  // too many unreleased samples on this thread
    ring->discard(sample);
    return 0;
  }
  rc->grant(reinterpret_cast<uint64_t>(sample), size, true);
  return reinterpret_cast<uint64_t>(sample);
}

namespace {

// bpf_ringbuf_submit/discard: hands a sample reserved on this thread back to its ring.
template <void (maps::RingbufMap::*Release)(void*)>
uint64_t release_sample(uint64_t sample, const char* not_reserved) {
  void* p = reinterpret_cast<void*>(sample);
  maps::RingbufMap* ring = reservations().take(p);
  if (!ring) return fail(RunContext::current(), not_reserved);
  (ring->*Release)(p);
  return 0;
}

}  // namespace

uint64_t ringbuf_submit(uint64_t sample, uint64_t, uint64_t, uint64_t, uint64_t) {
  return release_sample<&maps::RingbufMap::submit>(
      sample, "bpf_ringbuf_submit: not a sample reserved by bpf_ringbuf_reserve");
}

uint64_t ringbuf_discard(uint64_t sample, uint64_t, uint64_t, uint64_t, uint64_t) {
  return release_sample<&maps::RingbufMap::discard>(
      sample, "bpf_ringbuf_discard: not a sample reserved by bpf_ringbuf_reserve");
}

uint64_t ringbuf_query(uint64_t m, uint64_t flags, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::RingbufMap* ring = ring_of(m);
  if (!ring) return fail(rc, "bpf_ringbuf_query: map argument is not a RINGBUF of this program");
  return ring->query(flags);
}

}  // namespace bpfq::runtime::detail
