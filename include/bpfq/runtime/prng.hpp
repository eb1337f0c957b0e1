#pragma once
// The generator behind bpf_get_prandom_u32: seedable, so that a run is reproducible.
// SplitMix64 (Steele, Lea, Flood 2014): tiny state, good statistical quality, no allocation.
#include <cstdint>
#include <string_view>

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

// The seed of one stream of a run: the run's seed mixed with where the stream is used (a
// qdisc's device and handle, "eth0 1:10"), so that every qdisc of a tree draws its own numbers
// and the same run seed gives the same numbers again.
inline uint64_t derive_seed(uint64_t run_seed, std::string_view place) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the place
  for (const char c : place) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return Prng(run_seed ^ h).next_u64();
}

}  // namespace bpfq::runtime
