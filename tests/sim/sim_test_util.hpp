#pragma once
// Helpers shared by the simulator tests: runs over pfifo and small test-only qdiscs.
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <vector>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/byte_order.hpp>
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

// The test qdiscs below are FIFOs (sched::FifoQdisc's queue, dequeue and reset) that differ in
// what they admit; reject() drops the offered packet for reason.
class TestFifo : public sched::FifoQdisc {
 protected:
  TestFifo(std::string_view kind, uint32_t limit) : FifoQdisc(kind, {}, limit) {}
  sched::EnqueueResult reject(sched::Packet* pkt, sched::DropReason reason) {
    drop(pkt, reason);
    return sched::EnqueueResult::dropped(reason);
  }
};

// A FIFO that marks CE on ECN-capable packets while more than `threshold` packets wait (a
// step-marking queue, as DCTCP's), and tail-drops at `limit`.
class MarkingFifo final : public TestFifo {
 public:
  MarkingFifo(uint32_t threshold, uint32_t limit) : TestFifo("markfifo", limit), threshold_(threshold) {}
  uint64_t marked = 0;

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t) override {
    if (queue_.size() >= limit_) return reject(pkt, sched::DropReason::QueueFull);
    if (queue_.size() >= threshold_ && sched::ecn_set_ce(*pkt)) ++marked;
    return enqueue_tail(pkt);
  }

 private:
  uint32_t threshold_;
};

// A FIFO that paces its output at rate_bps (EDT): dequeue answers Throttled until the head
// packet's departure time, so the link must rely on the watchdog.
class PacedFifo final : public TestFifo {
 public:
  explicit PacedFifo(uint64_t rate_bps) : TestFifo("pacedfifo", 1000), rate_bps_(rate_bps) {}
  uint64_t throttled = 0;

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t) override {
    if (queue_.size() >= limit_) return reject(pkt, sched::DropReason::QueueFull);
    return enqueue_tail(pkt);
  }
  sched::DequeueResult do_dequeue(uint64_t now) override {
    const sched::Packet* head = queue_.front();
    if (!head) return sched::DequeueResult::empty();
    if (now < next_departure_) {
      ++throttled;
      ++mutable_stats().overlimits;
      return sched::DequeueResult::throttled(next_departure_);
    }
    next_departure_ = std::max(next_departure_, now) + uint64_t{head->len()} * 8'000'000'000 / rate_bps_;
    return FifoQdisc::do_dequeue(now);
  }
  // A peek must respect the pacing too: Qdisc's default dequeues into its held slot.
  const sched::Packet* do_peek(uint64_t now) override { return Qdisc::do_peek(now); }

 private:
  uint64_t rate_bps_;
  uint64_t next_departure_ = 0;
};

// A FIFO that drops the n-th .. (n+count-1)-th packets it is offered: deterministic losses.
// It remembers when each packet was offered and its IPv4 identification (a TCP sender's
// segment number), so tests can tell when a segment was sent again.
class DropRangeFifo final : public TestFifo {
 public:
  DropRangeFifo(uint64_t first, uint64_t count)
      : TestFifo("droprange", std::numeric_limits<uint32_t>::max()), first_(first), count_(count) {}
  struct Offer {
    uint64_t ns;
    uint16_t ip_id;
  };
  std::vector<Offer> offers;

 protected:
  sched::EnqueueResult do_enqueue(sched::Packet* pkt, uint64_t now) override {
    offers.push_back({now, sched::load_be16(pkt->data() + 14 + 4)});
    uint64_t index = offered_++;
    if (index >= first_ && index < first_ + count_) return reject(pkt, sched::DropReason::ProgramVerdict);
    return enqueue_tail(pkt);
  }

 private:
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
