#pragma once
// A timer whose deadline moves on almost every packet (TCP's retransmission and delayed-ACK
// timers). Arming schedules an event only when none is pending at or before the deadline; a
// pending event that finds the deadline moved later schedules itself again. So moving or
// cancelling the deadline costs no event.
#include <cstdint>

#include <bpfq/io/sim/event_loop.hpp>

namespace bpfq::io::sim {

class DeadlineTimer {
 public:
  // Its events go to target with tag.
  DeadlineTimer(EventLoop& loop, EventTarget& target, uint32_t tag) : loop_(loop), target_(target), tag_(tag) {}

  bool armed() const { return deadline_ != 0; }
  void arm(uint64_t deadline_ns) {
    deadline_ = deadline_ns;
    if (event_at_ == 0 || deadline_ < event_at_) schedule();
  }
  void cancel() { deadline_ = 0; }

  // To be called when the target receives the timer's tag: true if the deadline has come (the
  // timer is then disarmed), false for a superseded event or a deadline still ahead.
  bool expired() {
    if (loop_.now() != event_at_) return false;  // superseded by an earlier event
    event_at_ = 0;
    if (deadline_ == 0) return false;
    if (loop_.now() < deadline_) {
      schedule();
      return false;
    }
    deadline_ = 0;
    return true;
  }

 private:
  void schedule() {
    event_at_ = deadline_;
    loop_.schedule_at(deadline_, target_, tag_);
  }

  EventLoop& loop_;
  EventTarget& target_;
  uint32_t tag_;
  uint64_t deadline_ = 0;  // 0: not armed
  uint64_t event_at_ = 0;  // the pending event's time, 0: none
};

}  // namespace bpfq::io::sim
