#include <bpfq/io/sim/event_loop.hpp>

#include <algorithm>
#include <limits>

#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::io::sim {
namespace {

bool runs_before(const Event& a, const Event& b) {
  return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
}

}  // namespace

EventLoop::~EventLoop() { clear(); }

// A binary min-heap by (time, seq), moved through a hole: std::push_heap/pop_heap have no
// "replace the top", which is what delivering a lane's head needs.
void EventLoop::push(const Event& e) {
  size_t i = heap_.size();
  heap_.push_back(e);
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!runs_before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

void EventLoop::replace_top(const Event& e) {
  const size_t n = heap_.size();
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && runs_before(heap_[child + 1], heap_[child])) ++child;
    if (!runs_before(heap_[child], e)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = e;
}

void EventLoop::pop_top() {
  const Event last = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) replace_top(last);
}

void EventLoop::schedule_at(uint64_t time_ns, EventTarget& target, uint32_t tag, sched::Packet* packet) {
  push(Event{std::max(time_ns, now_), next_seq_++, &target, packet, tag});
}

uint32_t EventLoop::add_lane() {
  lanes_.emplace_back();
  lanes_.back().ring.resize(16);
  return static_cast<uint32_t>(lanes_.size() - 1);
}

void EventLoop::schedule_in_lane(uint32_t lane, uint64_t delay_ns, EventTarget& target, uint32_t tag,
                                 sched::Packet* packet) {
  Lane& l = lanes_[lane];
  const Event e{now_ + delay_ns, next_seq_++, &target, packet, tag, lane};
  if (l.size == 0) {
    push(e);
  } else if (e.time_ns < l.at(l.size - 1).time_ns) {
    Event alone = e;
    alone.lane = Event::kNoLane;
    push(alone);
    return;
  } else {
    ++lane_events_;
  }
  if (l.size == l.ring.size()) {  // full: unroll into a ring twice the size
    std::vector<Event> bigger(2 * l.ring.size());
    for (size_t i = 0; i < l.size; ++i) bigger[i] = l.at(i);
    l.ring = std::move(bigger);
    l.head = 0;
  }
  l.at(l.size++) = e;
}

bool EventLoop::run_one() {
  if (heap_.empty()) return false;
  const Event e = heap_.front();
  if (e.lane == Event::kNoLane) {
    pop_top();
  } else {
    Lane& l = lanes_[e.lane];
    l.head = (l.head + 1) & (l.ring.size() - 1);
    if (--l.size == 0) {
      pop_top();
    } else {
      --lane_events_;
      replace_top(l.at(0));
    }
  }
  now_ = e.time_ns;
  clock_.set(now_);
  ++delivered_;
  e.target->on_event(e.tag, e.packet);
  return true;
}

void EventLoop::run_until(uint64_t end_ns) {
  while (!heap_.empty() && heap_.front().time_ns <= end_ns) run_one();
  if (end_ns > now_) {
    now_ = end_ns;
    clock_.set(now_);
  }
}

uint64_t EventLoop::next_time() const {
  return heap_.empty() ? std::numeric_limits<uint64_t>::max() : heap_.front().time_ns;
}

// A lane's head is in the heap and in its ring: released once, from the ring.
void EventLoop::clear() {
  for (Event& e : heap_)
    if (e.lane == Event::kNoLane) sched::PacketPool::release(e.packet);
  heap_.clear();
  for (Lane& l : lanes_) {
    for (size_t i = 0; i < l.size; ++i) sched::PacketPool::release(l.at(i).packet);
    l.head = l.size = 0;
  }
  lane_events_ = 0;
}

}  // namespace bpfq::io::sim
