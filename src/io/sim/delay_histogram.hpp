#pragma once
// A log-linear histogram of delays (64 sub-buckets per power of two: relative error < 1/64)
// with exact count, sum, min and max. Fixed size, so recording never allocates.
#include <array>
#include <cstdint>

#include <bpfq/io/sim/report.hpp>

namespace bpfq::io::sim {

class DelayHistogram {
 public:
  void record(uint64_t ns);
  DelaySummary summary() const;
  uint64_t count() const { return count_; }

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
  static int bucket_of(uint64_t ns);
  static uint64_t bucket_value(int bucket);  // the middle of the bucket's range
  uint64_t percentile(double p) const;

  std::array<uint32_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
};

}  // namespace bpfq::io::sim
