// progs/mq_rbtree.bpf.c, the seed's way of being multi-queue: one program, an RBTREE per TX
// queue inside an ARRAY_OF_MAPS and the turns in an RBTREE_OF_MAPS. The setup gives it the
// device's queues; it must put each packet on the queue Linux picks for its flow hash and send
// exactly what an mq root with a FIFO per queue sends, in the same order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>

#include "mq_test_util.hpp"

namespace bpfq::tc::test {
namespace {

uint32_t tx_qlen(sched::BpfQdisc& q, uint32_t queue) {
  uint32_t v = 0;
  EXPECT_EQ(q.object().map("tx_qlen").lookup_copy(&queue, &v), 0);
  return v;
}

class MqRbtree : public ::testing::Test {
 protected:
  MqSetup s;
  sched::BpfQdisc& program() { return dynamic_cast<sched::BpfQdisc&>(*s.built->device("eth0").root()); }
};

TEST_F(MqRbtree, GetsOneInnerRbtreePerTxQueueOfItsDevice) {
  s.apply("link add dev eth0 numtxqueues 6");
  s.apply("qdisc add dev eth0 root handle 1: mq_rbtree");
  s.build();
  sched::BpfQdisc& q = program();
  EXPECT_EQ(q.object().get_global<uint32_t>("num_tx_queues"), 6u);
  auto& outer = dynamic_cast<maps::MapOfMaps&>(q.object().map("tx_queues"));
  for (uint32_t i = 0; i < 6; ++i) EXPECT_NE(outer.inner(&i), nullptr) << i;
  const uint32_t seventh = 6;
  EXPECT_EQ(outer.inner(&seventh), nullptr);
}

TEST_F(MqRbtree, SpreadsFlowsAsSkbTxHash) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq_rbtree");
  s.build();
  sched::BpfQdisc& q = program();
  std::vector<uint32_t> want(4, 0);
  for (uint32_t flow = 0; flow < 64; ++flow) {
    sched::Packet* pkt = flow_packet(s.pool, flow);
    const uint32_t queue = linux_tx_queue(pkt->get_hash(), 4);
    ++want[queue];
    ASSERT_EQ(s.eth0().transmit(pkt, 0).verdict, sched::EnqueueVerdict::Queued);
    EXPECT_EQ(pkt->skb.queue_mapping, queue) << "flow " << flow;
  }
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(tx_qlen(q, i), want[i]) << "queue " << i;
    auto& outer = dynamic_cast<maps::MapOfMaps&>(q.object().map("tx_queues"));
    EXPECT_EQ(outer.inner(&i)->size(), want[i]);
  }
  EXPECT_EQ(q.object().map("active").size(), 4u) << "every queue is waiting for its turn";
  EXPECT_EQ(q.counters().faults, 0u);
}

// The same arrivals through mq_rbtree (eth0) and through an mq root with a 20-packet pfifo per
// TX queue (eth1): the same packets leave in the same order, the same are dropped.
TEST_F(MqRbtree, SendsWhatMqWithAFifoPerQueueSends) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("link add dev eth1 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq_rbtree limit 20");
  s.apply("qdisc add dev eth1 root handle 1: mq");
  for (int i = 1; i <= 4; ++i) s.apply("qdisc add dev eth1 parent 1:" + std::to_string(i) + " native_pfifo limit 20");
  s.build();
  sched::Device& seed = s.built->device("eth0");
  sched::Device& mq = s.built->device("eth1");
  std::vector<uint32_t> seed_order, mq_order;
  auto dequeue = [](sched::Device& dev, std::vector<uint32_t>& order) {
    const sched::DequeueResult r = dev.dequeue(0);
    if (!r.packet) return;
    order.push_back(r.packet->skb.mark);
    sched::PacketPool::release(r.packet);
  };
  // Bursts of uneven flows (so queues fill, overflow and empty), a dequeue after every third
  // arrival, then everything drains.
  for (uint32_t i = 0; i < 3000; ++i) {
    const uint32_t flow = (i * 7 + (i / 50) * 3) % 23;
    seed.transmit(flow_packet(s.pool, flow, 0, i), 0);
    mq.transmit(flow_packet(s.pool, flow, 0, i), 0);
    if (i % 3 == 0) {
      dequeue(seed, seed_order);
      dequeue(mq, mq_order);
    }
  }
  while (seed.root()->qlen() || mq.root()->qlen()) {
    const size_t before = seed_order.size() + mq_order.size();
    dequeue(seed, seed_order);
    dequeue(mq, mq_order);
    ASSERT_GT(seed_order.size() + mq_order.size(), before);
  }
  EXPECT_GT(seed_order.size(), 1000u);
  EXPECT_EQ(seed_order, mq_order);
  EXPECT_EQ(seed.root()->stats().dropped, mq.root()->stats().dropped);
  EXPECT_GT(seed.root()->stats().dropped, 0u) << "the 20-packet queues overflowed";
  EXPECT_TRUE(seed.root()->stats().conserved());
  EXPECT_EQ(program().counters().faults, 0u);
}

TEST_F(MqRbtree, KeepsItsQueuesAcrossAReset) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq_rbtree");
  s.build();
  for (uint32_t flow = 0; flow < 16; ++flow) s.eth0().transmit(flow_packet(s.pool, flow), 0);
  s.eth0().set_down();  // releases every packet, counted as reset drops
  EXPECT_EQ(s.pool.in_use(), 0u);
  EXPECT_EQ(program().stats().drops(sched::DropReason::Reset), 16u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(tx_qlen(program(), i), 0u);
  s.eth0().set_up();
  // The inner maps the setup installed are still there: packets queue and leave again.
  for (uint32_t flow = 0; flow < 16; ++flow)
    EXPECT_EQ(s.eth0().transmit(flow_packet(s.pool, flow), 0).verdict, sched::EnqueueVerdict::Queued);
  uint32_t sent = 0;
  while (sched::Packet* pkt = s.eth0().dequeue(0).packet) {
    ++sent;
    sched::PacketPool::release(pkt);
  }
  EXPECT_EQ(sent, 16u);
}

}  // namespace
}  // namespace bpfq::tc::test
