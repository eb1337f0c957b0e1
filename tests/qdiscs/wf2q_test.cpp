// progs/wf2q.bpf.c against WF2Q+ (Bennett, Zhang, SIGCOMM 1996 / ToN 1997): only eligible flows
// (S <= V) are served, smallest F first; V = max(V + W, min S) with W the bytes served over the
// backlogged weight; weights from flow_weight[skb->priority]; weighted shares within 2 %.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include <bpfq/error.hpp>

#include "qdiscs/flow_fixture.hpp"

namespace bpfq::sched::test {
namespace {

class Wf2q : public ::testing::Test, public WeightedFairFixture {
 public:
  std::unique_ptr<BpfQdisc> open_wf2q(uint32_t limit, std::initializer_list<std::pair<uint32_t, uint32_t>> weights = {}) {
    return open_weighted("wf2q", limit, weights);
  }
};

TEST_F(Wf2q, Defaults) {
  auto q = open(library_object("wf2q"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u);
  EXPECT_EQ(q->object().get_global<uint32_t>("weight"), 1u);
  q->init();
  expect_clean_end(q);
}

TEST_F(Wf2q, BadParametersAreRefused) {
  for (auto [limit, weight] : {std::pair<uint32_t, uint32_t>{0, 1}, {65536, 1}, {10, 0}}) {
    auto q = open(library_object("wf2q"));
    q->object().set_global<uint32_t>("limit", limit);
    q->object().set_global<uint32_t>("weight", weight);
    EXPECT_THROW(q->init(), Error) << limit << " " << weight;
  }
}

// Flow A weight 3 (4 packets), flow B weight 1 (2 packets), 1000 bytes, all queued at V = 0;
// a = kTag / 3. A: S 0, a, 2a, 3a; B: S 0, kTag. V grows by kTag / 4 per packet while both are
// backlogged. Smallest finish first would send A1 A2 A3 (F = 3a < kTag) before B1; WF2Q+ sends
// B1 second because A2 (S = a) is not eligible at V = kTag / 4.
TEST_F(Wf2q, ServesOnlyEligibleFlows) {
  auto q = open_wf2q(100, {{1, 3}});
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 1, i, 1), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 12; ++i) EXPECT_EQ(offer(*q, 2, i, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(global64(*q, "weight_sum"), 4u);
  EXPECT_EQ(dequeue_mark(*q), 1u);
  EXPECT_EQ(global64(*q, "vtime"), kTag / 4);
  EXPECT_EQ(dequeue_mark(*q), 11u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2, 3, 4, 12}));
  EXPECT_EQ(global64(*q, "vtime"), 5 * kTag / 4 + kTag);  // the last packet alone: W / 1
  EXPECT_EQ(global64(*q, "weight_sum"), 0u);
  expect_clean_empty(q);
}

// A flow that comes back after emptying starts at max(its old F, V), a new flow at V: flow 1
// leaves with F = kTag at V = kTag / 2 and comes back (S = kTag, not eligible), so flow 3, new
// at V (S = kTag / 2), goes before it although it arrived later.
TEST_F(Wf2q, ReturningFlowKeepsItsFinishTag) {
  auto q = open_wf2q(100);
  EXPECT_EQ(offer(*q, 1, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 11), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(*q), 1u);
  EXPECT_EQ(global64(*q, "vtime"), kTag / 2);
  EXPECT_EQ(offer(*q, 1, 2), EnqueueVerdict::Queued);   // S = max(kTag, kTag / 2)
  EXPECT_EQ(offer(*q, 3, 21), EnqueueVerdict::Queued);  // S = kTag / 2
  EXPECT_EQ(dequeue_mark(*q), 11u);
  EXPECT_EQ(global64(*q, "vtime"), kTag / 2 + kTag / 3);  // three flows backlogged
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{21, 2}));
  expect_clean_empty(q);
}

TEST_F(Wf2q, FullDropsTheArrival) {
  auto q = open_wf2q(2);
  EXPECT_EQ(offer(*q, 1, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 2), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3, 3), EnqueueVerdict::Dropped);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
  expect_clean_empty(q);
}

TEST_F(Wf2q, ResetReleasesEverything) {
  auto q = open_wf2q(10, {{1, 3}});
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, i, i, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(*q), 1u);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(global64(*q, "vtime"), 0u);
  EXPECT_EQ(global64(*q, "weight_sum"), 0u);
  // The weights are kept: the same script as ServesOnlyEligibleFlows.
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 1, i, 1), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 12; ++i) EXPECT_EQ(offer(*q, 2, i, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 11, 2, 3, 4, 12}));
  expect_clean_empty(q);
}

// Three flows of weights 1:2:4, always backlogged (each dequeue is answered by a new packet of the
// same flow), random lengths 64..1500: the bytes each flow sends are within 2 % of its share.
TEST_F(Wf2q, WeightedSharesOverALongBackloggedScript) {
  auto q = open_wf2q(1000, {{1, 1}, {2, 2}, {3, 4}});
  std::mt19937 rng(5);
  auto len = [&] { return 64 + rng() % 1437; };
  for (uint32_t flow = 1; flow <= 3; ++flow)
    for (int i = 0; i < 20; ++i) ASSERT_EQ(offer(*q, flow, flow, flow, len()), EnqueueVerdict::Queued);
  std::array<uint64_t, 4> bytes{};
  for (int step = 0; step < 7000; ++step) {
    DequeueResult r = q->dequeue(clock.now_ns());
    ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
    const uint32_t flow = r.packet->skb.mark;
    ASSERT_GE(flow, 1u);
    ASSERT_LE(flow, 3u);
    bytes[flow] += r.packet->skb.wire_len;
    PacketPool::release(r.packet);
    ASSERT_EQ(offer(*q, flow, flow, flow, len()), EnqueueVerdict::Queued);
  }
  const double total = static_cast<double>(bytes[1] + bytes[2] + bytes[3]);
  EXPECT_NEAR(bytes[1] / total, 1.0 / 7, 0.02 / 7);
  EXPECT_NEAR(bytes[2] / total, 2.0 / 7, 0.02 * 2 / 7);
  EXPECT_NEAR(bytes[3] / total, 4.0 / 7, 0.02 * 4 / 7);
  // Unweighted work done per weight agrees too: W1/1 ~ W2/2 ~ W3/4.
  EXPECT_NEAR(static_cast<double>(bytes[2]) / 2 / bytes[1], 1.0, 0.02);
  EXPECT_NEAR(static_cast<double>(bytes[3]) / 4 / bytes[1], 1.0, 0.02);
  q->reset();
  expect_clean_empty(q);
}

}  // namespace
}  // namespace bpfq::sched::test
