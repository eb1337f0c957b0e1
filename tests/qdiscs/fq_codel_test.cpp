// progs/fq_codel.bpf.c behaves as Linux's sch_fq_codel: flows by reciprocal_scale(hash, flows)
// (or skb->priority naming the qdisc), DRR with quantum over new flows before old flows, the
// "empty new flow visits the old list" rule, per-flow CoDel, and the overlimit / over-memory
// drop of up to half the fattest flow's bytes (at most drop_batch packets) from its head.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <bpfq/sched/ecn.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kTick = 1024;        // CoDel's time unit (Linux codel_time_t)
constexpr uint64_t kT0 = 1000 * kTick;  // tick-aligned start of the timed tests

class FqCodel : public ::testing::Test, public EngineFixture {
 protected:
  // A frame of frame_len bytes for flow `flow` (skb->priority = 1:flow+1, Linux's way to pick a
  // flow of the qdisc with handle 1:), ECN codepoint ecn.
  Packet* flow_packet(uint32_t flow, uint32_t frame_len, uint32_t mark, uint8_t ecn = 0) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.ecn = ecn;
    Packet* pkt = frame(spec, mark);
    pkt->skb.priority = 0x00010000u | (flow + 1);
    return pkt;
  }

  EnqueueVerdict enqueue(BpfQdisc& q, Packet* pkt) { return q.enqueue(pkt, clock.now_ns()).verdict; }

  uint32_t dequeue_one(BpfQdisc& q) {
    DequeueResult r = q.dequeue(clock.now_ns());
    EXPECT_TRUE(q.stats().conserved());
    if (r.kind != DequeueResult::Kind::Packet) return 0;
    const uint32_t mark = r.packet->skb.mark;
    PacketPool::release(r.packet);
    return mark;
  }

  uint32_t global(BpfQdisc& q, const char* name) { return q.object().get_global<uint32_t>(name); }

  void expect_clean(BpfQdisc& q) {
    EngineFixture::expect_clean(q);
    EXPECT_EQ(q.qlen(), 0u);
    EXPECT_EQ(global(q, "qlen"), 0u);
    EXPECT_EQ(global(q, "backlog"), 0u);
    EXPECT_EQ(global(q, "memory_usage"), 0u);
    EXPECT_EQ(pool.in_use(), 0u);
  }
};

// Marks: flow A sends 11..16, flow B 21..26, 1000 bytes each, all queued before any dequeue.
// DRR with quantum 1514 (deficit after each send in brackets):
//   new [A,B]: A 11 (514), 12 (-486) -> +1514 = 1028, A to old
//   new [B]:   B 21 (514), 22 (-486) -> 1028, B to old            old [A,B]
//   A 13 (28), 14 (-972) -> 542, old [B,A];  B 23 (28), 24 (-972) -> 542, old [A,B]
//   A 15 (-458) -> 1056, old [B,A];  B 25 (-458) -> 1056, old [A,B]
//   A 16 (56); A empty: removed;  B 26 (56); B empty: removed.
TEST_F(FqCodel, TwoFlowsInterleaveByDeficitRoundRobin) {
  auto q = open(library_object("fq_codel"));
  q->init();
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(*q, flow_packet(0, 1000, 10 + i)), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(*q, flow_packet(1, 1000, 20 + i)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "new_flow_count"), 2u);
  EXPECT_EQ(global(*q, "new_flows_len"), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 21, 22, 13, 14, 23, 24, 15, 25, 16, 26}));
  EXPECT_EQ(global(*q, "new_flows_len"), 0u);
  EXPECT_EQ(global(*q, "old_flows_len"), 0u);
  EXPECT_EQ(q->stats().sent_bytes, 12000u);
  expect_clean(*q);
}

// quantum below 256 is raised to 256, as Linux does: 100-byte packets, two flows.
TEST_F(FqCodel, QuantumIsAtLeast256Bytes) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("quantum", uint32_t{100});
  q->init();
  EXPECT_EQ(global(*q, "quantum_bytes"), 256u);
  for (uint32_t i = 1; i <= 4; ++i) enqueue(*q, flow_packet(0, 100, 10 + i));
  for (uint32_t i = 1; i <= 4; ++i) enqueue(*q, flow_packet(1, 100, 20 + i));
  // A: 11 (156), 12 (56), 13 (-44) -> 212, old [A];  B: 21, 22, 23 -> 212, old [A,B];
  // A: 14 (112); A empty: removed;  B: 24 (112); removed.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 13, 21, 22, 23, 14, 24}));
  expect_clean(*q);
}

// A new (sparse) flow goes ahead of a backlogged old flow; once empty it passes through the old
// list before it can be new again.
TEST_F(FqCodel, NewSparseFlowIsServedBeforeTheOldBacklog) {
  auto q = open(library_object("fq_codel"));
  q->init();
  for (uint32_t i = 1; i <= 8; ++i) enqueue(*q, flow_packet(0, 1000, 10 + i));
  // A (deficit 1514): 11 (514), 12 (-486) -> 1028, to old; 13 (28).
  EXPECT_EQ(dequeue_one(*q), 11u);
  EXPECT_EQ(dequeue_one(*q), 12u);
  EXPECT_EQ(dequeue_one(*q), 13u);
  EXPECT_EQ(global(*q, "old_flows_len"), 1u);
  // Flow C arrives: new, served first although A still has deficit 28.
  enqueue(*q, flow_packet(2, 200, 31));
  EXPECT_EQ(global(*q, "new_flow_count"), 2u);
  EXPECT_EQ(dequeue_one(*q), 31u);
  // C is empty: the next dequeue moves it to the tail of the old list (not removed), then
  // serves A: 14 (28 -> -972).
  EXPECT_EQ(dequeue_one(*q), 14u);
  EXPECT_EQ(global(*q, "new_flows_len"), 0u);
  EXPECT_EQ(global(*q, "old_flows_len"), 2u);
  // While C sits in the old list, a new packet of C is not "new": it waits its turn.
  enqueue(*q, flow_packet(2, 200, 32));
  EXPECT_EQ(global(*q, "new_flow_count"), 2u);
  // old [A(-972), C(1314)]: A -> 542, to tail: old [C, A]; C sends 32 (1114).
  EXPECT_EQ(dequeue_one(*q), 32u);
  // C (1114) empty in the old list: removed. A 15 (542 -> -458).
  EXPECT_EQ(dequeue_one(*q), 15u);
  EXPECT_EQ(global(*q, "old_flows_len"), 1u);
  // C is new again.
  enqueue(*q, flow_packet(2, 200, 33));
  EXPECT_EQ(global(*q, "new_flow_count"), 3u);
  EXPECT_EQ(dequeue_one(*q), 33u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{16, 17, 18}));
  expect_clean(*q);
}

// Flows come from reciprocal_scale(skb hash, flows) = hash * flows >> 32.
TEST_F(FqCodel, HashesIntoFlowsByReciprocalScale) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("flows", uint32_t{4});
  q->init();
  auto hashed = [&](uint32_t hash, uint32_t mark) {
    Packet* p = packet(1000, mark);
    p->skb.hash = hash;  // bpf_skb_get_hash returns a hash already computed
    return p;
  };
  // 0x00000001 * 4 >> 32 = 0 and 0x3fffffff * 4 >> 32 = 0: one flow, FIFO between them.
  // 0x40000000 * 4 >> 32 = 1: another flow.
  enqueue(*q, hashed(0x00000001, 1));
  enqueue(*q, hashed(0x3fffffff, 2));
  enqueue(*q, hashed(0x3fffffff, 3));
  enqueue(*q, hashed(0x40000000, 4));
  EXPECT_EQ(global(*q, "new_flow_count"), 2u);
  // flow 0: 1 (514), 2 (-486) -> old; flow 1: 4 (514), empty -> old; flow 0: 3.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 4, 3}));
  expect_clean(*q);
}

TEST_F(FqCodel, OverLimitDropsHalfTheFattestFlowFromItsHead) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("limit", uint32_t{6});
  q->init();
  for (uint32_t i = 1; i <= 4; ++i) enqueue(*q, flow_packet(0, 1000, 10 + i));  // A: 4000 bytes
  for (uint32_t i = 1; i <= 2; ++i) enqueue(*q, flow_packet(1, 1000, 20 + i));  // B: 2000 bytes
  // The 7th packet (B) exceeds limit 6. Fattest: A (4000 > 3000); threshold 4000 / 2 = 2000:
  // drop 11 (1000 < 2000, go on), 12 (2000: stop). The offered packet's flow was not hit.
  EXPECT_EQ(enqueue(*q, flow_packet(1, 1000, 23)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "drop_overlimit"), 2u);
  EXPECT_EQ(global(*q, "drop_overmemory"), 0u);
  EXPECT_EQ(global(*q, "xmit_cn"), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 2u);
  EXPECT_EQ(q->qlen(), 5u);
  // A: 13 (514), 14 (-486) -> old; B: 21, 22 -> old [A, B]; A empty: removed; B: 23.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{13, 14, 21, 22, 23}));
  expect_clean(*q);
}

TEST_F(FqCodel, DropBatchBoundsTheOverlimitDrop) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("limit", uint32_t{8});
  q->object().set_global("drop_batch", uint32_t{1});
  q->init();
  for (uint32_t i = 1; i <= 8; ++i) enqueue(*q, flow_packet(0, 100, 10 + i));
  // 9th packet on flow B; fattest A (800), half = 400, but drop_batch 1: only 11 goes.
  EXPECT_EQ(enqueue(*q, flow_packet(1, 100, 21)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "drop_overlimit"), 1u);
  EXPECT_EQ(q->stats().dropped, 1u);
  EXPECT_EQ(q->qlen(), 8u);
  // A (700 bytes left, deficit 1514) sends all of its packets, then B.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{12, 13, 14, 15, 16, 17, 18, 21}));
  expect_clean(*q);
}

TEST_F(FqCodel, OverLimitOnTheOffersOwnFlowCountsNetXmitCn) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("limit", uint32_t{3});
  q->init();
  for (uint32_t i = 1; i <= 3; ++i) enqueue(*q, flow_packet(0, 1000, 10 + i));
  // A holds 4000 bytes with the offered 14: drop 11, 12 (2000 >= 2000). 14 stays queued: Linux
  // returns NET_XMIT_CN, bpfq reports Queued (the packet was not dropped) and counts xmit_cn.
  EXPECT_EQ(enqueue(*q, flow_packet(0, 1000, 14)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "xmit_cn"), 1u);
  EXPECT_EQ(global(*q, "drop_overlimit"), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{13, 14}));
  expect_clean(*q);
}

TEST_F(FqCodel, OverLimitDroppingTheOfferedPacketReportsCongestion) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("limit", uint32_t{3});
  q->init();
  enqueue(*q, flow_packet(0, 100, 11));  // A: 100 bytes
  enqueue(*q, flow_packet(1, 100, 21));  // B: 200 bytes
  enqueue(*q, flow_packet(1, 100, 22));
  // A 1500-byte packet on A: A holds 1600 > 200, threshold 800: drop 11 (100 < 800, go on),
  // then the offered 12 itself (1600): CN, and the offered packet counts as a congestion drop.
  EnqueueResult r = q->enqueue(flow_packet(0, 1500, 12), clock.now_ns());
  EXPECT_EQ(r.verdict, EnqueueVerdict::Congested);
  EXPECT_EQ(r.reason, DropReason::Congestion);
  EXPECT_EQ(q->stats().drops(DropReason::Congestion), 1u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  EXPECT_EQ(global(*q, "xmit_cn"), 1u);
  EXPECT_EQ(global(*q, "drop_overlimit"), 2u);
  EXPECT_EQ(q->qlen(), 2u);
  // A is empty but still listed: skipped. B: 21, 22.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{21, 22}));
  expect_clean(*q);
}

TEST_F(FqCodel, MemoryLimitDropsFromTheFattestFlow) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("memory_limit", uint32_t{3000});
  q->init();
  enqueue(*q, flow_packet(0, 1000, 11));
  enqueue(*q, flow_packet(0, 1000, 12));
  enqueue(*q, flow_packet(1, 1000, 21));
  EXPECT_EQ(global(*q, "memory_usage"), 3000u);
  // 4000 > 3000 bytes. A and B both hold 2000: the first in index order (A) is the fattest;
  // threshold 1000: drop 11 only.
  EXPECT_EQ(enqueue(*q, flow_packet(1, 1000, 22)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "drop_overlimit"), 1u);
  EXPECT_EQ(global(*q, "drop_overmemory"), 1u);
  EXPECT_EQ(global(*q, "memory_usage"), 3000u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{12, 21, 22}));
  expect_clean(*q);
}

// Bulk flow A (30 packets queued at t0) builds a standing queue; a sparse flow S sends one
// 100-byte packet every 10 ms, served within the same instant (sojourn 0). CoDel drops only
// from A, on A's schedule: A's first packet at t0 + 10 ms sets first_above_time = t0 + 110 ms
// (in ticks, within a tick); its first dequeue after that (t0 + 120 ms) drops, the next drop
// is due about 100 ms later.
TEST_F(FqCodel, PerFlowCodelDropsTheBulkFlowOnly) {
  auto q = open(library_object("fq_codel"));
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 30; ++i) enqueue(*q, flow_packet(0, 1000, 100 + i));
  std::vector<uint32_t> sent;
  for (uint32_t k = 1; k <= 14; ++k) {
    clock.set(t0 + k * 10 * kMs);
    enqueue(*q, flow_packet(1, 100, k));
    // Serve until S's packet went out, then one more (A's share of the step).
    for (int n = 0; n < 4; ++n) {
      const uint32_t m = dequeue_one(*q);
      if (m) sent.push_back(m);
      if (m == k) break;
    }
    if (const uint32_t m = dequeue_one(*q)) sent.push_back(m);
  }
  // Every sparse packet was sent; none dropped.
  std::vector<uint32_t> sparse;
  for (uint32_t m : sent)
    if (m < 100) sparse.push_back(m);
  EXPECT_EQ(sparse, (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  // A dropped exactly once by t0 + 140 ms (the second drop is due ~100 ms after the first).
  EXPECT_EQ(global(*q, "codel_drops"), 1u);
  EXPECT_EQ(q->stats().dropped, 1u);
  // A's packets in order with one gap.
  std::vector<uint32_t> bulk;
  for (uint32_t m : sent)
    if (m > 100) bulk.push_back(m);
  ASSERT_FALSE(bulk.empty());
  EXPECT_EQ(bulk.front(), 101u);
  EXPECT_EQ(bulk.back() - bulk.front() + 1, bulk.size() + 1);
  drain(*q);
  expect_clean(*q);
}

TEST_F(FqCodel, MarksEcnCapableBulkPacketsInsteadOfDropping) {
  auto q = open(library_object("fq_codel"));  // ecn is on by default
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  for (uint32_t i = 1; i <= 6; ++i) enqueue(*q, flow_packet(0, 1000, 10 + i, 2));
  clock.set(t0 + 9766 * kTick);
  EXPECT_EQ(dequeue_one(*q), 11u);  // sojourn 9766 ticks: first_above = t0 + 107 422 ticks
  clock.set(t0 + 107'423 * kTick);
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 12u);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 3);
  PacketPool::release(r.packet);
  EXPECT_EQ(global(*q, "ecn_mark"), 1u);
  EXPECT_EQ(q->stats().dropped, 0u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{13, 14, 15, 16}));
  expect_clean(*q);
}

TEST_F(FqCodel, CeThresholdMarksSlowPackets) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("ce_threshold", uint64_t{1 * kMs});  // 976 ticks
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  enqueue(*q, flow_packet(0, 100, 11, 1));
  enqueue(*q, flow_packet(0, 100, 12, 1));
  clock.set(t0 + 976 * kTick + 1023);
  EXPECT_EQ(dequeue_one(*q), 11u);  // 976 ticks (the rest of the tick does not count): not above
  clock.set(t0 + 977 * kTick);
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 3);
  PacketPool::release(r.packet);
  EXPECT_EQ(global(*q, "ce_mark"), 1u);
  expect_clean(*q);
}

TEST_F(FqCodel, RejectsFlowsOutOfRange) {
  auto q = open(library_object("fq_codel"));
  q->object().set_global("flows", uint32_t{0});
  EXPECT_THROW(q->init(), Error);
  auto q2 = open(library_object("fq_codel"));
  q2->object().set_global("flows", uint32_t{65537});
  EXPECT_THROW(q2->init(), Error);
}

TEST_F(FqCodel, ResetReleasesEveryFlow) {
  auto q = open(library_object("fq_codel"));
  q->init();
  for (uint32_t i = 0; i < 6; ++i) enqueue(*q, flow_packet(i % 3, 300, i + 1));
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 6u);
  EXPECT_EQ(global(*q, "new_flows_len"), 0u);
  enqueue(*q, flow_packet(1, 300, 7));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{7}));
  expect_clean(*q);
}

}  // namespace
}  // namespace bpfq::sched::test
