// progs/stfq.bpf.c against Start-time Fair Queueing (Goyal, Vin, Cheng, SIGCOMM 1996): start tag
// S = max(v, F_flow), finish F = S + len/w, smallest start tag first, v = the start tag of the
// packet in service (the largest finish tag served when a busy period starts); weights from
// flow_weight[skb->priority]; weighted shares of a long backlogged script within 2 %.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include <bpfq/error.hpp>

#include "qdiscs/flow_fixture.hpp"

namespace bpfq::sched::test {
namespace {

class Stfq : public ::testing::Test, public WeightedFairFixture {
 public:
  std::unique_ptr<BpfQdisc> open_stfq(uint32_t limit, std::initializer_list<std::pair<uint32_t, uint32_t>> weights = {}) {
    return open_weighted("stfq", limit, weights);
  }
};

TEST_F(Stfq, Defaults) {
  auto q = open(library_object("stfq"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u);
  EXPECT_EQ(q->object().get_global<uint32_t>("weight"), 1u);
  q->init();
  expect_clean_end(q);
}

TEST_F(Stfq, BadParametersAreRefused) {
  for (auto [limit, weight] : {std::pair<uint32_t, uint32_t>{0, 1}, {65536, 1}, {10, 0}}) {
    auto q = open(library_object("stfq"));
    q->object().set_global<uint32_t>("limit", limit);
    q->object().set_global<uint32_t>("weight", weight);
    EXPECT_THROW(q->init(), Error) << limit << " " << weight;
  }
}

// Weights 1 (priority 1) and 2 (priority 2), 1000-byte packets, all queued at v = 0:
// A: S 0, 1, 2 (in kTag); B: S 0, 0.5, 1. Smallest start tag first, arrival order on ties.
TEST_F(Stfq, ServesByStartTag) {
  auto q = open_stfq(100, {{1, 1}, {2, 2}});
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i, 1), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 13; ++i) EXPECT_EQ(offer(*q, 2, i, 2), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 11, 12, 2, 13, 3}));
  EXPECT_EQ(global64(*q, "vtime"), 2 * kTag);       // A3's start tag
  EXPECT_EQ(global64(*q, "max_finish"), 3 * kTag);  // A3's finish tag
  expect_clean_empty(q);
}

// A flow arriving in the middle of a busy period starts at v (the start tag of the packet in
// service), not at 0: it gets no credit for the time it was idle. A busy period that starts on
// an empty qdisc starts at the largest finish tag served.
TEST_F(Stfq, VirtualTimeIsTheStartTagInService) {
  auto q = open_stfq(100);
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);  // S 0 1 2 3
  EXPECT_EQ(dequeue_mark(*q), 1u);
  EXPECT_EQ(dequeue_mark(*q), 2u);
  EXPECT_EQ(global64(*q, "vtime"), kTag);
  EXPECT_EQ(offer(*q, 2, 11), EnqueueVerdict::Queued);  // S = v = 1
  EXPECT_EQ(offer(*q, 2, 12), EnqueueVerdict::Queued);  // S = 2
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 3, 12, 4}));
  EXPECT_EQ(global64(*q, "max_finish"), 4 * kTag);
  EXPECT_EQ(offer(*q, 3, 21), EnqueueVerdict::Queued);  // new busy period: v = 4
  EXPECT_EQ(global64(*q, "vtime"), 4 * kTag);
  EXPECT_EQ(offer(*q, 2, 13), EnqueueVerdict::Queued);  // flow 2's F (3) < v: S = 4, after 21
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{21, 13}));
  EXPECT_EQ(global64(*q, "max_finish"), 5 * kTag);
  expect_clean_empty(q);
}

TEST_F(Stfq, FullDropsTheArrival) {
  auto q = open_stfq(2);
  EXPECT_EQ(offer(*q, 1, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 2), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3, 3), EnqueueVerdict::Dropped);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
  expect_clean_empty(q);
}

TEST_F(Stfq, ResetReleasesEverything) {
  auto q = open_stfq(10, {{1, 3}});
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, i, i, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(*q), 1u);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(global64(*q, "vtime"), 0u);
  EXPECT_EQ(global64(*q, "max_finish"), 0u);
  // The weights are configuration: kept. Weight 3 (priority 1) against 1: 3 packets of flow 1
  // (S 0, 1/3, 2/3) before flow 2's second (S 1).
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 1, i, 1), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 12; ++i) EXPECT_EQ(offer(*q, 2, i, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 11, 2, 3, 4, 12}));
  expect_clean_empty(q);
}

// Three flows of weights 1:2:4, always backlogged (each dequeue is answered by a new packet of the
// same flow), random lengths 64..1500: the bytes each flow sends are within 2 % of its share.
TEST_F(Stfq, WeightedSharesOverALongBackloggedScript) {
  auto q = open_stfq(1000, {{1, 1}, {2, 2}, {3, 4}});
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
