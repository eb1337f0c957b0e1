// mq and mqprio as a user writes them: a device with several TX queues, one child qdisc per
// queue, packets on the queue Linux would pick for their flow hash (and priority, for mqprio),
// per-queue counters summed for the root, children replaced through `parent 1:N`, and what tc
// refuses refused with the line and the reason.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/pfifo_fast_qdisc.hpp>
#include <bpfq/tc/qdisc_kind.hpp>

#include "mq_test_util.hpp"

namespace bpfq::tc::test {
namespace {

using sched::DequeueResult;
using sched::Handle;

TEST(TxQueueMap, PicksAsSkbTxHash) {
  const sched::TxQueueMap mq = sched::TxQueueMap::plain(4);
  for (const uint32_t hash : {1u, 0x3fffffffu, 0x40000000u, 0x7fffffffu, 0x80000000u, 0xbfffffffu, 0xc0000000u, 0xffffffffu})
    EXPECT_EQ(mq.pick(hash, 0), linux_tx_queue(hash, 4)) << hash;
  EXPECT_EQ(mq.pick(0x40000000u, 0), 1u);
  EXPECT_EQ(mq.pick(0xffffffffu, 7), 3u);  // no traffic classes: the priority does not matter

  sched::TxQueueMap prio = sched::TxQueueMap::plain(8);
  prio.num_tc = 3;
  prio.prio_tc_map = {0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  prio.tc_to_txq[0] = {2, 0};
  prio.tc_to_txq[1] = {2, 2};
  prio.tc_to_txq[2] = {4, 4};
  EXPECT_EQ(prio.invalid(), "");
  for (const uint32_t hash : {1u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    EXPECT_EQ(prio.pick(hash, 0), linux_tx_queue(hash, 2, 0));
    EXPECT_EQ(prio.pick(hash, 3), linux_tx_queue(hash, 2, 2));
    EXPECT_EQ(prio.pick(hash, 5), linux_tx_queue(hash, 4, 4));
    EXPECT_EQ(prio.pick(hash, 5 + 16), linux_tx_queue(hash, 4, 4));  // priority & TC_BITMASK
  }
}

TEST(TxQueueMap, RefusesWhatMqprioRefuses) {
  sched::TxQueueMap m = sched::TxQueueMap::plain(4);
  m.num_tc = 2;
  m.tc_to_txq[0] = {2, 0};
  m.tc_to_txq[1] = {2, 2};
  EXPECT_EQ(m.invalid(), "");
  m.prio_tc_map[3] = 2;
  EXPECT_EQ(m.invalid(), "map sends priority 3 to traffic class 2, but num_tc is 2");
  m.prio_tc_map[3] = 1;
  m.tc_to_txq[1] = {3, 2};
  EXPECT_EQ(m.invalid(), "queues 3@2 of traffic class 1 exceed the 4 TX queues of the device");
  m.tc_to_txq[1] = {2, 1};
  EXPECT_EQ(m.invalid(), "queues 2@0 of traffic class 0 overlap queues 2@1 of traffic class 1");
  m.tc_to_txq[1] = {0, 3};
  EXPECT_EQ(m.invalid(), "no queues for traffic class 1");
}

class Mq : public ::testing::Test {
 protected:
  MqSetup s;
};

TEST_F(Mq, OneDefaultChildPerTxQueueAtClasses1ToN) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq");
  s.build();
  sched::MqQdisc& mq = s.root();
  EXPECT_EQ(mq.kind(), "mq");
  ASSERT_EQ(mq.num_tx_queues(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(mq.tx_queue(i).kind(), "pfifo_fast") << "Linux's default qdisc";
    EXPECT_EQ(mq.tx_queue(i).parent(), Handle::make(1, static_cast<uint16_t>(i + 1)));
  }
  const SetupSnapshot snap = s.built->snapshot();
  ASSERT_EQ(snap.qdiscs.size(), 5u);
  EXPECT_EQ(snap.qdiscs[0].kind, "mq");
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(snap.qdiscs[i].kind, "native_pfifo_fast");
    EXPECT_TRUE(snap.qdiscs[i].is_default);
    EXPECT_EQ(snap.qdiscs[i].parent, Handle::make(1, static_cast<uint16_t>(i)));
  }
  ASSERT_EQ(snap.classes.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(snap.classes[i].classid, Handle::make(1, static_cast<uint16_t>(i + 1)));
    EXPECT_EQ(snap.classes[i].kind, "mq");
  }
}

TEST_F(Mq, EachFlowGoesToTheQueueLinuxPicksForItsHash) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq");
  s.build();
  sched::MqQdisc& mq = s.root();
  std::vector<uint32_t> want(4, 0);
  for (uint32_t flow = 0; flow < 64; ++flow) {
    sched::Packet* pkt = flow_packet(s.pool, flow);
    ASSERT_NE(pkt, nullptr);
    const uint32_t queue = linux_tx_queue(pkt->get_hash(), 4);
    ++want[queue];
    ASSERT_EQ(s.eth0().transmit(pkt, s.clock.now_ns()).verdict, sched::EnqueueVerdict::Queued);
    EXPECT_EQ(pkt->skb.queue_mapping, queue) << "flow " << flow;
  }
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(mq.tx_queue(i).qlen(), want[i]) << "queue " << i;
    EXPECT_GT(want[i], 0u) << "64 flows reach every queue";
  }
  // The same flow always lands on the same queue.
  for (uint32_t n = 0; n < 5; ++n) {
    sched::Packet* pkt = flow_packet(s.pool, 7);
    s.eth0().transmit(pkt, s.clock.now_ns());
  }
  sched::Packet* probe = flow_packet(s.pool, 7);
  const uint32_t q7 = linux_tx_queue(probe->get_hash(), 4);
  sched::PacketPool::release(probe);
  EXPECT_EQ(mq.tx_queue(q7).qlen(), want[q7] + 5);
}

TEST_F(Mq, DequeueServesTheNonEmptyQueuesRoundRobin) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq");
  s.build();
  // Three packets for each of three flows, on three different queues (found by their hash).
  std::map<uint32_t, uint32_t> flow_of_queue;
  for (uint32_t flow = 0; flow_of_queue.size() < 3 && flow < 1000; ++flow) {
    sched::Packet* pkt = flow_packet(s.pool, flow);
    const uint32_t q = linux_tx_queue(pkt->get_hash(), 4);
    sched::PacketPool::release(pkt);
    if (q != 2) flow_of_queue.emplace(q, flow);  // leave queue 2 empty
  }
  ASSERT_EQ(flow_of_queue.size(), 3u);
  for (uint32_t n = 0; n < 3; ++n)
    for (auto [q, flow] : flow_of_queue) s.eth0().transmit(flow_packet(s.pool, flow, 0, q << 8 | n), 0);
  std::vector<uint32_t> order;
  for (;;) {
    const DequeueResult r = s.eth0().dequeue(0);
    if (!r.packet) break;
    order.push_back(r.packet->skb.mark);
    sched::PacketPool::release(r.packet);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{0x000, 0x100, 0x300, 0x001, 0x101, 0x301, 0x002, 0x102, 0x302}));
}

TEST_F(Mq, RootCountsAreTheSumOfItsQueues) {
  s.apply("link add dev eth0 numtxqueues 3 txqueuelen 4");  // pfifo_fast bands of 4 packets
  s.apply("qdisc add dev eth0 root handle 1: mq");
  s.build();
  sched::MqQdisc& mq = s.root();
  for (uint32_t i = 0; i < 60; ++i) s.eth0().transmit(flow_packet(s.pool, i % 6), 0);
  for (uint32_t i = 0; i < 5; ++i) sched::PacketPool::release(s.eth0().dequeue(0).packet);
  const sched::QdiscStats sum = mq.children_stats();
  EXPECT_EQ(sum.enqueued_packets, 60u);
  EXPECT_EQ(sum.sent_packets, 5u);
  EXPECT_GT(sum.dropped, 0u) << "the queues overflowed";
  EXPECT_EQ(sum.dropped + sum.sent_packets + sum.qlen, 60u);
  EXPECT_TRUE(sum.conserved());
  // The root, which drove its children, counted the same.
  const sched::QdiscStats& root = mq.stats();
  EXPECT_EQ(root.enqueued_packets, sum.enqueued_packets);
  EXPECT_EQ(root.sent_packets, sum.sent_packets);
  EXPECT_EQ(root.dropped, sum.dropped);
  EXPECT_EQ(root.drops_by_reason, sum.drops_by_reason);
  EXPECT_EQ(root.qlen, sum.qlen);
  EXPECT_EQ(root.backlog, sum.backlog);
  EXPECT_TRUE(root.conserved());
  // tc -s: one row per queue, and the root's the sum of them.
  const SetupSnapshot snap = s.built->snapshot();
  sched::QdiscStats rows;
  for (size_t i = 1; i < snap.qdiscs.size(); ++i) {
    EXPECT_TRUE(snap.qdiscs[i].stats.conserved());
    rows.enqueued_packets += snap.qdiscs[i].stats.enqueued_packets;
    rows.sent_packets += snap.qdiscs[i].stats.sent_packets;
    rows.dropped += snap.qdiscs[i].stats.dropped;
    rows.qlen += snap.qdiscs[i].stats.qlen;
  }
  EXPECT_EQ(snap.qdiscs[0].stats.enqueued_packets, rows.enqueued_packets);
  EXPECT_EQ(snap.qdiscs[0].stats.sent_packets, rows.sent_packets);
  EXPECT_EQ(snap.qdiscs[0].stats.dropped, rows.dropped);
  EXPECT_EQ(snap.qdiscs[0].stats.qlen, rows.qlen);
  // A reset (device down) releases every queued packet, counted, at the root and its queues.
  s.eth0().set_down();
  EXPECT_EQ(mq.qlen(), 0u);
  EXPECT_TRUE(mq.stats().conserved());
  EXPECT_TRUE(mq.children_stats().conserved());
  EXPECT_EQ(s.pool.in_use(), 0u);
}

TEST_F(Mq, AChildIsReplacedThroughItsClass) {
  s.apply("link add dev eth0 numtxqueues 4");
  s.apply("qdisc add dev eth0 root handle 1: mq");
  s.apply("qdisc add dev eth0 parent 1:2 handle 20: native_pfifo limit 5");
  s.apply("qdisc add dev eth0 parent 1:3 fq_codel");
  s.build();
  sched::MqQdisc& mq = s.root();
  EXPECT_EQ(mq.tx_queue(0).kind(), "pfifo_fast");
  EXPECT_EQ(mq.tx_queue(1).kind(), "pfifo");
  EXPECT_EQ(mq.tx_queue(1).handle(), Handle::make(0x20, 0));
  EXPECT_EQ(static_cast<sched::FifoQdisc&>(mq.tx_queue(1)).limit(), 5u);
  EXPECT_EQ(mq.tx_queue(2).kind(), "bpf");
  EXPECT_EQ(mq.tx_queue(2).parent(), Handle::make(1, 3));
  EXPECT_EQ(mq.tx_queue(3).kind(), "pfifo_fast");
  // Queue 1's pfifo holds 5: a flow hashed there loses its sixth packet.
  uint32_t flow = 0;
  for (;; ++flow) {
    sched::Packet* pkt = flow_packet(s.pool, flow);
    const uint32_t q = linux_tx_queue(pkt->get_hash(), 4);
    sched::PacketPool::release(pkt);
    if (q == 1) break;
  }
  for (uint32_t n = 0; n < 6; ++n) s.eth0().transmit(flow_packet(s.pool, flow), 0);
  EXPECT_EQ(mq.tx_queue(1).qlen(), 5u);
  EXPECT_EQ(mq.tx_queue(1).stats().drops(sched::DropReason::QueueFull), 1u);
  const SetupSnapshot snap = s.built->snapshot();
  bool shown = false;
  for (const QdiscRow& row : snap.qdiscs)
    if (row.handle == Handle::make(0x20, 0)) {
      shown = true;
      EXPECT_EQ(row.kind, "native_pfifo");
      EXPECT_EQ(row.parent, Handle::make(1, 2));
      EXPECT_EQ(row.options, "limit 5p");
    }
  EXPECT_TRUE(shown);

  // replace puts another qdisc there; del brings the default back.
  s.apply("qdisc replace dev eth0 parent 1:2 native_bfifo limit 3000");
  s.build();
  EXPECT_EQ(s.root().tx_queue(1).kind(), "bfifo");
  EXPECT_EQ(s.root().tx_queue(1).handle(), Handle::make(0x20, 0)) << "replace keeps the handle";
  s.apply("qdisc del dev eth0 parent 1:2");
  s.build();
  EXPECT_EQ(s.root().tx_queue(1).kind(), "pfifo_fast");
  EXPECT_EQ(s.root().tx_queue(2).kind(), "bpf");
}

TEST_F(Mq, MqprioMapsPriorityToTrafficClassToQueueRange) {
  s.apply("link add dev eth0 numtxqueues 8");
  s.apply("qdisc add dev eth0 root handle 1: mqprio num_tc 3 map 0 0 1 1 2 2 queues 2@0 2@2 4@4 hw 0");
  s.build();
  sched::MqQdisc& mq = s.root();
  EXPECT_EQ(mq.kind(), "mqprio");
  ASSERT_EQ(mq.num_tx_queues(), 8u);
  const sched::TxQueueRange ranges[] = {{2, 0}, {2, 2}, {4, 4}};
  const uint32_t tc_of_prio[16] = {0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // unlisted: 0
  std::vector<uint32_t> want(8, 0);
  for (uint32_t prio = 0; prio < 16; ++prio)
    for (uint32_t flow = 0; flow < 40; ++flow) {
      sched::Packet* pkt = flow_packet(s.pool, flow, prio);
      const sched::TxQueueRange r = ranges[tc_of_prio[prio]];
      const uint32_t queue = linux_tx_queue(pkt->get_hash(), r.count, r.offset);
      ++want[queue];
      s.eth0().transmit(pkt, 0);
      EXPECT_EQ(pkt->skb.queue_mapping, queue) << "priority " << prio << " flow " << flow;
    }
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(mq.tx_queue(i).qlen(), want[i]) << "queue " << i;
    EXPECT_GT(want[i], 0u);
  }
  const SetupSnapshot snap = s.built->snapshot();
  EXPECT_EQ(snap.qdiscs[0].options, "tc 3 map 0 0 1 1 2 2 0 0 0 0 0 0 0 0 0 0 queues:(0:1) (2:3) (4:7)");
}

// The message a line gets, as the CLI prints it after "bpfq: error: ".
std::string error_of(MqSetup& s, const std::vector<std::string>& lines) {
  try {
    for (const std::string& l : lines) s.apply(l);
    s.build();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MqErrors, NameTheLineAndWhatIsWrong) {
  const std::string root4 = "link add dev eth0 numtxqueues 4";
  struct Case {
    std::vector<std::string> lines;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"qdisc add dev eth0 root handle 1: mq"},
       "setup.tc:1: mq needs a device with several TX queues; eth0 has 1 (hint: declare the device first: link add "
       "dev eth0 numtxqueues 4)"},
      {{"link add dev eth0 numtxqueues 0"}, "expected a number of TX queues (1 to 4096)"},
      {{"link add dev eth0 numtxqueues 5000"}, "a number of TX queues (1 to 4096)"},
      {{root4, "qdisc add dev eth0 root handle 1: mq limit 5"}, "expected the end of the line (mq takes no options)"},
      {{root4, "qdisc add dev eth0 root handle 1: prio", "qdisc add dev eth0 parent 1:1 handle 2: mq"},
       "setup.tc:1: mq goes only at the root of a device, not under class 1:1"},
      {{root4, "qdisc add dev eth0 root handle 1: mq", "qdisc add dev eth0 parent 1:5 native_pfifo"},
       "setup.tc:1: unknown parent 1:5: mq 1: has one class per TX queue of eth0, 1:1 to 1:4"},
      {{root4, "qdisc add dev eth0 root handle 1: mq", "class add dev eth0 parent 1: classid 1:9"},
       "qdisc 1: is mq, whose classes are the TX queues of eth0"},
      {{root4, "qdisc add dev eth0 root handle 1: mq", "filter add dev eth0 parent 1: prio 1 fw"},
       "qdisc 1: is mq, which runs no filters"},
      {{root4, "qdisc add dev eth0 root handle 1: mq", "qdisc add dev eth0 parent 1:1 handle 10: native_pfifo",
        "qdisc add dev eth0 parent 1:1 native_pfifo"},
       "class 1:1 already has qdisc 10:"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 2@2"},
       "mqprio hw 1 asks for hardware offload, which bpfq's devices do not have (hint: write hw 0"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 2@2 hw 0 mode channel"},
       "mqprio mode configures hardware offload"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 2@1 hw 0"},
       "setup.tc:1: mqprio: queues 2@0 of traffic class 0 overlap queues 2@1 of traffic class 1"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 3@2 hw 0"},
       "setup.tc:1: mqprio: queues 3@2 of traffic class 1 exceed the 4 TX queues of the device"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 2 queues 2@0 2@2 hw 0"},
       "setup.tc:1: mqprio: map sends priority 1 to traffic class 2, but num_tc is 2"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 1 map 0 queues 2@0 2@2 hw 0"},
       "2 queues COUNT@OFFSET pairs for num_tc 1"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 17 hw 0"}, "num_tc 17 is outside 1 to 16"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 2@x hw 0"},
       "COUNT@OFFSET (2@0: two queues from queue 0)"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 hw 0"},
       "setup.tc:1: mqprio: no queues for traffic class 0"},
      {{root4, "qdisc add dev eth0 root handle 1: mqprio num_tc 2 map 0 1 queues 2@0 2@2 hw 0 bands 3"},
       "expected num_tc, map, queues, hw or the end of the line"},
  };
  for (const Case& c : cases) {
    MqSetup s;
    const std::string got = error_of(s, c.lines);
    EXPECT_NE(got.find(c.message), std::string::npos) << c.lines.back() << "\n got: " << got << "\nwant: " << c.message;
    EXPECT_EQ(got.rfind("setup.tc:1", 0), 0u) << "the line comes first: " << got;
  }
}

TEST(MqErrors, AStructOpsQdiscMayBeATxQueues) {
  // Linux: "BPF qdisc only supported on root or mq" — under mq is fine, under prio is not.
  MqSetup s;
  s.apply("link add dev eth0 numtxqueues 2");
  s.apply("qdisc add dev eth0 root handle 1: mq");
  const std::string obj = std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/bpfq/fifo.bpf.o";
  s.apply("qdisc add dev eth0 parent 1:1 " + obj);
  s.build();
  EXPECT_EQ(s.root().tx_queue(0).kind(), "bpf");
}

TEST(MqKinds, AreRegisteredByName) {
  ASSERT_NE(find_qdisc_kind("mq"), nullptr);
  ASSERT_NE(find_qdisc_kind("mqprio"), nullptr);
  EXPECT_TRUE(find_qdisc_kind("mq")->tx_queue_classes);
  EXPECT_TRUE(find_qdisc_kind("mqprio")->tx_queue_classes);
  EXPECT_FALSE(find_qdisc_kind("bpf")->tx_queue_classes);
}

}  // namespace
}  // namespace bpfq::tc::test
