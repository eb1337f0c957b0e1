// Spec tests of the native fq_codel against Linux's sch_fq_codel.c + codel_impl.h semantics.
// Times: CoDel's clock counts 1024 ns units, so scripts use times u * 1024 ns and the expected
// values are worked out in those units: target 5 ms = 5e6 >> 10 = 4882, interval 100 ms =
// 1e8 >> 10 = 97656.
#include <bpfq/sched/fq_codel_qdisc.hpp>

#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "sched_test_util.hpp"

namespace bpfq::sched {
namespace {

constexpr uint64_t kUnit = 1024;  // ns per codel_time_t tick
constexpr Handle kHandle = Handle::make(1, 0);

// skb->priority naming class 1:(flow + 1) puts a packet in bucket `flow` (fq_codel_classify).
uint32_t to_flow(uint32_t flow) { return kHandle.value | (flow + 1); }

// A UDP/IPv4 packet of `len` bytes, tagged with mark, in bucket `flow`, with an ECN codepoint.
Packet* packet(PacketPool& pool, uint32_t len, uint32_t mark, uint32_t flow, uint8_t ecn = 0) {
  Packet* pkt = pool.alloc();
  EXPECT_NE(pkt, nullptr);
  FrameSpec spec;
  spec.payload_len = len - 42;
  spec.ecn = ecn;
  EXPECT_TRUE(build_into(*pkt, spec));
  pkt->skb.mark = mark;
  pkt->skb.priority = to_flow(flow);
  return pkt;
}

// Dequeues one packet at codel time `u`; returns its mark (0 if none) and releases it.
uint32_t dequeue_mark(Qdisc& q, uint64_t u) {
  DequeueResult r = q.dequeue(u * kUnit);
  EXPECT_TRUE(q.stats().conserved());
  if (r.kind != DequeueResult::Kind::Packet) return 0;
  const uint32_t mark = r.packet->skb.mark;
  PacketPool::release(r.packet);
  return mark;
}

TEST(FqCodelQdisc, LinuxDefaultsAndLimits) {
  const FqCodelParams p;
  EXPECT_EQ(p.limit, 10240u);
  EXPECT_EQ(p.flows, 1024u);
  EXPECT_EQ(p.target_ns, 5'000'000u);
  EXPECT_EQ(p.interval_ns, 100'000'000u);
  EXPECT_EQ(p.quantum, 1514u);
  EXPECT_TRUE(p.ecn);
  EXPECT_EQ(p.ce_threshold_ns, FqCodelParams::kCeThresholdOff);
  EXPECT_EQ(p.memory_limit, 32u << 20);
  EXPECT_EQ(p.drop_batch, 64u);

  // psched_mtu of a 9000-byte MTU device: 9014; of a tiny one: clamped up to 256.
  EXPECT_EQ(FqCodelParams::for_device({.mtu = 9000}).quantum, 9014u);
  EXPECT_EQ(FqCodelParams::for_device({.mtu = 9000}).mtu, 9014u);
  EXPECT_EQ(FqCodelParams::for_device({.mtu = 100}).quantum, 256u);

  FqCodelQdisc q({.quantum = 10, .memory_limit = 0xFFFFFFFF, .drop_batch = 0});
  EXPECT_EQ(q.kind(), "fq_codel");
  EXPECT_EQ(q.params().quantum, 256u);             // max(256, quantum)
  EXPECT_EQ(q.params().memory_limit, 1u << 31);    // min(2^31, memory_limit)
  EXPECT_EQ(q.params().drop_batch, 1u);            // max(1, drop_batch)

  try {
    FqCodelQdisc bad({.flows = 0});
    FAIL() << "flows 0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "fq_codel flows 0 is out of range");
    EXPECT_EQ(e.where(), "fq_codel");
    EXPECT_EQ(e.hint(), "flows must be 1..65536 (Linux refuses other values with EINVAL)");
  }
  EXPECT_THROW(FqCodelQdisc({.flows = 65537}), Error);
  EXPECT_NO_THROW(FqCodelQdisc({.flows = 65536}));
  try {
    FqCodelQdisc bad({.quantum = (1u << 20) + 1});
    FAIL() << "quantum 2^20+1 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "fq_codel quantum 1048577 is too large");
  }
}

TEST(FqCodelQdisc, FlowIsTheScaledHashUnlessPriorityNamesAClass) {
  PacketPool pool({.packets = 4});
  FqCodelQdisc q({.flows = 100}, kHandle);
  Packet* pkt = test::make_packet(pool, 100, 1);
  for (uint16_t sport : {1, 2, 3, 999, 40000}) {
    FrameSpec spec;
    spec.sport = sport;
    ASSERT_TRUE(build_into(*pkt, spec));
    pkt->skb.priority = 0;
    // reciprocal_scale(skb_get_hash, 100) = hash * 100 >> 32.
    const uint32_t expected = static_cast<uint32_t>((uint64_t{pkt->get_hash()} * 100) >> 32);
    EXPECT_EQ(q.flow_of(*pkt), expected) << sport;
    pkt->skb.priority = 0x10000 | 7;  // 1:7 -> bucket 6
    EXPECT_EQ(q.flow_of(*pkt), 6u);
    pkt->skb.priority = 0x10000 | 100;  // 1:100, the last bucket
    EXPECT_EQ(q.flow_of(*pkt), 99u);
    pkt->skb.priority = 0x10000 | 101;  // beyond flows: hashed
    EXPECT_EQ(q.flow_of(*pkt), expected);
    pkt->skb.priority = 0x20000 | 7;  // another qdisc's class: hashed
    EXPECT_EQ(q.flow_of(*pkt), expected);
    pkt->skb.priority = 0x10000;  // minor 0: hashed
    EXPECT_EQ(q.flow_of(*pkt), expected);
  }
  PacketPool::release(pkt);
}

// DRR: new flows go first with a quantum of credit; a flow out of credit gets another quantum
// and goes to the tail of the old list; an emptied new flow passes through the old list once.
TEST(FqCodelQdisc, DeficitRoundRobinWithNewAndOldLists) {
  PacketPool pool({.packets = 32});
  FqCodelQdisc q({}, kHandle);  // quantum 1514
  // A = bucket 0 marks 1..4, B = bucket 1 marks 11..12, 1000 bytes each.
  for (uint32_t m : {1, 2, 3, 4}) EXPECT_EQ(q.enqueue(packet(pool, 1000, m, 0), 0), EnqueueResult::queued());
  for (uint32_t m : {11, 12}) EXPECT_EQ(q.enqueue(packet(pool, 1000, m, 1), 0), EnqueueResult::queued());
  EXPECT_EQ(q.xstats().new_flow_count, 2u);
  EXPECT_EQ(q.xstats().new_flows_len, 2u);
  // new [A 1514, B 1514]: A1 (A 514), A2 (A -486); A out of credit -> 1028, old [A];
  // B1 (B 514).
  EXPECT_EQ(dequeue_mark(q, 0), 1u);
  EXPECT_EQ(dequeue_mark(q, 0), 2u);
  EXPECT_EQ(dequeue_mark(q, 0), 11u);
  EXPECT_EQ(q.flow_deficit(0), 1028);
  EXPECT_EQ(q.flow_deficit(1), 514);
  // C = bucket 2 arrives: new [B, C], old [A].
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 21, 2), 0), EnqueueResult::queued());
  EXPECT_EQ(q.xstats().new_flow_count, 3u);
  EXPECT_EQ(q.xstats().new_flows_len, 2u);
  EXPECT_EQ(q.xstats().old_flows_len, 1u);
  // B2 (B -486); B -> 1028, old [A, B]; C1 (C 514); C empty while old flows wait: old [A, B, C];
  // A3 (A 28), A4 (A -972).
  EXPECT_EQ(dequeue_mark(q, 0), 12u);
  EXPECT_EQ(dequeue_mark(q, 0), 21u);
  EXPECT_EQ(dequeue_mark(q, 0), 3u);
  EXPECT_EQ(q.xstats().new_flows_len, 0u);
  EXPECT_EQ(q.xstats().old_flows_len, 3u);
  // C is still listed (old), so a new packet of C is no new flow: it waits behind A.
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 22, 2), 0), EnqueueResult::queued());
  EXPECT_EQ(q.xstats().new_flow_count, 3u);
  // A4 (A -972); A -> 542, old [B, C, A]; B empty -> unlisted; C2 (C -486).
  EXPECT_EQ(dequeue_mark(q, 0), 4u);
  EXPECT_EQ(dequeue_mark(q, 0), 22u);
  EXPECT_EQ(q.xstats().old_flows_len, 2u);  // [C, A]
  EXPECT_EQ(q.flow_deficit(0), 542);
  EXPECT_EQ(q.flow_deficit(2), -486);
  // Nothing left: C -> 1028 and to the tail, A empty -> unlisted, C empty -> unlisted.
  EXPECT_EQ(q.dequeue(0).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(q.xstats().old_flows_len, 0u);
  EXPECT_EQ(q.xstats().new_flows_len, 0u);
  EXPECT_EQ(q.stats().sent_packets, 8u);
  EXPECT_EQ(q.stats().sent_bytes, 8000u);
  EXPECT_EQ(q.xstats().memory_usage, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, BigPacketsSpendCreditOverSeveralRounds) {
  PacketPool pool({.packets = 8});
  FqCodelQdisc q({.quantum = 300}, kHandle);
  // A: 1000-byte packets; B: 100-byte packets. A1 (300 -> -700), then A needs 3 more quanta
  // (-400, -100, 200) while B, with 300 of credit per visit, sends three of its packets.
  for (uint32_t m : {1, 2}) q.enqueue(packet(pool, 1000, m, 0), 0);
  for (uint32_t m : {11, 12, 13, 14, 15, 16}) q.enqueue(packet(pool, 100, m, 1), 0);
  // new [A 300, B 300]: A1 (-700) -> old [A] (-400); B: 11, 12, 13 (0) -> old [A, B] (300);
  // A (-400 <= 0) -> -100, tail; B: 14, 15, 16 -> 0 -> 300, tail; A (-100) -> 200, tail;
  // B empty -> unlisted; A2.
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{1, 11, 12, 13, 14, 15, 16, 2}));
  EXPECT_EQ(pool.in_use(), 0u);
}

// One flow of twenty 1000-byte Not-ECT packets enqueued at time 0, dequeued at scripted times:
// CoDel's drop schedule worked out from codel_dequeue with Linux's fixed-point arithmetic.
TEST(FqCodelQdisc, CodelDropScheduleOfLinux) {
  PacketPool pool({.packets = 32});
  FqCodelQdisc q({}, kHandle);
  for (uint32_t m = 1; m <= 20; ++m) q.enqueue(packet(pool, 1000, m, 0), 0);
  const auto& v = q.flow_codel(0);

  // t=4882: sojourn 4882 is not below target and 19000 bytes stay: above target from now on,
  // first_above_time = 4882 + 97656 = 102538.
  EXPECT_EQ(dequeue_mark(q, 4882), 1u);
  EXPECT_EQ(v.first_above_time, 102538u);
  EXPECT_EQ(v.ldelay, 4882u);
  // t=102538: not yet after first_above_time.
  EXPECT_EQ(dequeue_mark(q, 102538), 2u);
  EXPECT_FALSE(v.dropping);
  // t=102539: drop 3, send 4, enter dropping: count 1, rec_inv_sqrt 0xffff,
  // drop_next = 102539 + (97656 * 0xffff0000 >> 32 = 97654) = 200193.
  EXPECT_EQ(dequeue_mark(q, 102539), 4u);
  EXPECT_TRUE(v.dropping);
  EXPECT_EQ(v.count, 1u);
  EXPECT_EQ(v.lastcount, 1u);
  EXPECT_EQ(v.rec_inv_sqrt, 0xFFFF);
  EXPECT_EQ(v.drop_next, 200193u);
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 1u);
  // t=200192: one tick early, no drop.
  EXPECT_EQ(dequeue_mark(q, 200192), 5u);
  // t=200193: count 2; Newton step from 0xffff: invsqrt2 = 0xfffe0001,
  // (3<<32 - 2 * 0xfffe0001) >> 2 = 0x4000ffff, * 0xffff0000 >> 31 = 0x80017ffe, >> 16 = 0x8001.
  // Drop 6, send 7; drop_next = 200193 + (97656 * 0x80010000 >> 32 = 48829) = 249022.
  EXPECT_EQ(dequeue_mark(q, 200193), 7u);
  EXPECT_EQ(v.count, 2u);
  EXPECT_EQ(v.rec_inv_sqrt, 0x8001);
  EXPECT_EQ(v.drop_next, 249022u);
  // t=249022: count 3; Newton: invsqrt2 = 0x40010001, (3<<32 - 3 * 0x40010001) >> 2 = 0x8fff3fff,
  // * 0x80010000 >> 31 >> 16 = 0x9000. Drop 8, send 9;
  // drop_next = 249022 + (97656 * 0x90000000 >> 32 = 54931) = 303953.
  EXPECT_EQ(dequeue_mark(q, 249022), 9u);
  EXPECT_EQ(v.rec_inv_sqrt, 0x9000);
  EXPECT_EQ(v.drop_next, 303953u);
  // t=351588, two drops due at once: count 4 (rec 0x7ce0), drop 10, drop_next = 303953 +
  // (97656 * 0x7ce00000 >> 32 = 47635) = 351588 <= now; count 5 (rec 0x7107), drop 11,
  // drop_next = 351588 + 43116 = 394704 > now; send 12.
  EXPECT_EQ(dequeue_mark(q, 351588), 12u);
  EXPECT_EQ(v.count, 5u);
  EXPECT_EQ(v.rec_inv_sqrt, 0x7107);
  EXPECT_EQ(v.drop_next, 394704u);
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 5u);  // 3, 6, 8, 10, 11
  EXPECT_EQ(q.xstats().codel_drops, 5u);
  // Before drop_next nothing more drops; once only 1000 bytes (<= mtu 1514) stay behind the
  // head (packet 19), CoDel leaves the dropping state.
  EXPECT_EQ(test::drain_marks(q, 394703 * kUnit),
            (std::vector<uint32_t>{13, 14, 15, 16, 17, 18, 19, 20}));
  EXPECT_FALSE(v.dropping);
  EXPECT_EQ(v.first_above_time, 0u);
  EXPECT_EQ(q.xstats().maxpacket, 1000u);

  // Back above target soon after: count restarts at count - lastcount = 5 - 1 = 4, one Newton
  // step from 0x7107 with count 4 gives 0x7d79; drop_next = now + (97656 * 0x7d790000 >> 32 =
  // 47863).
  for (uint32_t m = 31; m <= 40; ++m) q.enqueue(packet(pool, 1000, m, 0), 400000 * kUnit);
  EXPECT_EQ(dequeue_mark(q, 400000 + 4882), 31u);  // first_above_time = 404882 + 97656
  EXPECT_EQ(v.first_above_time, 502538u);
  EXPECT_EQ(dequeue_mark(q, 502539), 33u);  // 32 dropped
  EXPECT_EQ(v.count, 4u);
  EXPECT_EQ(v.lastcount, 4u);
  EXPECT_EQ(v.rec_inv_sqrt, 0x7d79);
  EXPECT_EQ(v.drop_next, 502539u + 47863u);
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 6u);
  q.reset();
  EXPECT_EQ(q.stats().drops(DropReason::Reset), 7u);  // 34..40
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(q.stats().enqueued_packets, 30u);
  EXPECT_EQ(q.stats().sent_packets, 17u);  // 1 2 4 5 7 9 12, 13..20, 31 33
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, EcnCapablePacketsAreMarkedInsteadOfDropped) {
  PacketPool pool({.packets = 16});
  FqCodelQdisc q({}, kHandle);
  // Even marks ECT(0), odd marks Not-ECT.
  for (uint32_t m = 1; m <= 10; ++m) q.enqueue(packet(pool, 1000, m, 0, m % 2 ? 0 : 2), 0);
  EXPECT_EQ(dequeue_mark(q, 4882), 1u);  // above target from now
  // t=102539: packet 2 is ECT(0): marked CE and sent, CoDel enters dropping as after a drop.
  DequeueResult r = q.dequeue(102539 * kUnit);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 2u);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 3);
  PacketPool::release(r.packet);
  EXPECT_EQ(q.xstats().ecn_mark, 1u);
  EXPECT_EQ(q.flow_codel(0).drop_next, 102539u + 97654u);
  // t=200193: next signal due; packet 3 is Not-ECT: dropped (count 2, drop_next + 48829);
  // packet 4 is sent unmarked.
  r = q.dequeue(200193 * kUnit);
  EXPECT_EQ(r.packet->skb.mark, 4u);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 2);
  PacketPool::release(r.packet);
  EXPECT_EQ(q.flow_codel(0).drop_next, 200193u + 48829u);
  // t=249022: packet 5 Not-ECT dropped (count 3), drop_next = 249022 + 54931 = 303953 > now,
  // packet 6 sent without a mark.
  EXPECT_EQ(dequeue_mark(q, 249022), 6u);
  // t=303953: packet 7 Not-ECT dropped (count 4), drop_next = 303953 + 47635 = 351588; packet 8
  // (ECT) sent unmarked.
  EXPECT_EQ(dequeue_mark(q, 303953), 8u);
  EXPECT_EQ(q.flow_codel(0).count, 4u);
  EXPECT_EQ(q.xstats().ecn_mark, 1u);
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 3u);  // 3, 5, 7
  // Only 1000 bytes behind packet 9 (<= mtu): CoDel leaves dropping without signalling.
  EXPECT_EQ(test::drain_marks(q, 351588 * kUnit), (std::vector<uint32_t>{9, 10}));
  EXPECT_EQ(q.stats().drops(DropReason::Congestion), 3u);

  // With ecn off, the ECT packet is dropped like any other.
  FqCodelQdisc noecn({.ecn = false}, kHandle);
  for (uint32_t m = 1; m <= 4; ++m) noecn.enqueue(packet(pool, 1000, m, 0, 2), 0);
  EXPECT_EQ(dequeue_mark(noecn, 4882), 1u);
  EXPECT_EQ(dequeue_mark(noecn, 102539), 3u);
  EXPECT_EQ(noecn.xstats().ecn_mark, 0u);
  EXPECT_EQ(noecn.stats().drops(DropReason::Congestion), 1u);
  noecn.reset();
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, CeThresholdMarksEctPacketsAboveIt) {
  PacketPool pool({.packets = 8});
  // ce_threshold 1 ms = 1e6 >> 10 = 976 ticks; marked when the sojourn is after it (> 976).
  FqCodelQdisc q({.ce_threshold_ns = 1'000'000}, kHandle);
  q.enqueue(packet(pool, 200, 1, 0, 1), 0);  // ECT(1)
  q.enqueue(packet(pool, 200, 2, 0, 1), 0);
  q.enqueue(packet(pool, 200, 3, 0, 0), 0);  // Not-ECT: cannot be marked
  DequeueResult r = q.dequeue(976 * kUnit);  // sojourn 976: not above
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 1);
  PacketPool::release(r.packet);
  r = q.dequeue(977 * kUnit);  // sojourn 977: marked
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 3);
  PacketPool::release(r.packet);
  r = q.dequeue(5000 * kUnit);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 0);
  PacketPool::release(r.packet);
  EXPECT_EQ(q.xstats().ce_mark, 1u);
  EXPECT_EQ(q.xstats().ecn_mark, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

// Over the limit, fq_codel_drop drops from the head of the flow with the most bytes until half
// of them are gone (at most drop_batch packets) and returns CN if that was the arriving flow.
TEST(FqCodelQdisc, OverLimitDropsHalfOfTheFattestFlow) {
  PacketPool pool({.packets = 32});
  FqCodelQdisc q({.limit = 10}, kHandle);
  for (uint32_t m = 1; m <= 6; ++m) q.enqueue(packet(pool, 1000, m, 0), 0);    // A: 6000 bytes
  for (uint32_t m = 11; m <= 14; ++m) q.enqueue(packet(pool, 500, m, 1), 0);   // B: 2000 bytes
  EXPECT_EQ(q.qlen(), 10u);
  // B's 5th packet makes 11 > 10: A is fattest (6000), threshold 3000: drop A1, A2, A3
  // (1000, 2000, 3000 bytes). Not B's flow: success.
  EXPECT_EQ(q.enqueue(packet(pool, 500, 15, 1), 0), EnqueueResult::queued());
  EXPECT_EQ(q.qlen(), 8u);
  EXPECT_EQ(q.flow_backlog(0), 3000u);
  EXPECT_EQ(q.flow_codel(0).count, 3u);  // CoDel is told to signal harder
  EXPECT_EQ(q.xstats().drop_overlimit, 3u);
  EXPECT_EQ(q.xstats().drop_overmemory, 0u);
  EXPECT_EQ(q.stats().drops(DropReason::QueueFull), 3u);
  EXPECT_EQ(q.stats().dropped_bytes, 3000u);
  // A7, A8 fit (qlen 10); A9 makes 11 with A at 6000 bytes, B at 2500: A is fattest and the
  // arriving flow: CN. threshold 3000: drop A4, A5, A6.
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 7, 0), 0), EnqueueResult::queued());
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 8, 0), 0), EnqueueResult::queued());
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 9, 0), 0), EnqueueResult::congested(DropReason::QueueFull));
  EXPECT_EQ(q.xstats().drop_overlimit, 6u);
  EXPECT_EQ(q.flow_codel(0).count, 6u);
  EXPECT_EQ(q.xstats().memory_usage, 3000u + 2500u);
  // Both flows are still new: A (1514) 7 (514), 8 (-486) -> old (1028); B (1514) 11, 12, 13,
  // 14 (-486) -> old (1028); A 9 (28); A empty -> unlisted; B 15.
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{7, 8, 11, 12, 13, 14, 9, 15}));
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, DropBatchBoundsOneOverflow) {
  PacketPool pool({.packets = 32});
  FqCodelQdisc q({.limit = 8, .drop_batch = 2}, kHandle);
  for (uint32_t m = 1; m <= 8; ++m) q.enqueue(packet(pool, 100, m, 0), 0);  // 800 bytes
  // The 9th: threshold 450 bytes, but only 2 packets (200 bytes) may go.
  EXPECT_EQ(q.enqueue(packet(pool, 100, 9, 0), 0), EnqueueResult::congested(DropReason::QueueFull));
  EXPECT_EQ(q.qlen(), 7u);
  EXPECT_EQ(q.xstats().drop_overlimit, 2u);
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{3, 4, 5, 6, 7, 8, 9}));
  // Ties: the first bucket with the largest backlog loses.
  FqCodelQdisc t({.limit = 4, .drop_batch = 1}, kHandle);
  t.enqueue(packet(pool, 100, 1, 5), 0);
  t.enqueue(packet(pool, 100, 2, 3), 0);
  t.enqueue(packet(pool, 100, 3, 5), 0);
  t.enqueue(packet(pool, 100, 4, 3), 0);
  EXPECT_EQ(t.enqueue(packet(pool, 50, 5, 7), 0), EnqueueResult::queued());  // bucket 3 pays
  EXPECT_EQ(t.flow_qlen(3), 1u);
  EXPECT_EQ(t.flow_qlen(5), 2u);
  t.reset();
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, MemoryLimitCountsPacketBytes) {
  PacketPool pool({.packets = 8});
  FqCodelQdisc q({.memory_limit = 3000}, kHandle);
  for (uint32_t m = 1; m <= 3; ++m)
    EXPECT_EQ(q.enqueue(packet(pool, 1000, m, 0), 0), EnqueueResult::queued());  // 3000: not over
  EXPECT_EQ(q.xstats().memory_usage, 3000u);
  // 4000 > 3000: A (4000) is fattest, threshold 2000: drop 1, 2.
  EXPECT_EQ(q.enqueue(packet(pool, 1000, 4, 0), 0), EnqueueResult::congested(DropReason::QueueFull));
  EXPECT_EQ(q.xstats().memory_usage, 2000u);
  EXPECT_EQ(q.xstats().drop_overmemory, 2u);
  EXPECT_EQ(q.xstats().drop_overlimit, 2u);
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{3, 4}));
  EXPECT_EQ(q.xstats().memory_usage, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, PeekHoldsThePacketDequeueReturnsAndResetReleasesAll) {
  PacketPool pool({.packets = 8});
  FqCodelQdisc q({}, kHandle);
  q.enqueue(packet(pool, 300, 1, 0), 0);
  q.enqueue(packet(pool, 300, 2, 1), 0);
  q.enqueue(packet(pool, 300, 3, 0), 0);
  const Packet* head = q.peek(0);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->skb.mark, 1u);
  EXPECT_EQ(q.qlen(), 3u);            // still counted as queued
  EXPECT_EQ(q.backlog(), 900u);
  EXPECT_EQ(q.xstats().memory_usage, 600u);  // but no longer in a flow, as in Linux
  EXPECT_EQ(dequeue_mark(q, 0), 1u);
  q.reset();
  EXPECT_EQ(q.qlen(), 0u);
  EXPECT_EQ(q.stats().drops(DropReason::Reset), 2u);
  EXPECT_EQ(q.xstats().memory_usage, 0u);
  EXPECT_EQ(q.xstats().new_flows_len + q.xstats().old_flows_len, 0u);
  EXPECT_TRUE(q.stats().conserved());
  // Usable again after reset: a fresh flow.
  q.enqueue(packet(pool, 300, 4, 0), 0);
  EXPECT_EQ(test::drain_marks(q), (std::vector<uint32_t>{4}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FqCodelQdisc, ControlLawAndNewtonStepHelpers) {
  // interval / sqrt(1) with rec_inv_sqrt 0xffff: 97656 * 0xffff0000 >> 32 = 97654.
  EXPECT_EQ(FqCodelQdisc::control_law(1000, 97656, 0xFFFF), 1000u + 97654u);
  // Wraps modulo 2^32 as codel_time_t does.
  EXPECT_EQ(FqCodelQdisc::control_law(0xFFFFFFF0u, 97656, 0xFFFF), 97654u - 16u);
  FqCodelQdisc::CodelVars v;
  v.count = 2;
  v.rec_inv_sqrt = 0xFFFF;
  FqCodelQdisc::newton_step(v);
  EXPECT_EQ(v.rec_inv_sqrt, 0x8001);
  v.count = 3;
  FqCodelQdisc::newton_step(v);
  EXPECT_EQ(v.rec_inv_sqrt, 0x9000);
}

}  // namespace
}  // namespace bpfq::sched
