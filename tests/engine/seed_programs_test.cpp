// Qdiscs written the seed's way (progs/tests/engine_*.bpf.c), each asserting dequeue order,
// verdicts, stats and conservation: strict priority on an rbtree, per-flow round robin on an
// RBTREE_OF_MAPS, a classful prio classifying with the filters of another device, and device
// down with packets held in several kinds of maps at once.
#include <gtest/gtest.h>

#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/fw_filter.hpp>
#include <bpfq/sched/u32_filter.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

// ---- strict priority: rbtree keyed by priority << 32 | seq ----

struct BandStats {
  uint64_t enqueued, dropped, dequeued;
  bool operator==(const BandStats&) const = default;
};

class StrictPriority : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open(test_object("engine_strict_prio"));

  EnqueueResult send(uint32_t mark, uint32_t priority) { return q->enqueue(packet(100, mark, priority), 0); }
  BandStats band(uint32_t b) {
    BandStats s{};
    EXPECT_EQ(q->object().map("stats").lookup_copy(&b, &s), 0);
    return s;
  }
};

TEST_F(StrictPriority, LowerPriorityFirstArrivalOrderWithin) {
  const uint32_t priorities[] = {3, 1, 2, 1, 0, 3};
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(send(i, priorities[i]).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 6u);
  EXPECT_EQ(q->backlog(), 600u);
  EXPECT_EQ(q->object().map("queue").size(), 6u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 1, 3, 2, 0, 5}));
  EXPECT_EQ(band(1), (BandStats{2, 0, 2}));
  EXPECT_EQ(band(3), (BandStats{2, 0, 2}));
  EXPECT_EQ(q->stats().sent_packets, 6u);
  EXPECT_EQ(q->counters().leaked_refs, 0u);
  EXPECT_EQ(q->counters().faults, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(StrictPriority, InterleavedArrivalsNeverOvertakeAHigherPriority) {
  EXPECT_EQ(send(0, 2).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(1, 2).verdict, EnqueueVerdict::Queued);
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 0u);
  PacketPool::release(r.packet);
  EXPECT_EQ(send(2, 0).verdict, EnqueueVerdict::Queued);  // arrives later, leaves first
  EXPECT_EQ(send(3, 2).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2, 1, 3}));
}

TEST_F(StrictPriority, LimitAndBandsAreParameters) {
  q->object().set_global("limit", uint32_t{3});
  q->object().set_global("bands", uint32_t{2});  // priorities above 1 share band 1
  EXPECT_EQ(send(0, 7).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(1, 1).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(2, 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(3, 0), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(band(0), (BandStats{1, 1, 0}));
  EXPECT_EQ(band(1), (BandStats{2, 0, 0}));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2, 0, 1}));  // 7 and 1 share band 1: arrival order
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(q->stats().enqueued_packets, 4u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(StrictPriority, UserSpaceSeesQueuedPacketsMetadataInKeyOrder) {
  send(10, 1);
  send(11, 0);
  // What `bpftool map dump` would show: keys in memcmp order, values holding the packets.
  std::vector<uint32_t> priorities_seen;
  maps::Map& queue = q->object().map("queue");
  uint64_t key = 0, next = 0;
  const void* prev = nullptr;
  while (queue.get_next_key(prev, &next) == 0) {
    key = next;
    prev = &key;
    priorities_seen.push_back(static_cast<uint32_t>(__builtin_bswap64(key) >> 32));
  }
  EXPECT_EQ(priorities_seen, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 10}));
}

// ---- per-flow round robin: RBTREE_OF_MAPS of per-flow rbtrees ----

class FlowRoundRobin : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open(test_object("engine_flow_rr"));

  FlowRoundRobin() {
    // Programs cannot create maps: user space installs each flow's queue.
    auto& queues = dynamic_cast<maps::MapOfMaps&>(q->object().map("flow_queues"));
    for (uint32_t flow = 0; flow < 4; ++flow)
      EXPECT_EQ(queues.set_inner(&flow, q->object().create_inner_map("flow_queues")), 0);
  }

  EnqueueResult send(uint32_t flow, uint32_t n) { return q->enqueue(packet(100, flow << 16 | n), 0); }
  uint32_t flow_qlen(uint32_t flow) {
    uint32_t v = 0;
    EXPECT_EQ(q->object().map("flow_qlen").lookup_copy(&flow, &v), 0);
    return v;
  }
};

TEST_F(FlowRoundRobin, OnePacketPerFlowPerRound) {
  for (uint32_t n = 1; n <= 3; ++n) EXPECT_EQ(send(1, n).verdict, EnqueueVerdict::Queued);
  for (uint32_t n = 1; n <= 2; ++n) EXPECT_EQ(send(2, n).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(3, 1).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(flow_qlen(1), 3u);
  EXPECT_EQ(flow_qlen(2), 2u);
  EXPECT_EQ(flow_qlen(3), 1u);
  EXPECT_EQ(q->object().map("active_flows").size(), 3u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0x10001, 0x20001, 0x30001, 0x10002, 0x20002, 0x10003}));
  for (uint32_t flow = 0; flow < 4; ++flow) EXPECT_EQ(flow_qlen(flow), 0u);
  EXPECT_EQ(q->object().map("active_flows").size(), 0u);
  EXPECT_EQ(q->stats().sent_packets, 6u);
  EXPECT_EQ(q->counters().faults, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(FlowRoundRobin, ANewFlowJoinsAtTheEndOfTheRound) {
  for (uint32_t n = 1; n <= 3; ++n) send(1, n);
  for (uint32_t n = 1; n <= 2; ++n) send(2, n);
  send(3, 1);
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 0x10001u);
  PacketPool::release(r.packet);
  send(0, 1);  // flow 0 becomes active behind flow 1's next turn
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0x20001, 0x30001, 0x10002, 0x00001, 0x20002, 0x10003}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(FlowRoundRobin, PerFlowLimitDropsOnlyThatFlow) {
  q->object().set_global("limit", uint32_t{2});
  EXPECT_EQ(send(1, 1).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(1, 2).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(send(1, 3), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(send(2, 1).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0x10001, 0x20001, 0x10002}));
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_TRUE(q->stats().conserved());
}

TEST_F(FlowRoundRobin, ResetReleasesThePacketsOfEveryInnerMap) {
  for (uint32_t flow = 0; flow < 4; ++flow)
    for (uint32_t n = 1; n <= 2; ++n) send(flow, n);
  EXPECT_EQ(pool.in_use(), 8u);
  q->reset();
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 8u);
  EXPECT_EQ(q->counters().leaked_refs, 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

// ---- classful prio classifying with another device's filters ----

class AnyDevicePrio : public ::testing::Test, public EngineFixture {
 protected:
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");      // where the qdisc runs
  Device& filters = devices.add("ifb0");  // only holds filters (no root qdisc)
  BpfQdisc* q = nullptr;

  AnyDevicePrio() {
    auto root = open(test_object("engine_any_device_prio"));
    for (uint16_t band = 1; band <= 3; ++band) root->add_class(Handle::make(1, band), std::make_unique<PfifoQdisc>(100u));
    root->set_classifier(devices.classifier());
    root->object().set_global("filter_ifindex", uint32_t(filters.ifindex()));
    root->object().set_global("filter_handle", Handle::make(9, 0).value);
    root->init();
    q = root.get();
    eth0.set_root(std::move(root));
    // On ifb0, qdisc 9: (which exists nowhere): mark 1 -> 9:1 (fw), mark 2 -> 9:2 (u32).
    filters.add_filter(Handle::make(9, 0), 1, FwFilter::parse({"handle", "0x1/0xff", "classid", "9:1"}));
    filters.add_filter(Handle::make(9, 0), 2, U32Filter::parse({"match", "mark", "0x2", "0xff", "classid", "9:2"}));
    // eth0's own filters are not the ones the program asks for.
    eth0.add_filter(Handle::make(1, 0), 1, U32Filter::parse({"match", "mark", "0", "0", "classid", "1:3"}));
  }

  uint64_t backlog_slot(uint32_t index) {
    uint64_t v = 0;
    EXPECT_EQ(q->object().map("band_backlog").lookup_copy(&index, &v), 0);
    return v;
  }
  // The packets' numbers (mark >> 8), in dequeue order.
  std::vector<uint32_t> drain_device() {
    std::vector<uint32_t> order = drain_marks(eth0, clock.now_ns(), q);
    for (uint32_t& mark : order) mark >>= 8;
    return order;
  }
};

TEST_F(AnyDevicePrio, PassesToTheBandTheOtherDevicesFiltersChoose) {
  const uint32_t marks[] = {0, 2, 1, 0, 1, 2};  // 1 -> band 1, 2 -> band 2, unmatched -> band 3
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(eth0.transmit(packet(100, i << 8 | marks[i]), 0).verdict, EnqueueVerdict::Queued);
  for (uint16_t band = 1; band <= 3; ++band) EXPECT_EQ(q->class_child(Handle::make(1, band))->qlen(), 2u);
  EXPECT_EQ(q->qlen(), 6u);
  EXPECT_EQ(backlog_slot(3), 2u);  // unclassified
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{2, 4, 1, 5, 0, 3}));
  EXPECT_EQ(q->stats().sent_packets, 6u);
  EXPECT_EQ(q->stats().sent_bytes, 600u);
  for (uint16_t band = 1; band <= 3; ++band) {
    const QdiscStats& child = q->class_child(Handle::make(1, band))->stats();
    EXPECT_EQ(child.sent_packets, 2u);
    EXPECT_TRUE(child.conserved());
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(AnyDevicePrio, FwWithoutAHandleUsesTheMarkAsTheClassid) {
  // qdisc 8: on ifb0 with a bare fw filter: a mark 8:MINOR is the class; other majors are not.
  filters.add_filter(Handle::make(8, 0), 1, FwFilter::parse({}, Handle::make(8, 0)));
  q->object().set_global("filter_handle", Handle::make(8, 0).value);
  eth0.transmit(packet(100, 0x80003), 0);  // 8:3 -> band 3
  eth0.transmit(packet(100, 0x80001), 0);  // 8:1 -> band 1
  eth0.transmit(packet(100, 0x90001), 0);  // 9:1: no match -> default band 3
  eth0.transmit(packet(100, 0x00002), 0);  // :2 (major 0) -> band 2
  EXPECT_EQ(backlog_slot(3), 1u);
  EXPECT_EQ(drain_marks(eth0, 0), (std::vector<uint32_t>{0x80001, 0x00002, 0x80003, 0x90001}));
  EXPECT_EQ(pool.in_use(), 0u);
}

// ---- device down with packets in an rbtree (kptrs), a packet queue and a child class ----

class DownWithPacketsEverywhere : public ::testing::Test, public EngineFixture {
 protected:
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  BpfQdisc* q = nullptr;
  Qdisc* child = nullptr;

  DownWithPacketsEverywhere() {
    auto root = open(test_object("engine_multi_hold"));
    root->add_class(Handle::make(1, 1), std::make_unique<PfifoQdisc>(100u));
    root->init();
    q = root.get();
    child = q->class_child(Handle::make(1, 1));
    eth0.set_root(std::move(root));
  }
  // priority: 0 rbtree, 1 packet queue, 2 child class.
  void send(uint32_t mark, uint32_t where) { EXPECT_EQ(eth0.transmit(packet(100, mark, where), 0).verdict, EnqueueVerdict::Queued); }
  std::vector<uint32_t> drain_device() { return drain_marks(eth0, 0); }
};

TEST_F(DownWithPacketsEverywhere, EveryPacketIsReleasedAndCountedNoneLeaked) {
  for (uint32_t i = 0; i < 7; ++i) send(i, i % 3);
  EXPECT_EQ(q->qlen(), 7u);
  EXPECT_EQ(child->qlen(), 2u);
  EXPECT_EQ(q->object().map("held").size(), 3u);
  EXPECT_EQ(q->object().map("fifo").size(), 2u);
  // The rbtree goes first: one packet leaves before the device goes down.
  DequeueResult first = eth0.dequeue(0);
  ASSERT_EQ(first.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(first.packet->skb.mark, 0u);
  PacketPool::release(first.packet);
  EXPECT_EQ(pool.in_use(), 6u);

  eth0.set_down();
  EXPECT_EQ(eth0.stats().released_on_down, 6u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 6u);
  EXPECT_EQ(q->stats().dropped, 6u);
  EXPECT_EQ(q->stats().tc_dropped(), 0u);  // Linux would not count these as drops
  EXPECT_EQ(child->stats().drops(DropReason::Reset), 2u);
  EXPECT_EQ(q->counters().leaked_refs, 0u);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->backlog(), 0u);
  EXPECT_EQ(q->object().map("held").size(), 0u);
  EXPECT_EQ(q->object().map("fifo").size(), 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_TRUE(child->stats().conserved());
  EXPECT_EQ(q->stats().enqueued_packets, q->stats().sent_packets + q->stats().dropped);
  EXPECT_EQ(pool.in_use(), 0u);

  // Up again, every path works from a clean state (the .bss counters were reset too).
  eth0.set_up();
  send(10, 2);
  send(11, 1);
  send(12, 0);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{12, 11, 10}));
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(DownWithPacketsEverywhere, DestroyingTheDeviceReleasesEverything) {
  for (uint32_t i = 0; i < 6; ++i) send(i, i % 3);
  EXPECT_EQ(pool.in_use(), 6u);
  eth0.set_root(nullptr);  // the old root is reset, then destroyed
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
