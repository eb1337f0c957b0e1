#pragma once
// Fixtures of the per-flow schedulers' tests (srpt, stfq, wf2q): flows are UDP source ports;
// the weighted fair ones take weights from the program's flow_weight map keyed by skb->priority.
#include <initializer_list>
#include <memory>
#include <utility>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kTag = 1000ull << 16;  // the tag of a 1000-byte packet at weight 1

class FlowFixture : public EngineFixture {
 public:
  // A UDP frame of `len` bytes of flow `flow` (its source port) with skb->priority = priority
  // (srpt's remaining size, the weighted schedulers' flow_weight key).
  Packet* flow_packet(uint32_t flow, uint32_t len, uint32_t mark, uint32_t priority) {
    FrameSpec spec;
    spec.payload_len = len - 42;
    spec.sport = static_cast<uint16_t>(2000 + flow);
    Packet* pkt = frame(spec, mark);
    pkt->skb.priority = priority;
    return pkt;
  }

  EnqueueVerdict offer(BpfQdisc& q, uint32_t flow, uint32_t mark, uint32_t priority = 0, uint32_t len = 1000) {
    clock.advance(kUs);
    const EnqueueVerdict v = q.enqueue(flow_packet(flow, len, mark, priority), clock.now_ns()).verdict;
    EXPECT_TRUE(q.stats().conserved());
    return v;
  }

  void expect_clean_empty(std::unique_ptr<BpfQdisc>& q) {
    const QdiscStats& s = q->stats();
    EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("qlen"), s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("backlog"), s.backlog);
    EXPECT_EQ(q->qlen(), 0u);
    expect_clean_end(q);
  }
};

class WeightedFairFixture : public FlowFixture {
 public:
  // The library program `name` with `limit` and flow_weight entries (priority, weight).
  std::unique_ptr<BpfQdisc> open_weighted(const char* name, uint32_t limit,
                                          std::initializer_list<std::pair<uint32_t, uint32_t>> weights) {
    auto q = open(library_object(name));
    q->object().set_global<uint32_t>("limit", limit);
    for (auto [prio, w] : weights) {
      uint32_t k = prio, v = w;
      EXPECT_EQ(q->object().map("flow_weight").update(&k, &v, BPF_ANY), 0);
    }
    q->init();
    return q;
  }

  static uint64_t global64(BpfQdisc& q, const char* name) { return q.object().get_global<uint64_t>(name); }
};

}  // namespace bpfq::sched::test
