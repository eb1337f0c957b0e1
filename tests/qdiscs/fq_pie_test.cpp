// progs/fq_pie.bpf.c behaves as Linux's sch_fq_pie: fq_codel's flows and deficit round robin
// (new flows before old ones, an empty new flow passes through the old list once), with a PIE
// controller per flow: each flow's probability comes from its own queueing delay, its early
// drops and ECN marks (below ecn_prob percent) only hit that flow; `limit` tail-drops; the
// parameters Linux refuses are refused. Probability values are computed by hand from pie.h as in
// pie_test.cpp (psched ticks of 64 ns; MAX_PROB = 2^56 - 1).
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include <bpfq/runtime/prng.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kMaxProb = ~uint64_t{0} >> 8;

// Mirror of the program's struct flow (96 bytes), to read flow_table.
struct FlowMirror {
  uint32_t head, tail, next, list;
  int32_t deficit;
  uint32_t backlog, qlen, pad;
  uint64_t qdelay, qdelay_old, burst_time, dq_tstamp, prob, accu_prob, dq_count;
  uint32_t avg_dq_rate, backlog_old;
};
static_assert(sizeof(FlowMirror) == 96);

class FqPie : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open(library_object("fq_pie"));

  // A frame of frame_len bytes steered to `flow` by skb->priority 1:flow+1 (Linux's way to pick
  // a flow of the qdisc with handle 1:), ECN codepoint ecn.
  Packet* flow_packet(uint32_t flow, uint32_t frame_len, uint32_t mark, uint8_t ecn = 0) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.ecn = ecn;
    Packet* pkt = frame(spec, mark);
    pkt->skb.priority = 0x00010000u | (flow + 1);
    return pkt;
  }
  EnqueueVerdict enqueue(uint32_t flow, uint32_t len, uint32_t mark, uint8_t ecn = 0) {
    return q->enqueue(flow_packet(flow, len, mark, ecn), clock.now_ns()).verdict;
  }
  uint32_t global(const char* name) { return q->object().get_global<uint32_t>(name); }
  FlowMirror flow(uint32_t idx) {
    std::vector<FlowMirror> table(65536);
    q->object().get_global("flow_table", std::span<uint8_t>(reinterpret_cast<uint8_t*>(table.data()),
                                                            table.size() * sizeof(FlowMirror)));
    return table[idx];
  }
  void expect_clean_end() {
    EXPECT_EQ(global("qlen"), 0u);
    EXPECT_EQ(global("backlog"), 0u);
    EXPECT_EQ(global("memory_usage"), 0u);
    EngineFixture::expect_clean_end(q);
  }
};

// As fq_codel's DRR (quantum 1514, 1000-byte packets; deficit after each send in brackets):
//   new [A,B]: A 11 (514), 12 (-486) -> 1028, A to old;  B 21, 22 likewise   old [A,B]
//   A 13, 14 -> 542;  B 23, 24 -> 542;  A 15 -> 1056;  B 25 -> 1056;  A 16;  B 26.
TEST_F(FqPie, TwoFlowsInterleaveByDeficitRoundRobin) {
  q->init();
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(0, 1000, 10 + i), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(1, 1000, 20 + i), EnqueueVerdict::Queued);
  EXPECT_EQ(global("new_flow_count"), 2u);
  EXPECT_EQ(global("new_flows_len"), 2u);
  EXPECT_EQ(global("packets_in"), 12u);
  EXPECT_EQ(global("memory_usage"), 12000u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 21, 22, 13, 14, 23, 24, 15, 25, 16, 26}));
  EXPECT_EQ(global("new_flows_len"), 0u);
  EXPECT_EQ(global("old_flows_len"), 0u);
  expect_clean_end();
}

// Each flow has its own controller: flow 0 sees 40 ms of delay, flow 1 none; at the first
// update (500 ms after init) only flow 0's probability rises, by the same steps as pie_test's
// DropProbabilityAfterEachTupdate.
TEST_F(FqPie, ProbabilityPerFlowAfterEachTupdate) {
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(enqueue(0, 1000, i), EnqueueVerdict::Queued);
  ASSERT_EQ(enqueue(1, 1000, 100), EnqueueVerdict::Queued);
  clock.set(t0 + 40 * kMs);
  EXPECT_EQ(dequeue_mark(*q), 0u);  // flow 0 first (new list order)
  EXPECT_EQ(flow(0).qdelay, 625000u);
  EXPECT_EQ(flow(1).qdelay, 0u);
  clock.set(t0 + 500 * kMs - 1);
  ASSERT_EQ(enqueue(2, 100, 200), EnqueueVerdict::Queued);
  EXPECT_EQ(flow(0).prob, 0u);
  clock.set(t0 + 500 * kMs);
  ASSERT_EQ(enqueue(2, 100, 201), EnqueueVerdict::Queued);
  EXPECT_EQ(flow(0).prob, 1869168906250u);
  EXPECT_EQ(flow(0).qdelay_old, 625000u);
  EXPECT_EQ(flow(1).prob, 0u);
  EXPECT_EQ(flow(2).prob, 0u);
  clock.set(t0 + 515 * kMs - 1);
  ASSERT_EQ(enqueue(2, 100, 202), EnqueueVerdict::Queued);
  EXPECT_EQ(flow(0).prob, 1869168906250u);
  clock.set(t0 + 515 * kMs);
  EXPECT_EQ(dequeue_mark(*q), 1u);  // the timer also runs at dequeue, before it
  EXPECT_EQ(flow(0).prob, 1869168906250u + 1759218359375u);
  EXPECT_EQ(flow(1).prob, 0u);
  EXPECT_EQ(global("dropped"), 0u);
  drain(*q);
  expect_clean_end();
}

// Early drops (or, with ecn, CE marks while prob <= ecn_prob %) hit only the delayed flow:
// flow 0's probability becomes pie_test's 1463340013102308 (about 2%); flow 1, still within its
// burst allowance, loses nothing and draws no random numbers.
class FqPieEarly : public FqPie, public ::testing::WithParamInterface<bool> {};

TEST_P(FqPieEarly, OnlyTheDelayedFlowIsDroppedOrMarked) {
  const bool ecn = GetParam();
  runtime::Prng prng{14};
  env.prng = &prng;
  q = open(library_object("fq_pie"));
  q->object().set_global("ecn", uint32_t{ecn});
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 20; ++i) ASSERT_EQ(enqueue(0, 1000, i, 2), EnqueueVerdict::Queued);
  clock.set(t0 + 300 * kMs);
  dequeue_mark(*q);
  clock.set(t0 + 460 * kMs);
  dequeue_mark(*q);  // 160 ms since the previous dequeue: flow 0's burst allowance is gone
  EXPECT_EQ(flow(0).burst_time, 0u);
  clock.set(t0 + 500 * kMs);
  const uint64_t prob = 1463340013102308u;
  const uint64_t low = (kMaxProb / 100) * 85;
  runtime::Prng same{14};
  uint32_t early = 0, lost0 = 0, lost1 = 0;
  uint64_t accu = 0;
  for (uint32_t k = 1; k <= 60; ++k) {
    EnqueueVerdict v0 = enqueue(0, 1000, 100 + k, 2);
    if (k == 1) {
      EXPECT_EQ(flow(0).prob, prob);
    }
    accu += prob;
    bool drop = false;
    if (accu >= low) {
      uint64_t rnd = uint64_t{same.next_u32()} << 32;
      rnd |= same.next_u32();
      drop = (rnd >> 8) < prob;
    }
    if (drop) {
      accu = 0;
      ++early;
    }
    if (v0 != EnqueueVerdict::Queued) ++lost0;
    EXPECT_EQ(v0, drop && !ecn ? EnqueueVerdict::Dropped : EnqueueVerdict::Queued) << k;
    if (enqueue(1, 1000, 200 + k, 2) != EnqueueVerdict::Queued) ++lost1;
  }
  ASSERT_GT(early, 0u);
  EXPECT_EQ(lost1, 0u);
  EXPECT_EQ(lost0, ecn ? 0u : early);
  EXPECT_EQ(global("dropped"), ecn ? 0u : early);
  EXPECT_EQ(global("ecn_mark"), ecn ? early : 0u);
  drain(*q);
  expect_clean_end();
}

INSTANTIATE_TEST_SUITE_P(Ecn, FqPieEarly, ::testing::Bool());

// ecn_prob bounds the marking: with ecn_prob 1 (%), flow 0's 2% probability drops even ECT packets.
TEST_F(FqPie, EcnProbBoundsMarking) {
  runtime::Prng prng{14};
  env.prng = &prng;
  q = open(library_object("fq_pie"));
  q->object().set_global("ecn", uint32_t{1});
  q->object().set_global("ecn_prob", uint32_t{1});
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 20; ++i) ASSERT_EQ(enqueue(0, 1000, i, 2), EnqueueVerdict::Queued);
  clock.set(t0 + 300 * kMs);
  dequeue_mark(*q);
  clock.set(t0 + 460 * kMs);
  dequeue_mark(*q);
  clock.set(t0 + 500 * kMs);
  for (uint32_t k = 1; k <= 60; ++k) enqueue(0, 1000, 100 + k, 2);
  EXPECT_EQ(global("ecn_mark"), 0u);
  EXPECT_GT(global("dropped"), 0u);
  EXPECT_EQ(q->stats().dropped, global("dropped"));
  drain(*q);
  expect_clean_end();
}

// limit is the qdisc's packet count over all flows: the arrival beyond it is dropped.
TEST_F(FqPie, LimitTailDrops) {
  q->object().set_global("limit", uint32_t{5});
  q->init();
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(enqueue(i % 2, 500, i), EnqueueVerdict::Queued);
  EXPECT_EQ(enqueue(2, 500, 9), EnqueueVerdict::Dropped);
  EXPECT_EQ(global("overlimit"), 1u);
  EXPECT_EQ(global("dropped"), 1u);
  EXPECT_EQ(q->stats().dropped, 1u);
  EXPECT_EQ(dequeue_mark(*q), 0u);
  EXPECT_EQ(enqueue(2, 500, 10), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q).size(), 5u);
  expect_clean_end();
}

// memory_limit is only counted (overmemory), never enforced, as in Linux.
TEST_F(FqPie, MemoryLimitIsCountedNotEnforced) {
  q->object().set_global("memory_limit", uint32_t{1000});
  q->init();
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(enqueue(0, 1000, i), EnqueueVerdict::Queued);
  // usage before each arrival: 0, 1000, 2000, 3000; counted when above 1000 + 1000.
  EXPECT_EQ(global("overmemory"), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2, 3}));
  expect_clean_end();
}

TEST_F(FqPie, RefusesWhatLinuxRefuses) {
  const std::vector<std::pair<const char*, uint32_t>> refused{
      {"flows", 0u}, {"flows", 65537u}, {"quantum", 0u}, {"quantum", (1u << 20) + 1}};
  for (const auto& [name, value] : refused) {
    auto bad = open(library_object("fq_pie"));
    bad->object().set_global(name, uint32_t{value});
    EXPECT_THROW(bad->init(), Error) << name << " " << value;
  }
  auto ok = open(library_object("fq_pie"));
  ok->object().set_global("flows", uint32_t{65536});
  EXPECT_NO_THROW(ok->init());
}

// A random script (4 flows, random sizes, arrivals and departures at one instant so no early
// drop can happen) against a model of Linux's DRR over new and old flow lists.
TEST_F(FqPie, RandomScriptMatchesDrrModel) {
  q->object().set_global("quantum", uint32_t{600});
  q->init();
  struct MFlow {
    std::deque<std::pair<uint32_t, uint32_t>> pkts;  // mark, len
    int32_t deficit = 0;
    bool listed = false;
  };
  std::vector<MFlow> m(4);
  std::deque<uint32_t> newl, oldl;
  uint32_t new_flow_count = 0;
  auto model_dequeue = [&]() -> uint32_t {
    for (;;) {
      std::deque<uint32_t>* head = !newl.empty() ? &newl : !oldl.empty() ? &oldl : nullptr;
      if (!head) return ~0u;
      uint32_t i = head->front();
      MFlow& f = m[i];
      if (f.deficit <= 0) {
        f.deficit += 600;
        head->pop_front();
        oldl.push_back(i);
        continue;
      }
      if (f.pkts.empty()) {
        const bool was_new = head == &newl;
        head->pop_front();
        if (was_new && !oldl.empty()) {
          oldl.push_back(i);
        } else {
          f.listed = false;
        }
        continue;
      }
      auto [mark, len] = f.pkts.front();
      f.pkts.pop_front();
      f.deficit -= len;
      return mark;
    }
  };
  runtime::Prng rnd{7};
  uint32_t mark = 0;
  for (int step = 0; step < 400; ++step) {
    if (rnd.next_u32() % 5 < 3) {
      const uint32_t fl = rnd.next_u32() % 4;
      const uint32_t len = 60 + rnd.next_u32() % 1455;
      ASSERT_EQ(enqueue(fl, len, ++mark), EnqueueVerdict::Queued);
      m[fl].pkts.push_back({mark, len});
      if (!m[fl].listed) {
        m[fl].listed = true;
        m[fl].deficit = 600;
        newl.push_back(fl);
        ++new_flow_count;
      }
    } else {
      const uint32_t want = model_dequeue();
      DequeueResult r = q->dequeue(clock.now_ns());
      if (want == ~0u) {
        ASSERT_NE(r.kind, DequeueResult::Kind::Packet) << step;
        continue;
      }
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << step;
      EXPECT_EQ(r.packet->skb.mark, want) << step;
      PacketPool::release(r.packet);
    }
    ASSERT_TRUE(q->stats().conserved());
  }
  EXPECT_EQ(global("new_flow_count"), new_flow_count);
  std::vector<uint32_t> rest;
  for (uint32_t w; (w = model_dequeue()) != ~0u;) rest.push_back(w);
  EXPECT_EQ(drain(*q), rest);
  expect_clean_end();
}

}  // namespace
}  // namespace bpfq::sched::test
