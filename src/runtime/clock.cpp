#include <bpfq/runtime/clock.hpp>

#include <time.h>

namespace bpfq::runtime {

namespace {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

uint64_t MonotonicClock::now_ns() const { return monotonic_ns(); }
uint64_t LiveClock::read_ns() const { return monotonic_ns(); }

}  // namespace bpfq::runtime
