// progs/pfifo.bpf.c (the seed's rbtree + kptr style) and progs/fifo.bpf.c (packet queue
// kfuncs) behave as Linux's pfifo: FIFO order, tail drop at `limit`, every packet accounted.
#include <gtest/gtest.h>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class LibraryFifo : public ::testing::TestWithParam<const char*>, public EngineFixture {};

TEST_P(LibraryFifo, KeepsArrivalOrderAndTailDropsAtTheLimit) {
  auto q = open(library_object(GetParam()));
  q->object().set_global("limit", uint32_t{3});
  q->init();
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 1; i <= 5; ++i) verdicts.push_back(q->enqueue(packet(60 + i, i), 0).verdict);
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Queued, EnqueueVerdict::Queued,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Dropped,
                                                   EnqueueVerdict::Dropped}));
  EXPECT_EQ(q->qlen(), 3u);
  EXPECT_EQ(q->backlog(), 61u + 62u + 63u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3}));
  // After draining, the limit counts from zero again.
  for (uint32_t i = 6; i <= 8; ++i) EXPECT_EQ(q->enqueue(packet(100, i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6, 7, 8}));
  EXPECT_EQ(q->counters().faults, 0u) << q->counters().last_fault;
  EXPECT_EQ(q->counters().leaked_refs, 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_P(LibraryFifo, InterleavedTrafficStaysInOrderOverManyPackets) {
  auto q = open(library_object(GetParam()));
  q->init();
  std::vector<uint32_t> sent, expected;
  uint32_t next = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 3; ++i) {
      expected.push_back(next);
      q->enqueue(packet(100, next++), 0);
    }
    for (int i = 0; i < 2; ++i) {
      DequeueResult r = q->dequeue(0);
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
      sent.push_back(r.packet->skb.mark);
      PacketPool::release(r.packet);
    }
  }
  for (uint32_t m : drain(*q)) sent.push_back(m);
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(q->counters().faults, 0u) << q->counters().last_fault;
}

INSTANTIATE_TEST_SUITE_P(Programs, LibraryFifo, ::testing::Values("pfifo", "fifo"));

}  // namespace
}  // namespace bpfq::sched::test
