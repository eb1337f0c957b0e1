#pragma once
// Random variates for traffic sources, from runtime's seedable SplitMix64. Our own transforms
// (not <random>'s distributions, whose output differs between standard libraries) keep a
// seed's output identical everywhere.
#include <cmath>
#include <cstdint>

#include <bpfq/runtime/prng.hpp>

namespace bpfq::io::sim {

class Rng {
 public:
  // Each source gets its own stream: adding a flow does not change the others' randomness.
  Rng(uint64_t seed, uint64_t stream) : prng_(seed * 0x9e3779b97f4a7c15ULL ^ (stream + 1) * 0xd1b54a32d192ed03ULL) {}

  // Uniform in (0, 1].
  double uniform() { return (static_cast<double>(prng_.next_u64() >> 11) + 1.0) * 0x1.0p-53; }
  double exponential(double mean) { return -mean * std::log(uniform()); }
  // Pareto with the given mean and tail index shape (> 1).
  double pareto(double mean, double shape) {
    double scale = mean * (shape - 1) / shape;
    return scale / std::pow(uniform(), 1.0 / shape);
  }

 private:
  runtime::Prng prng_;
};

}  // namespace bpfq::io::sim
