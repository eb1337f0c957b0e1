#include <bpfq/runtime/clock.hpp>

#include <time.h>

namespace bpfq::runtime {

uint64_t MonotonicClock::now_ns() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace bpfq::runtime
