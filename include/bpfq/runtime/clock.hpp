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
  // A word holding the time programs see, which unchecked programs read in place instead of
  // calling bpf_ktime_get_ns; null when the time must be computed.
  virtual const std::atomic<uint64_t>* word() const { return nullptr; }
  // The time a program sees (bpf_ktime_get_ns, bpf_jiffies64): the word's where there is one,
  // so that a helper call and the JIT's load in place agree; else now_ns().
  uint64_t program_ns() const {
    const std::atomic<uint64_t>* w = word();
    return w ? w->load(std::memory_order_relaxed) : now_ns();
  }
};

// CLOCK_MONOTONIC, as the kernel's bpf_ktime_get_ns reads it, on every call.
class MonotonicClock final : public Clock {
 public:
  uint64_t now_ns() const override;
};

// A clock the qdisc runner reads before each enqueue and dequeue (sched::QdiscRunner, ns-3's
// BpfQueueDisc), whose last reading is what programs see: the time their operation began, the
// `now` a native qdisc is handed, read once as Linux's sch_fq reads ktime once per dequeue
// (q->ktime_cache). Programs then read the time in place (one load) instead of a system call.
// tc::BuiltSetup reads it before it builds a tree, for the init programs.
class LatchedClock : public Clock {
 public:
  uint64_t now_ns() const final {
    const uint64_t t = read_ns();
    last_.store(t, std::memory_order_relaxed);
    return t;
  }
  const std::atomic<uint64_t>* word() const final { return &last_; }

 protected:
  virtual uint64_t read_ns() const = 0;

 private:
  mutable std::atomic<uint64_t> last_{0};
};

// CLOCK_MONOTONIC, latched: the live datapath's clock.
class LiveClock final : public LatchedClock {
 protected:
  uint64_t read_ns() const override;
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
