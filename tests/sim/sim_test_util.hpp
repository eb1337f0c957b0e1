#pragma once
// Helpers shared by the simulator tests: runs over pfifo and small test-only qdiscs.
#include <gtest/gtest.h>

#include <optional>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::io::sim::test {

inline Report run_pfifo(const Scenario& scenario, uint32_t limit) {
  Simulation sim(scenario);
  sched::PfifoQdisc q(limit);
  Report r = sim.run(q);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(q.qlen(), 0u) << "run() must drain the qdisc";
  EXPECT_EQ(sim.pool().in_use(), 0u) << "every packet returns to the pool";
  return r;
}

// A FIFO that marks CE on ECN-capable packets while more than `threshold` packets wait (a
// step-marking queue, as DCTCP's), and tail-drops at `limit`.
class MarkingFifo final : public sched::Qdisc {
 public:
  MarkingFifo(uint32_t threshold, uint32_t limit) : Qdisc("markfifo", {}), threshold_(threshold), limit_(limit) {}
  ~MarkingFifo() override { reset(); }
  uint64_t marked = 0;

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t) override {
    if (queue_.size() >= limit_) {
      drop(pkt, sched::DropReason::QueueFull);
      return sched::EnqueueResult::dropped(sched::DropReason::QueueFull);
    }
    if (queue_.size() >= threshold_ && sched::ecn_set_ce(*pkt)) ++marked;
    queue_.push_back(pkt);
    note_queued(pkt);
    return sched::EnqueueResult::queued();
  }
  sched::DequeueResult do_dequeue(uint64_t) override {
    sched::Packet* pkt = queue_.pop_front();
    if (pkt) note_unqueued(pkt);
    return sched::DequeueResult::of(pkt);
  }
  void do_reset() override {
    while (sched::Packet* pkt = queue_.pop_front()) {
      note_unqueued(pkt);
      drop(pkt, sched::DropReason::Reset);
    }
  }

 private:
  sched::PacketQueue queue_;
  uint32_t threshold_;
  uint32_t limit_;
};

// A FIFO that paces its output at rate_bps (EDT): dequeue answers Throttled until the head
// packet's departure time, so the link must rely on the watchdog.
class PacedFifo final : public sched::Qdisc {
 public:
  explicit PacedFifo(uint64_t rate_bps) : Qdisc("pacedfifo", {}), rate_bps_(rate_bps) {}
  ~PacedFifo() override { reset(); }
  uint64_t throttled = 0;

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t) override {
    if (queue_.size() >= 1000) {
      drop(pkt, sched::DropReason::QueueFull);
      return sched::EnqueueResult::dropped(sched::DropReason::QueueFull);
    }
    queue_.push_back(pkt);
    note_queued(pkt);
    return sched::EnqueueResult::queued();
  }
  sched::DequeueResult do_dequeue(uint64_t now) override {
    sched::Packet* head = queue_.front();
    if (!head) return sched::DequeueResult::empty();
    if (now < next_departure_) {
      ++throttled;
      ++mutable_stats().overlimits;
      return sched::DequeueResult::throttled(next_departure_);
    }
    queue_.pop_front();
    note_unqueued(head);
    next_departure_ = std::max(next_departure_, now) + uint64_t{head->len()} * 8'000'000'000 / rate_bps_;
    return sched::DequeueResult::of(head);
  }
  void do_reset() override {
    while (sched::Packet* pkt = queue_.pop_front()) {
      note_unqueued(pkt);
      drop(pkt, sched::DropReason::Reset);
    }
  }

 private:
  sched::PacketQueue queue_;
  uint64_t rate_bps_;
  uint64_t next_departure_ = 0;
};

// A FIFO that drops the n-th .. (n+count-1)-th packets it is offered: deterministic losses.
class DropRangeFifo final : public sched::Qdisc {
 public:
  DropRangeFifo(uint64_t first, uint64_t count) : Qdisc("droprange", {}), first_(first), count_(count) {}
  ~DropRangeFifo() override { reset(); }

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t) override {
    uint64_t index = offered_++;
    if (index >= first_ && index < first_ + count_) {
      drop(pkt, sched::DropReason::ProgramVerdict);
      return sched::EnqueueResult::dropped(sched::DropReason::ProgramVerdict);
    }
    queue_.push_back(pkt);
    note_queued(pkt);
    return sched::EnqueueResult::queued();
  }
  sched::DequeueResult do_dequeue(uint64_t) override {
    sched::Packet* pkt = queue_.pop_front();
    if (pkt) note_unqueued(pkt);
    return sched::DequeueResult::of(pkt);
  }
  void do_reset() override {
    while (sched::Packet* pkt = queue_.pop_front()) {
      note_unqueued(pkt);
      drop(pkt, sched::DropReason::Reset);
    }
  }

 private:
  sched::PacketQueue queue_;
  uint64_t first_, count_, offered_ = 0;
};

inline Scenario one_link(uint64_t rate_bps, uint64_t rtt_ns, uint64_t duration_ns) {
  Scenario s;
  s.name = "test";
  s.rate_bps = rate_bps;
  s.rtt_ns = rtt_ns;
  s.duration_ns = duration_ns;
  return s;
}

inline TcpFlowSpec tcp_flow(std::string name, CongestionControl cc, uint64_t bytes = 0, uint64_t start_ns = 0) {
  TcpFlowSpec f;
  f.name = std::move(name);
  f.cc = cc;
  f.bytes = bytes;
  f.start_ns = start_ns;
  return f;
}

}  // namespace bpfq::io::sim::test
