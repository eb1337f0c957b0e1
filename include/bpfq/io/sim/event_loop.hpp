#pragma once
// The simulator's discrete-event core: a min-heap of (time, sequence) events on one thread.
// Events carry a target, a small tag and optionally a packet, so scheduling one allocates
// nothing once the heap has grown (no std::function per packet). Ties in time run in the order
// they were scheduled, which makes every run with the same inputs identical.
//
// Most events are packets in flight on a link of fixed delay, scheduled in the order they
// arrive: such a stream is a lane, a FIFO of which only the head is in the heap. The heap then
// holds a few dozen events instead of a bandwidth-delay product's worth, and the order is the
// same (time, sequence) order as if every event were in it.
#include <cstdint>
#include <limits>
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
  uint32_t lane = kNoLane;  // in the heap: the lane whose head this is
  static constexpr uint32_t kNoLane = std::numeric_limits<uint32_t>::max();
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
  // A new lane, for a stream of events whose times do not decrease (a fixed delay after now).
  uint32_t add_lane();
  // As schedule_in, through the lane: O(1) unless the lane is empty. An event earlier than the
  // lane's last goes to the heap as schedule_in would put it: the order is kept either way.
  void schedule_in_lane(uint32_t lane, uint64_t delay_ns, EventTarget& target, uint32_t tag,
                        sched::Packet* packet = nullptr);

  // Delivers every event due at or before end_ns, in (time, seq) order; leaves now() at end_ns.
  void run_until(uint64_t end_ns);
  // Delivers the earliest event; false if there is none.
  bool run_one();
  // Drops every pending event, releasing the packets they hold.
  void clear();

  size_t pending() const { return heap_.size() + lane_events_; }
  uint64_t delivered() const { return delivered_; }
  // The time of the earliest pending event, or UINT64_MAX.
  uint64_t next_time() const;

 private:
  // A FIFO ring of events, grown by doubling.
  struct Lane {
    std::vector<Event> ring;
    size_t head = 0, size = 0;
    Event& at(size_t i) { return ring[(head + i) & (ring.size() - 1)]; }
  };
  void push(const Event& e);      // into the heap
  void replace_top(const Event& e);  // the heap's top leaves, e comes in
  void pop_top();

  runtime::ManualClock& clock_;
  std::vector<Event> heap_;
  std::vector<Lane> lanes_;
  size_t lane_events_ = 0;  // events in lanes behind their heads
  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace bpfq::io::sim
