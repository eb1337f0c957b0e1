#pragma once
// The generator behind bpf_get_prandom_u32: seedable, so that a run is reproducible.
// SplitMix64 (Steele, Lea, Flood 2014): tiny state, good statistical quality, no allocation.
#include <cstdint>

namespace bpfq::runtime {

class Prng {
 public:
  explicit Prng(uint64_t seed = 0) : state_(seed) {}
  void seed(uint64_t seed) { state_ = seed; }

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }

 private:
  uint64_t state_;
};

}  // namespace bpfq::runtime
