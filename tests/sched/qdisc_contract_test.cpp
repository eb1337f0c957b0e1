// The accounting the Qdisc base class does for every implementation: peek through a held slot,
// requeue, throttling, verdict codes, conservation.
#include <bpfq/sched/qdisc.hpp>

#include <gtest/gtest.h>

#include <vector>

#include <bpfq/sched/fifo_qdisc.hpp>

#include "sched_test_util.hpp"

namespace bpfq::sched {
namespace {

using test::make_packet;

// A qdisc without its own peek that releases packets only from time `open_at_ns` on, like a
// shaper: the default peek has to dequeue into the held slot.
class GateQdisc : public Qdisc {
 public:
  explicit GateQdisc(uint64_t open_at_ns) : Qdisc("gate", Handle::make(1, 0)), open_at_(open_at_ns) {}
  ~GateQdisc() override { reset(); }
  int dequeue_calls = 0;

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t) override {
    if (pkt->skb.mark == 666) {
      drop(pkt, DropReason::ProgramVerdict);
      return EnqueueResult::dropped(DropReason::ProgramVerdict);
    }
    if (pkt->skb.mark == 777) {
      drop(pkt, DropReason::Bypass);
      return EnqueueResult::bypass();
    }
    queue_tail(queue_, pkt);
    return EnqueueResult::queued();
  }
  DequeueResult do_dequeue(uint64_t now_ns) override {
    ++dequeue_calls;
    if (queue_.empty()) return DequeueResult::empty();
    if (now_ns < open_at_) {
      ++mutable_stats().overlimits;
      return DequeueResult::throttled(open_at_);
    }
    return DequeueResult::of(unqueue_head(queue_));
  }
  void do_reset() override { drop_queue(queue_, DropReason::Reset); }

 private:
  PacketQueue queue_;
  uint64_t open_at_;
};

TEST(QdiscContract, ThrottledDequeueSaysUntilWhen) {
  PacketPool pool({.packets = 4});
  GateQdisc q(5000);
  q.enqueue(make_packet(pool, 100, 1), 0);
  DequeueResult r = q.dequeue(1000);
  EXPECT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, 5000u);
  EXPECT_EQ(r.packet, nullptr);
  EXPECT_EQ(q.stats().overlimits, 1u);
  EXPECT_EQ(q.peek(2000), nullptr);  // throttled: nothing to peek
  EXPECT_EQ(q.qlen(), 1u);
  r = q.dequeue(5000);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 1u);
  PacketPool::release(r.packet);
  EXPECT_TRUE(q.stats().conserved());
}

TEST(QdiscContract, DefaultPeekDequeuesIntoTheHeldSlot) {
  PacketPool pool({.packets = 4});
  GateQdisc q(0);
  q.enqueue(make_packet(pool, 100, 1), 0);
  q.enqueue(make_packet(pool, 200, 2), 0);
  const Packet* head = q.peek(0);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->skb.mark, 1u);
  EXPECT_EQ(q.dequeue_calls, 1);
  EXPECT_EQ(q.peek(0), head);  // the held packet, no second dequeue
  EXPECT_EQ(q.dequeue_calls, 1);
  EXPECT_EQ(q.qlen(), 2u);      // still counted while held
  EXPECT_EQ(q.backlog(), 300u);
  EXPECT_EQ(q.stats().sent_packets, 0u);
  EXPECT_TRUE(q.stats().conserved());
  DequeueResult r = q.dequeue(0);
  EXPECT_EQ(r.packet, head);
  EXPECT_EQ(q.dequeue_calls, 1);
  EXPECT_EQ(q.stats().sent_packets, 1u);
  EXPECT_EQ(q.stats().sent_bytes, 100u);
  EXPECT_TRUE(q.stats().conserved());
  PacketPool::release(r.packet);
}

TEST(QdiscContract, RequeuedPacketGoesOutFirstAndIsSentOnce) {
  PacketPool pool({.packets = 4});
  PfifoQdisc q(10);
  q.enqueue(make_packet(pool, 100, 1), 0);
  q.enqueue(make_packet(pool, 100, 2), 0);
  DequeueResult r = q.dequeue(0);
  ASSERT_EQ(r.packet->skb.mark, 1u);
  q.requeue(r.packet);  // the device was busy
  EXPECT_EQ(q.stats().requeues, 1u);
  EXPECT_EQ(q.stats().sent_packets, 0u);
  EXPECT_EQ(q.qlen(), 2u);
  EXPECT_EQ(q.backlog(), 200u);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(q.peek(0)->skb.mark, 1u);
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(q.stats().sent_packets, 2u);
  EXPECT_EQ(q.stats().sent_bytes, 200u);
  EXPECT_EQ(q.stats().to_tc_string(),
            " Sent 200 bytes 2 pkt (dropped 0, overlimits 0 requeues 1)\n backlog 0b 0p requeues 1");
}

TEST(QdiscContract, ResetReleasesHeldPacketsToo) {
  PacketPool pool({.packets = 4});
  GateQdisc q(0);
  q.enqueue(make_packet(pool, 100, 1), 0);
  q.enqueue(make_packet(pool, 100, 2), 0);
  q.peek(0);
  q.reset();
  EXPECT_EQ(q.stats().drops(DropReason::Reset), 2u);
  EXPECT_EQ(q.qlen(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(q.stats().conserved());
}

TEST(QdiscContract, VerdictsMapToNetXmitCodes) {
  EXPECT_EQ(EnqueueResult::queued().net_xmit(), 0);
  EXPECT_EQ(EnqueueResult::dropped(DropReason::QueueFull).net_xmit(), 1);
  EXPECT_EQ(EnqueueResult::congested().net_xmit(), 2);
  EXPECT_EQ(EnqueueResult::bypass().net_xmit(), 0x00020000);
  EXPECT_EQ(EnqueueResult::stolen().net_xmit(), 0x00010000);
  EXPECT_EQ(drop_reason_name(DropReason::OutOfRangeVerdict), "out_of_range_verdict");
  EXPECT_EQ(drop_reason_name(DropReason::LeakedReference), "leaked_reference");
}

TEST(QdiscContract, EveryDropReasonIsCountedOnce) {
  PacketPool pool({.packets = 8});
  GateQdisc q(0);
  EXPECT_EQ(q.enqueue(make_packet(pool, 100, 666), 0), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(q.enqueue(make_packet(pool, 50, 777), 0), EnqueueResult::bypass());
  q.enqueue(make_packet(pool, 70, 1), 0);
  const QdiscStats& s = q.stats();
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.dropped_bytes, 150u);
  EXPECT_EQ(s.drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(s.drops(DropReason::Bypass), 1u);
  EXPECT_EQ(s.tc_dropped(), 1u);
  EXPECT_TRUE(s.conserved());
  // A corrupted counter is caught.
  QdiscStats broken = s;
  ++broken.drops_by_reason[0];
  EXPECT_FALSE(broken.conserved());
  broken = s;
  ++broken.backlog;
  EXPECT_FALSE(broken.conserved());
  EXPECT_EQ(pool.in_use(), 1u);
}

}  // namespace
}  // namespace bpfq::sched
