#include "delay_histogram.hpp"

#include <bit>
#include <cmath>

namespace bpfq::io::sim {

int DelayHistogram::bucket_of(uint64_t ns) {
  if (ns < (1u << kSubBits)) return static_cast<int>(ns);
  int exponent = 63 - std::countl_zero(ns);  // >= kSubBits
  int shift = exponent - kSubBits;
  int sub = static_cast<int>((ns >> shift) & ((1u << kSubBits) - 1));
  return ((shift + 1) << kSubBits) + sub;
}

uint64_t DelayHistogram::bucket_value(int bucket) {
  if (bucket < (1 << kSubBits)) return static_cast<uint64_t>(bucket);
  int shift = (bucket >> kSubBits) - 1;
  uint64_t sub = static_cast<uint64_t>(bucket & ((1 << kSubBits) - 1));
  uint64_t low = ((uint64_t{1} << kSubBits) | sub) << shift;
  return low + ((uint64_t{1} << shift) >> 1);
}

void DelayHistogram::record(uint64_t ns) {
  ++buckets_[bucket_of(ns)];
  if (count_ == 0 || ns < min_) min_ = ns;
  if (ns > max_) max_ = ns;
  ++count_;
  sum_ += static_cast<double>(ns);
}

uint64_t DelayHistogram::percentile(double p) const {
  // The smallest value with at least ceil(p * count) samples at or below it.
  auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      uint64_t v = bucket_value(b);
      return v < min_ ? min_ : (v > max_ ? max_ : v);
    }
  }
  return max_;
}

DelaySummary DelayHistogram::summary() const {
  DelaySummary s;
  if (count_ == 0) return s;
  s.count = count_;
  s.mean_ns = sum_ / static_cast<double>(count_);
  s.min_ns = min_;
  s.max_ns = max_;
  s.p50_ns = percentile(0.50);
  s.p90_ns = percentile(0.90);
  s.p99_ns = percentile(0.99);
  return s;
}

}  // namespace bpfq::io::sim
