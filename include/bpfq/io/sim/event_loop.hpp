#pragma once
// The simulator's discrete-event core: a min-heap of (time, sequence) events on one thread.
// Events carry a target, a small tag and optionally a packet, so scheduling one allocates
// nothing once the heap has grown (no std::function per packet). Ties in time run in the order
// they were scheduled, which makes every run with the same inputs identical.
#include <cstdint>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet.hpp>

namespace bpfq::io::sim {

// Something an event is delivered to: links, flows, timers.
class EventTarget {
 public:
  virtual void on_event(uint32_t tag, sched::Packet* packet) = 0;

 protected:
  ~EventTarget() = default;
};

struct Event {
  uint64_t time_ns = 0;
  uint64_t seq = 0;  // scheduling order: breaks ties deterministically
  EventTarget* target = nullptr;
  sched::Packet* packet = nullptr;  // owned by the event until delivered
  uint32_t tag = 0;
};

class EventLoop {
 public:
  // The loop moves clock to each event's time before delivering it: eBPF programs reading
  // bpf_ktime_get_ns through the same clock see simulated time.
  explicit EventLoop(runtime::ManualClock& clock) : clock_(clock) {}
  ~EventLoop();  // releases the packets of events never delivered
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uint64_t now() const { return now_; }
  // An event in the past runs at now().
  void schedule_at(uint64_t time_ns, EventTarget& target, uint32_t tag, sched::Packet* packet = nullptr);
  void schedule_in(uint64_t delay_ns, EventTarget& target, uint32_t tag, sched::Packet* packet = nullptr) {
    schedule_at(now_ + delay_ns, target, tag, packet);
  }

  // Delivers every event due at or before end_ns, in (time, seq) order; leaves now() at end_ns.
  void run_until(uint64_t end_ns);
  // Delivers the earliest event; false if there is none.
  bool run_one();
  // Drops every pending event, releasing the packets they hold.
  void clear();

  size_t pending() const { return heap_.size(); }
  uint64_t delivered() const { return delivered_; }
  // The time of the earliest pending event, or UINT64_MAX.
  uint64_t next_time() const;

 private:
  runtime::ManualClock& clock_;
  std::vector<Event> heap_;
  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace bpfq::io::sim
