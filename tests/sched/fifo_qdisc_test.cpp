#include <bpfq/sched/fifo_qdisc.hpp>

#include <gtest/gtest.h>

#include <vector>

#include "sched_test_util.hpp"

namespace bpfq::sched {
namespace {

using test::drain_marks;
using test::make_packet;

TEST(PfifoQdisc, DefaultLimitsComeFromTheDevice) {
  EXPECT_EQ(PfifoQdisc().limit(), 1000u);
  EXPECT_EQ(PfifoQdisc(std::nullopt, {}, {.tx_queue_len = 0}).limit(), 1u);
  EXPECT_EQ(PfifoQdisc(7).limit(), 7u);
  EXPECT_EQ(BfifoQdisc().limit(), 1000u * 1514);
  EXPECT_EQ(BfifoQdisc(std::nullopt, {}, {.tx_queue_len = 10, .mtu = 9000}).limit(), 10u * 9014);
  EXPECT_EQ(PfifoHeadDropQdisc().limit(), 1000u);
  EXPECT_EQ(PfifoQdisc().kind(), "pfifo");
  EXPECT_EQ(BfifoQdisc().kind(), "bfifo");
  EXPECT_EQ(PfifoHeadDropQdisc().kind(), "pfifo_head_drop");
  EXPECT_EQ(PfifoQdisc(1, Handle::make(1, 0)).handle().to_string(), "1:");
}

TEST(PfifoQdisc, FifoOrderAndTailDropAtTheLimit) {
  PacketPool pool({.packets = 16});
  PfifoQdisc q(3);
  std::vector<EnqueueResult> results;
  for (uint32_t i = 1; i <= 5; ++i) {
    Packet* p = make_packet(pool, 100 + i, i);
    results.push_back(q.enqueue(p, 1000 * i));
    EXPECT_TRUE(q.stats().conserved()) << i;
    if (i <= 3) {
      EXPECT_EQ(p->enqueue_ns, 1000u * i);
    }
  }
  EXPECT_EQ(results[0], EnqueueResult::queued());
  EXPECT_EQ(results[2], EnqueueResult::queued());
  EXPECT_EQ(results[3], EnqueueResult::dropped(DropReason::QueueFull));
  EXPECT_EQ(results[4].net_xmit(), kNetXmitDrop);
  EXPECT_EQ(results[0].net_xmit(), kNetXmitSuccess);
  const QdiscStats& s = q.stats();
  EXPECT_EQ(s.enqueued_packets, 5u);
  EXPECT_EQ(s.enqueued_bytes, 101u + 102 + 103 + 104 + 105);
  EXPECT_EQ(s.qlen, 3u);
  EXPECT_EQ(s.backlog, 101u + 102 + 103);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.dropped_bytes, 104u + 105);
  EXPECT_EQ(s.drops(DropReason::QueueFull), 2u);
  EXPECT_EQ(pool.in_use(), 3u);  // the dropped packets went back to the pool

  EXPECT_EQ(q.peek(0)->skb.mark, 1u);
  EXPECT_EQ(q.qlen(), 3u);
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(s.sent_packets, 3u);
  EXPECT_EQ(s.sent_bytes, 101u + 102 + 103);
  EXPECT_EQ(s.qlen, 0u);
  EXPECT_EQ(s.backlog, 0u);
  EXPECT_EQ(q.dequeue(0).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(q.peek(0), nullptr);
  EXPECT_TRUE(s.conserved());
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(s.to_tc_string(),
            " Sent 306 bytes 3 pkt (dropped 2, overlimits 0 requeues 0)\n backlog 0b 0p requeues 0");
}

TEST(PfifoQdisc, InterleavedOperationsConserve) {
  PacketPool pool({.packets = 64});
  PfifoQdisc q(4);
  std::vector<uint32_t> sent;
  uint32_t mark = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 3; ++i) {
      q.enqueue(make_packet(pool, 60, ++mark), 0);
      ASSERT_TRUE(q.stats().conserved());
    }
    DequeueResult r = q.dequeue(0);
    ASSERT_TRUE(q.stats().conserved());
    ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
    sent.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(q.qlen(), 3u);  // each round: fill to the limit of 4, send one
  // Order of what was sent is arrival order of what was accepted.
  for (size_t i = 1; i < sent.size(); ++i) EXPECT_LT(sent[i - 1], sent[i]);
  EXPECT_EQ(q.stats().enqueued_packets, 60u);
  EXPECT_EQ(q.stats().sent_packets + q.stats().dropped + q.qlen(), 60u);
  EXPECT_EQ(q.stats().sent_packets, 20u);
  EXPECT_EQ(q.stats().dropped, 37u);  // 0 in round 1, 1 in round 2, then 2 per round
  EXPECT_EQ(pool.in_use(), 3u);
}

TEST(BfifoQdisc, ByteLimitIsInclusive) {
  PacketPool pool({.packets = 8});
  BfifoQdisc q(250);
  EXPECT_EQ(q.enqueue(make_packet(pool, 100, 1), 0), EnqueueResult::queued());
  EXPECT_EQ(q.enqueue(make_packet(pool, 100, 2), 0), EnqueueResult::queued());
  EXPECT_EQ(q.enqueue(make_packet(pool, 100, 3), 0), EnqueueResult::dropped(DropReason::QueueFull));
  EXPECT_EQ(q.backlog(), 200u);
  EXPECT_EQ(q.enqueue(make_packet(pool, 50, 4), 0), EnqueueResult::queued());  // 250 <= 250
  EXPECT_EQ(q.enqueue(make_packet(pool, 60, 5), 0), EnqueueResult::dropped(DropReason::QueueFull));
  EXPECT_EQ(q.backlog(), 250u);
  EXPECT_EQ(q.stats().dropped_bytes, 160u);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(q.stats().sent_bytes, 250u);
}

TEST(PfifoHeadDropQdisc, DropsTheOldestAndSignalsCongestion) {
  PacketPool pool({.packets = 8});
  PfifoHeadDropQdisc q(2);
  q.enqueue(make_packet(pool, 100, 1), 0);
  q.enqueue(make_packet(pool, 100, 2), 0);
  const EnqueueResult r = q.enqueue(make_packet(pool, 120, 3), 0);
  EXPECT_EQ(r, EnqueueResult::congested(DropReason::Congestion));
  EXPECT_EQ(r.net_xmit(), kNetXmitCn);
  EXPECT_EQ(q.qlen(), 2u);
  EXPECT_EQ(q.backlog(), 220u);
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 1u);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{2, 3}));

  PfifoHeadDropQdisc zero(0);
  EXPECT_EQ(zero.enqueue(make_packet(pool, 100, 9), 0), EnqueueResult::dropped(DropReason::QueueFull));
  EXPECT_TRUE(zero.stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FifoQdisc, ResetReleasesAndCountsEveryPacket) {
  PacketPool pool({.packets = 8});
  PfifoQdisc q(10);
  for (uint32_t i = 0; i < 5; ++i) q.enqueue(make_packet(pool, 80, i), 0);
  PacketPool::release(q.dequeue(0).packet);
  q.peek(0);
  q.reset();
  const QdiscStats& s = q.stats();
  EXPECT_EQ(s.qlen, 0u);
  EXPECT_EQ(s.backlog, 0u);
  EXPECT_EQ(s.drops(DropReason::Reset), 4u);
  EXPECT_EQ(s.dropped, 4u);
  EXPECT_EQ(s.tc_dropped(), 0u);  // Linux would not show these as drops
  EXPECT_TRUE(s.conserved());
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(q.dequeue(0).kind, DequeueResult::Kind::Empty);
  // Still usable after a reset.
  EXPECT_EQ(q.enqueue(make_packet(pool, 80, 7), 0), EnqueueResult::queued());
  EXPECT_EQ(drain_marks(q), (std::vector<uint32_t>{7}));
}

TEST(FifoQdisc, SmallerLimitKeepsQueuedPackets) {
  PacketPool pool({.packets = 8});
  PfifoQdisc q(4);
  for (uint32_t i = 0; i < 4; ++i) q.enqueue(make_packet(pool, 60, i), 0);
  q.set_limit(2);
  EXPECT_EQ(q.qlen(), 4u);
  EXPECT_EQ(q.enqueue(make_packet(pool, 60, 9), 0).verdict, EnqueueVerdict::Dropped);
  PacketPool::release(q.dequeue(0).packet);
  PacketPool::release(q.dequeue(0).packet);
  PacketPool::release(q.dequeue(0).packet);
  EXPECT_EQ(q.enqueue(make_packet(pool, 60, 10), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_TRUE(q.stats().conserved());
}

TEST(FifoQdisc, DestructionReleasesQueuedPackets) {
  PacketPool pool({.packets = 8});
  {
    BfifoQdisc q;
    for (uint32_t i = 0; i < 6; ++i) q.enqueue(make_packet(pool, 200, i), 0);
    q.peek(0);
    EXPECT_EQ(pool.in_use(), 6u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched
