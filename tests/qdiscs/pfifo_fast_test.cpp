// progs/pfifo_fast.bpf.c against Linux's pfifo_fast (sch_generic.c): the priomap over
// skb->priority & TC_PRIO_MAX, strict priority of band 0 over 1 over 2, a per-band limit, and
// the same behaviour as the native twin (src/sched/pfifo_fast_qdisc.cpp) on a random script.
#include <gtest/gtest.h>

#include <random>

#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class PfifoFast : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_pfifo_fast(uint32_t limit) {
    return open_init<uint32_t>(library_object("pfifo_fast"), {{"limit", limit}});
  }
};

TEST_F(PfifoFast, DefaultLimitIsTxQueueLen) {
  auto q = open(library_object("pfifo_fast"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u);
}

TEST_F(PfifoFast, PriomapBandsAndPerBandTailDrop) {
  auto q = open_pfifo_fast(2);
  // priority -> band by 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1: 0 -> 1, 2 -> 2, 6 -> 0, 7 -> 0, 1 -> 2,
  // 3 -> 2, 0x10006 & 15 = 6 -> 0. Each band holds 2 packets.
  struct Arrival {
    uint32_t mark, priority;
    EnqueueVerdict verdict;
  };
  using V = EnqueueVerdict;
  const Arrival arrivals[] = {
      {1, 0, V::Queued},         // band 1: [1]
      {2, 2, V::Queued},         // band 2: [2]
      {3, 6, V::Queued},         // band 0: [3]
      {4, 0, V::Queued},         // band 1: [1 4]
      {5, 4, V::Dropped},        // band 1 full
      {6, 7, V::Queued},         // band 0: [3 6]
      {7, 6, V::Dropped},        // band 0 full
      {8, 1, V::Queued},         // band 2: [2 8]
      {9, 3, V::Dropped},        // band 2 full
      {10, 0x10006, V::Dropped}, // band 0 (only the low 4 bits count), full
  };
  for (const Arrival& a : arrivals)
    EXPECT_EQ(q->enqueue(packet(100, a.mark, a.priority), 0).verdict, a.verdict) << "mark " << a.mark;
  EXPECT_EQ(q->qlen(), 6u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 4u);
  // Band 0 empties first, then band 1, then band 2; a band freed of one packet takes one more.
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 3u);
  PacketPool::release(r.packet);
  EXPECT_EQ(q->enqueue(packet(100, 11, 6), 0).verdict, V::Queued);  // band 0: [6 11]
  EXPECT_EQ(q->enqueue(packet(100, 12, 6), 0).verdict, V::Dropped);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6, 11, 1, 4, 2, 8}));
  EXPECT_EQ(q->stats().sent_packets, 7u);
  EXPECT_EQ(q->stats().dropped, 5u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PfifoFast, ResetEmptiesEveryBandAndItsCount) {
  auto q = open_pfifo_fast(1);
  EXPECT_EQ(q->enqueue(packet(100, 1, 6), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(100, 2, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(100, 3, 0), 0).verdict, EnqueueVerdict::Dropped);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 2u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(q->enqueue(packet(100, 4, 0), 0).verdict, EnqueueVerdict::Queued);  // band 1 has room again
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4}));
  expect_clean(*q);
}

// The same random script through the program and the native pfifo_fast with the same band
// limit: identical verdicts at every step and identical dequeue order.
TEST_F(PfifoFast, MatchesTheNativePfifoFastOnARandomScript) {
  constexpr uint32_t kLimit = 5;
  auto q = open_pfifo_fast(kLimit);
  PfifoFastQdisc native(Handle::make(2, 0), DeviceParams{.tx_queue_len = kLimit});
  std::mt19937 rng(42);
  std::vector<uint32_t> sent_bpf, sent_native;
  std::vector<EnqueueVerdict> verdicts_bpf, verdicts_native;
  for (uint32_t step = 0; step < 4000; ++step) {
    if (rng() % 8 < 5) {
      const uint32_t priority = rng() % 32;  // bit 4 must be masked off
      const uint32_t len = 60 + rng() % 200;
      verdicts_bpf.push_back(q->enqueue(packet(len, step, priority), 0).verdict);
      verdicts_native.push_back(native.enqueue(packet(len, step, priority), 0).verdict);
    } else {
      ASSERT_NO_FATAL_FAILURE(dequeue_twins(*q, native, sent_bpf, sent_native)) << "step " << step;
    }
    ASSERT_EQ(q->qlen(), native.qlen()) << "step " << step;
  }
  EXPECT_EQ(verdicts_bpf, verdicts_native);
  EXPECT_EQ(sent_bpf, sent_native);
  EXPECT_GT(q->stats().dropped, 100u);  // the script keeps the bands near their limit
  EXPECT_EQ(q->stats().dropped, native.stats().dropped);
  EXPECT_EQ(q->backlog(), native.backlog());
  EXPECT_EQ(drain(*q), drain(native));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
