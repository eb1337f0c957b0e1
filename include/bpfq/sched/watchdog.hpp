#pragma once
// The qdisc watchdog (Linux's qdisc_watchdog): a qdisc that holds packets it may not send yet
// asks to be dequeued again at a time. Both sides ask: a dequeue that answers Throttled, and an
// enqueue program that returns THROTTLE with ctx->delay (the seed: "the watchdog wakes the
// dequeue side later"). The earliest request wins; a wake-up that finds nothing due only costs
// one dequeue, which asks again.
//
// The datapath supplies the Timer (virtual time in the simulator, timerfd live) and calls
// QdiscRunner::on_timer() when it fires; the watchdog never reads a clock of its own.
#include <cstdint>

#include <bpfq/runtime/clock.hpp>

namespace bpfq::sched {

// A datapath's one-shot timer. arm() replaces any earlier arming; the datapath calls back the
// engine (QdiscRunner::on_timer) once the time has come, never before.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void arm(uint64_t at_ns) = 0;
  virtual void cancel() = 0;
};

// now + delay without wrapping: a program's delay near 2^64 means "never", not "in the past".
inline uint64_t saturating_add(uint64_t now_ns, uint64_t delay_ns) {
  return delay_ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + delay_ns;
}

class Watchdog {
 public:
  // The minimum slack: a wake-up is never asked for sooner than this after now. Linux's sch_fq
  // gives its hrtimer the same 10 µs (timer_slack); a THROTTLE with delay 0 or 1 ns then costs
  // 100 000 dequeues per second of (virtual) time instead of one per nanosecond.
  static constexpr uint64_t kMinSlackNs = 10'000;

  Watchdog(const runtime::Clock& clock, Timer& timer) : clock_(clock), timer_(timer) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // qdisc_watchdog_schedule_ns: wake the dequeue side at at_ns (absolute; raised to now + slack),
  // unless an earlier wake-up is armed. UINT64_MAX (a saturated delay) arms nothing.
  void schedule(uint64_t at_ns);
  void cancel();
  bool armed() const { return expires_ns_ != 0; }
  uint64_t expires_ns() const { return expires_ns_; }

  // The timer fired: true (and disarmed) if the armed time has come.
  bool fire();

  uint64_t wakeups() const { return wakeups_; }

 private:
  const runtime::Clock& clock_;
  Timer& timer_;
  uint64_t expires_ns_ = 0;  // 0: not armed
  uint64_t wakeups_ = 0;
};

}  // namespace bpfq::sched
