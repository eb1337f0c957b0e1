#pragma once
// The live datapath's clock and timer: CLOCK_MONOTONIC (runtime::MonotonicClock, what
// bpf_ktime_get_ns reads) and a one-shot sched::Timer on a timerfd, armed at absolute times of
// that clock. A datapath polls fd() with its sockets and calls fire() when it is readable;
// fire() calls the callback (QdiscRunner::on_timer) once the armed time has come.
//
// Wake-ups overshoot (about 50 µs on these machines): programs count tokens from the time they
// read, never from the time they asked for.
#include <cstdint>
#include <functional>

#include <bpfq/sched/watchdog.hpp>

namespace bpfq::io {

class TimerFdTimer final : public sched::Timer {
 public:
  // bpfq::Error if the kernel refuses a timerfd.
  explicit TimerFdTimer(std::function<void()> on_fire);
  ~TimerFdTimer() override;
  TimerFdTimer(const TimerFdTimer&) = delete;
  TimerFdTimer& operator=(const TimerFdTimer&) = delete;

  void arm(uint64_t at_ns) override;  // absolute CLOCK_MONOTONIC ns; at or before now fires at once
  void cancel() override;

  int fd() const { return fd_; }
  bool armed() const { return armed_; }
  // The fd was readable (or the caller polls): consumes the expiry and calls the callback if the
  // timer had expired. Returns whether it called it.
  bool fire();

 private:
  int fd_ = -1;
  bool armed_ = false;
  std::function<void()> on_fire_;
};

}  // namespace bpfq::io
