#include <bpfq/io/sim/event_loop.hpp>

#include <algorithm>
#include <limits>

#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::io::sim {
namespace {

// std heap functions build a max-heap: "a < b" means a runs later.
bool runs_later(const Event& a, const Event& b) {
  return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
}

}  // namespace

EventLoop::~EventLoop() { clear(); }

void EventLoop::schedule_at(uint64_t time_ns, EventTarget& target, uint32_t tag, sched::Packet* packet) {
  heap_.push_back(Event{std::max(time_ns, now_), next_seq_++, &target, packet, tag});
  std::push_heap(heap_.begin(), heap_.end(), runs_later);
}

bool EventLoop::run_one() {
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), runs_later);
  Event e = heap_.back();
  heap_.pop_back();
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

void EventLoop::clear() {
  for (Event& e : heap_) sched::PacketPool::release(e.packet);
  heap_.clear();
}

}  // namespace bpfq::io::sim
