#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>


#include "sched_test_util.hpp"
#include "support/error_of.hpp"

namespace bpfq::sched {
namespace {

using test::drain_marks;
using test::make_packet;

TEST(PfifoFastQdisc, PriomapOfLinux) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  const int expected[16] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  for (uint32_t prio = 0; prio < 16; ++prio) {
    p->skb.priority = prio;
    EXPECT_EQ(PfifoFastQdisc::band_of(*p), expected[prio]) << prio;
    p->skb.priority = prio | 0x10010;  // only priority & TC_PRIO_MAX counts
    EXPECT_EQ(PfifoFastQdisc::band_of(*p), expected[prio]) << prio;
  }
  PacketPool::release(p);
}

TEST(PfifoFastQdisc, LowestBandFirstFifoWithinBands) {
  PacketPool pool({.packets = 32});
  PfifoFastQdisc q;
  EXPECT_EQ(q.kind(), "pfifo_fast");
  EXPECT_EQ(q.band_limit(), 1000u);
  // mark = arrival number; priority -> band: 0->1, 1->2, 4->1, 6->0, 7->0, 2->2.
  const uint32_t prios[] = {0, 1, 6, 4, 2, 7, 0, 1};
  uint32_t mark = 0;
  for (uint32_t prio : prios) {
    EXPECT_EQ(q.enqueue(make_packet(pool, 64, ++mark, prio), 0), EnqueueResult::queued());
    EXPECT_TRUE(q.stats().conserved());
  }
  EXPECT_EQ(q.band_qlen(0), 2u);
  EXPECT_EQ(q.band_qlen(1), 3u);
  EXPECT_EQ(q.band_qlen(2), 3u);
  EXPECT_EQ(q.qlen(), 8u);
  EXPECT_EQ(q.peek(0)->skb.mark, 3u);
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{3, 6, 1, 4, 7, 2, 5, 8}));
  EXPECT_EQ(q.stats().sent_packets, 8u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(PfifoFastQdisc, AHigherBandArrivingLaterOvertakes) {
  PacketPool pool({.packets = 8});
  PfifoFastQdisc q;
  q.enqueue(make_packet(pool, 64, 1, 1), 0);  // band 2
  PacketPool::release(q.dequeue(0).packet);
  q.enqueue(make_packet(pool, 64, 2, 0), 0);  // band 1
  q.enqueue(make_packet(pool, 64, 3, 6), 0);  // band 0
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{3, 2}));
}

TEST(PfifoFastQdisc, EachBandHoldsTxQueueLenPackets) {
  PacketPool pool({.packets = 16});
  PfifoFastQdisc q({}, {.tx_queue_len = 2});
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 1, 1), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 2, 1), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 3, 1), 0), EnqueueResult::dropped(DropReason::QueueFull));
  // Band 2 is full, bands 0 and 1 still accept.
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 4, 6), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 5, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 6, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q.enqueue(make_packet(pool, 64, 7, 0), 0).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q.qlen(), 5u);
  EXPECT_EQ(q.backlog(), 5u * 64);
  EXPECT_EQ(q.stats().drops(DropReason::QueueFull), 2u);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{4, 5, 6, 1, 2}));
}

TEST(PfifoFastQdisc, ResetAndZeroTxQueueLen) {
  PacketPool pool({.packets = 8});
  PfifoFastQdisc q;
  for (uint32_t i = 0; i < 6; ++i) q.enqueue(make_packet(pool, 64, i, i), 0);
  q.reset();
  EXPECT_EQ(q.qlen(), 0u);
  EXPECT_EQ(q.band_qlen(0) + q.band_qlen(1) + q.band_qlen(2), 0u);
  EXPECT_EQ(q.stats().drops(DropReason::Reset), 6u);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(bpfq::test::error_of([] { PfifoFastQdisc bad({}, {.tx_queue_len = 0}); }).reason(),
            "pfifo_fast needs a device tx_queue_len above 0");
}

}  // namespace
}  // namespace bpfq::sched
