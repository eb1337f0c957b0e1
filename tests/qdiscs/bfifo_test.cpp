// progs/bfifo.bpf.c against Linux's bfifo (sch_fifo.c): tail drop when backlog + the packet's
// length would exceed `limit` bytes, arrival order, byte accounting, reset.
#include <gtest/gtest.h>

#include <random>

#include <bpfq/sched/fifo_qdisc.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class Bfifo : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_bfifo(uint32_t limit) {
    return open_init<uint32_t>(library_object("bfifo"), {{"limit", limit}});
  }
};

TEST_F(Bfifo, DefaultLimitIsTxQueueLenTimesPschedMtu) {
  auto q = open(library_object("bfifo"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u * (1500 + 14));
}

TEST_F(Bfifo, DropsWhenBacklogPlusLengthExceedsTheLimit) {
  auto q = open_bfifo(300);
  // 100 -> backlog 100; 150 -> 250; 60 -> 310 > 300: drop; 50 -> 300 <= 300: queued (the limit
  // is inclusive); 60 -> 360: drop.
  const uint32_t lens[] = {100, 150, 60, 50, 60};
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 0; i < 5; ++i) verdicts.push_back(q->enqueue(packet(lens[i], i + 1), 0).verdict);
  using V = EnqueueVerdict;
  EXPECT_EQ(verdicts, (std::vector<V>{V::Queued, V::Queued, V::Dropped, V::Queued, V::Dropped}));
  EXPECT_EQ(q->qlen(), 3u);
  EXPECT_EQ(q->backlog(), 300u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(q->stats().dropped_bytes, 120u);
  // Sending the 100-byte head frees exactly 100 bytes: 100 fits again, 101 does not.
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 1u);
  PacketPool::release(r.packet);
  EXPECT_EQ(q->enqueue(packet(101, 6), 0).verdict, V::Dropped);
  EXPECT_EQ(q->enqueue(packet(100, 7), 0).verdict, V::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2, 4, 7}));
  EXPECT_EQ(q->stats().sent_packets, 4u);
  EXPECT_EQ(q->stats().sent_bytes, 100u + 150 + 50 + 100);
  EXPECT_EQ(q->stats().dropped, 3u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Bfifo, ResetReleasesEverythingAndForgetsTheBacklog) {
  auto q = open_bfifo(300);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(q->enqueue(packet(100, i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(60, 4), 0).verdict, EnqueueVerdict::Dropped);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  // The program's byte count went back to 0 with its maps: 300 bytes fit again.
  for (uint32_t i = 5; i <= 7; ++i) EXPECT_EQ(q->enqueue(packet(100, i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5, 6, 7}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

// The same random arrivals and departures through the program and through the native bfifo
// (src/sched/fifo_qdisc.cpp): identical verdicts, dequeue order and byte counts.
TEST_F(Bfifo, MatchesTheNativeBfifoOnARandomScript) {
  auto q = open_bfifo(4000);
  BfifoQdisc native(4000);
  std::mt19937 rng(7);
  std::vector<uint32_t> sent_bpf, sent_native;
  for (uint32_t step = 0; step < 3000; ++step) {
    if (rng() % 5 < 3) {
      const uint32_t len = 60 + rng() % 1455;
      const EnqueueVerdict a = q->enqueue(packet(len, step), 0).verdict;
      const EnqueueVerdict b = native.enqueue(packet(len, step), 0).verdict;
      ASSERT_EQ(a, b) << "step " << step;
    } else {
      ASSERT_NO_FATAL_FAILURE(dequeue_twins(*q, native, sent_bpf, sent_native)) << "step " << step;
    }
    ASSERT_EQ(q->backlog(), native.backlog()) << "step " << step;
  }
  EXPECT_EQ(sent_bpf, sent_native);
  EXPECT_GT(q->stats().dropped, 0u);  // the script does reach the limit
  EXPECT_EQ(q->stats().dropped, native.stats().dropped);
  EXPECT_EQ(drain(*q), drain(native));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
