#pragma once
// Where programs get the time (bpf_ktime_get_ns, bpf_ktime_get_boot_ns): a Clock the embedder
// chooses, monotonic when live and virtual (ManualClock) in the simulator.
#include <atomic>
#include <cstdint>

namespace bpfq::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since an arbitrary epoch; never decreases.
  virtual uint64_t now_ns() const = 0;
  // A word that always holds now_ns(), which unchecked programs read in place instead of calling
  // bpf_ktime_get_ns; null when the time must be computed.
  virtual const std::atomic<uint64_t>* word() const { return nullptr; }
};

// CLOCK_MONOTONIC, as the kernel's bpf_ktime_get_ns reads it.
class MonotonicClock final : public Clock {
 public:
  uint64_t now_ns() const override;
};

// Time that moves only when told to: virtual time for simulations and tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ns = 0) : now_(start_ns) {}
  uint64_t now_ns() const override { return now_.load(std::memory_order_relaxed); }
  const std::atomic<uint64_t>* word() const override { return &now_; }
  void set(uint64_t ns) { now_.store(ns, std::memory_order_relaxed); }
  void advance(uint64_t ns) { now_.fetch_add(ns, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace bpfq::runtime
