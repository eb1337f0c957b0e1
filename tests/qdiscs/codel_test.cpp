// progs/codel.bpf.c behaves as Linux's sch_codel (net/sched/sch_codel.c, include/net/codel*.h):
// tail drop at `limit`, no drop while the backlog is within one MTU, the dropping state entered
// after the sojourn time stayed above target for an interval, drops at the control law's times
// (Linux's fixed-point 1/sqrt(count)), ECN marks instead of drops, ce_threshold marks.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <bpfq/sched/ecn.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
// CoDel runs on Linux's codel_time_t ticks of 1024 ns: times below are whole ticks. Linux's
// defaults in ticks: target 5 ms = 4882, interval 100 ms = 97656.
constexpr uint64_t kTick = 1024;
constexpr uint64_t kT0 = 1000 * kTick;  // start of each scripted test, tick-aligned

// struct codel_vars of include/bpfq/bpf/codel.h, as the program's global `vars` holds it.
struct CodelVars {
  uint32_t count;
  uint32_t lastcount;
  uint16_t dropping;
  uint16_t rec_inv_sqrt;
  uint32_t pad;
  uint64_t first_above_time;
  uint64_t drop_next;
  uint64_t ldelay;
};
static_assert(sizeof(CodelVars) == 40);

class Codel : public ::testing::Test, public EngineFixture {
 protected:
  EnqueueVerdict enqueue(BpfQdisc& q, Packet* pkt) { return q.enqueue(pkt, clock.now_ns()).verdict; }

  // One dequeue at `at_ns`: the mark sent (0: nothing); ce says whether it carried CE.
  uint32_t dequeue_at(BpfQdisc& q, uint64_t at_ns, bool* ce = nullptr) {
    clock.set(at_ns);
    DequeueResult r = q.dequeue(at_ns);
    EXPECT_TRUE(q.stats().conserved());
    if (r.kind != DequeueResult::Kind::Packet) return 0;
    const uint32_t mark = r.packet->skb.mark;
    if (ce) *ce = ecn_codepoint(r.packet->bytes()) == 3;
    PacketPool::release(r.packet);
    return mark;
  }

  void expect_clean(BpfQdisc& q) {
    EngineFixture::expect_clean(q);
    EXPECT_EQ(q.qlen(), 0u);
    EXPECT_EQ(pool.in_use(), 0u);
  }
};

TEST_F(Codel, TailDropsAtTheLimitAndCountsDropOverlimit) {
  auto q = open(library_object("codel"));
  q->object().set_global("limit", uint32_t{3});
  q->init();
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(enqueue(*q, packet(100, i)), EnqueueVerdict::Queued);
  EXPECT_EQ(enqueue(*q, packet(100, 4)), EnqueueVerdict::Dropped);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(q->object().get_global<uint32_t>("drop_overlimit"), 1u);
  EXPECT_EQ(q->backlog(), 300u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3}));
  expect_clean(*q);
}

TEST_F(Codel, NeverDropsWhileTheBacklogIsWithinOneMtu) {
  auto q = open(library_object("codel"));
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  enqueue(*q, packet(1000, 1));
  enqueue(*q, packet(1000, 2));
  // Sojourn 500 ms >> target, but after popping packet 1 only 1000 bytes <= mtu 1514 remain.
  EXPECT_EQ(dequeue_at(*q, t0 + 500 * kMs), 1u);
  EXPECT_EQ(dequeue_at(*q, t0 + 900 * kMs), 2u);
  EXPECT_EQ(q->stats().dropped, 0u);
  // 900 ms after t0 is tick 879 906.25 -> 879 906; minus t0's 1000 ticks.
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").ldelay, 878'906 * kTick);
  EXPECT_EQ(q->object().get_global<uint32_t>("maxpacket"), 1000u);
  expect_clean(*q);
}

// 20 packets of 1000 bytes arrive at t0; dequeues at chosen times show the exact drop schedule.
// Control law in ticks (interval 97656): next = prev + 97656 * (rec_inv_sqrt << 16) >> 32, with
// rec_inv_sqrt (Q0.16) from Linux's Newton step x' = x/2 * (3 - count * x^2):
//   count 1: 0xffff -> 97656 * 0xffff0000 / 2^32 = 97 654.5 -> 97 654 ticks
//   count 2: 0x8001 -> 97656 * 0x80010000 / 2^32 = 48 829.5 -> 48 829
//   count 3: 0x9000 -> 97656 * 0x90000000 / 2^32 = 54 931.5 -> 54 931  (Linux's one-step estimate)
//   count 4: 0x7ce0 -> 97656 * 0x7ce00000 / 2^32 = 47 635.9 -> 47 635
//   count 5: 0x7107 -> 97656 * 0x71070000 / 2^32 = 43 116.4 -> 43 116
//   count 6: 0x6771 -> 97656 * 0x67710000 / 2^32 = 39 459.7 -> 39 459
TEST_F(Codel, DropsFollowTheControlLawAfterAnIntervalAboveTarget) {
  auto q = open(library_object("codel"));
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  for (uint32_t i = 1; i <= 20; ++i) ASSERT_EQ(enqueue(*q, packet(1000, i)), EnqueueVerdict::Queued);

  // 9766 ticks (10 ms) sojourn > target: first_above_time = now + 97656 ticks. Not yet dropping.
  EXPECT_EQ(dequeue_at(*q, t0 + 9766 * kTick), 1u);
  const uint64_t first_above = t0 + (9766 + 97656) * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").first_above_time, first_above);
  // At first_above_time exactly: "after" is strict, still no drop.
  EXPECT_EQ(dequeue_at(*q, first_above), 2u);
  EXPECT_EQ(q->stats().dropped, 0u);
  // One tick later: enter dropping. Packet 3 is dropped, 4 sent; count 1.
  const uint64_t t1 = first_above + kTick;
  EXPECT_EQ(dequeue_at(*q, t1), 4u);
  CodelVars v = q->object().get_global<CodelVars>("vars");
  EXPECT_EQ(v.dropping, 1u);
  EXPECT_EQ(v.count, 1u);
  EXPECT_EQ(v.rec_inv_sqrt, 0xffffu);
  const uint64_t d1 = t1 + 97'654 * kTick;
  EXPECT_EQ(v.drop_next, d1);
  // Each drop time: 1 ns before it (still the previous tick) a packet goes out untouched; at
  // it, one is dropped.
  EXPECT_EQ(dequeue_at(*q, d1 - 1), 5u);
  EXPECT_EQ(dequeue_at(*q, d1), 7u);  // drops 6; count 2
  const uint64_t d2 = d1 + 48'829 * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").drop_next, d2);
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").rec_inv_sqrt, 0x8001u);
  EXPECT_EQ(dequeue_at(*q, d2 - 1), 8u);
  EXPECT_EQ(dequeue_at(*q, d2), 10u);  // drops 9; count 3
  const uint64_t d3 = d2 + 54'931 * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").drop_next, d3);
  EXPECT_EQ(dequeue_at(*q, d3 - 1), 11u);
  EXPECT_EQ(dequeue_at(*q, d3), 13u);  // drops 12; count 4
  const uint64_t d4 = d3 + 47'635 * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").drop_next, d4);
  EXPECT_EQ(dequeue_at(*q, d4), 15u);  // drops 14; count 5
  const uint64_t d5 = d4 + 43'116 * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").drop_next, d5);
  EXPECT_EQ(dequeue_at(*q, d5 - 1), 16u);
  EXPECT_EQ(dequeue_at(*q, d5), 18u);  // drops 17; count 6; 2000 bytes remain, still above
  v = q->object().get_global<CodelVars>("vars");
  EXPECT_EQ(v.count, 6u);
  EXPECT_EQ(v.drop_next, d5 + 39'459 * kTick);
  // Popping 19 leaves 1000 bytes <= mtu: leave the dropping state, no drop.
  EXPECT_EQ(dequeue_at(*q, d5), 19u);
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").dropping, 0u);
  EXPECT_EQ(dequeue_at(*q, d5), 20u);
  EXPECT_EQ(dequeue_at(*q, d5), 0u);

  EXPECT_EQ(q->stats().dropped, 6u);  // 3, 6, 9, 12, 14, 17
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 6u);
  EXPECT_EQ(q->stats().dropped_bytes, 6000u);
  EXPECT_EQ(q->stats().sent_packets, 14u);
  expect_clean(*q);
}

// Sub-tick times act as the tick they fall in, as Linux's ktime_get_ns() >> 10.
TEST_F(Codel, TimesAreFlooredToCodelTicks) {
  auto q = open(library_object("codel"));
  q->init();
  const uint64_t t0 = kT0 + 1023;  // still tick 1000
  clock.set(t0);
  for (uint32_t i = 1; i <= 4; ++i) enqueue(*q, packet(1000, i));
  // 4882 ticks (= target) after tick 1000, 1 ns into the tick: sojourn 4882 ticks, not below target.
  EXPECT_EQ(dequeue_at(*q, kT0 + 4882 * kTick + 1), 1u);
  CodelVars v = q->object().get_global<CodelVars>("vars");
  EXPECT_EQ(v.ldelay, 4882 * kTick);
  EXPECT_EQ(v.first_above_time, kT0 + (4882 + 97656) * kTick);
  drain(*q);
  expect_clean(*q);
}

// Re-entering the dropping state soon after leaving it resumes at count - lastcount (Linux's
// "delta > 1 && now - drop_next < 16 * interval" rule) instead of restarting at 1.
TEST_F(Codel, ReentryResumesTheLastDropRate) {
  auto q = open(library_object("codel"));
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  for (uint32_t i = 1; i <= 12; ++i) enqueue(*q, packet(1000, i));
  EXPECT_EQ(dequeue_at(*q, t0 + 9766 * kTick), 1u);    // first_above = t0 + 107 422 ticks
  const uint64_t t1 = t0 + 107'423 * kTick;
  EXPECT_EQ(dequeue_at(*q, t1), 3u);                   // drops 2; count 1, lastcount 1
  const uint64_t d1 = t1 + 97'654 * kTick;
  EXPECT_EQ(dequeue_at(*q, d1), 5u);                   // drops 4; count 2
  const uint64_t d2 = d1 + 48'829 * kTick;
  EXPECT_EQ(dequeue_at(*q, d2), 7u);                   // drops 6; count 3, rec_inv_sqrt 0x9000
  const uint64_t drop_next = d2 + 54'931 * kTick;
  // Fresh packets 13..16 arrive at d2; the old ones go out before the next drop time.
  for (uint32_t i = 13; i <= 16; ++i) enqueue(*q, packet(1000, i));
  for (uint32_t m = 8; m <= 12; ++m) EXPECT_EQ(dequeue_at(*q, d2 + 1), m);
  EXPECT_EQ(dequeue_at(*q, d2 + 1), 13u);              // sojourn 0 < target: leave dropping
  CodelVars v = q->object().get_global<CodelVars>("vars");
  EXPECT_EQ(v.dropping, 0u);
  EXPECT_EQ(v.count, 3u);
  EXPECT_EQ(v.lastcount, 1u);
  EXPECT_EQ(v.drop_next, drop_next);
  // A new standing queue: 14..16 wait, 17..24 arrive so the backlog stays above one MTU.
  for (uint32_t i = 17; i <= 24; ++i) enqueue(*q, packet(1000, i));
  const uint64_t s = d2 + 19'532 * kTick;
  EXPECT_EQ(dequeue_at(*q, s), 14u);  // sojourn 19 532 ticks: first_above = s + 97 656 ticks
  const uint64_t e = s + 97'657 * kTick;
  // Enter again: delta = count 3 - lastcount 1 = 2 > 1, and e - drop_next = 19 532 + 97 657 -
  // 54 931 = 62 258 ticks < 16 intervals, so count = 2 with one Newton step from 0x9000:
  //   x = 0x90000000, x^2 >> 32 = 0x51000000, 3*2^32 - 2*0x51000000 = 0x25e000000,
  //   >> 2 = 0x97800000, * 0x90000000 >> 31 = 0xaa700000 -> rec_inv_sqrt 0xaa70
  // (Linux accepts the imprecise estimate; later steps correct it).
  // drop_next = e + 97656 * 0xaa700000 / 2^32 = e + 65 016.6 -> 65 016 ticks.
  EXPECT_EQ(dequeue_at(*q, e), 16u);  // drops 15
  v = q->object().get_global<CodelVars>("vars");
  EXPECT_EQ(v.dropping, 1u);
  EXPECT_EQ(v.count, 2u);
  EXPECT_EQ(v.lastcount, 2u);
  EXPECT_EQ(v.rec_inv_sqrt, 0xaa70u);
  EXPECT_EQ(v.drop_next, e + 65'016 * kTick);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{17, 18, 19, 20, 21, 22, 23, 24}));
  EXPECT_EQ(q->stats().dropped, 4u);  // 2, 4, 6, 15
  expect_clean(*q);
}

TEST_F(Codel, MarksEcnCapablePacketsInsteadOfDropping) {
  auto q = open(library_object("codel"));
  q->object().set_global("ecn", uint32_t{1});
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  // ECT(0) packets 1..5, then a Not-ECT packet 6 and ECT(0) 7..8.
  for (uint32_t i = 1; i <= 5; ++i) enqueue(*q, ecn_packet(1000, i, 2));
  enqueue(*q, ecn_packet(1000, 6, 0));
  for (uint32_t i = 7; i <= 8; ++i) enqueue(*q, ecn_packet(1000, i, 2));
  bool ce = false;
  EXPECT_EQ(dequeue_at(*q, t0 + 9766 * kTick, &ce), 1u);
  EXPECT_FALSE(ce);
  // Entering the dropping state marks packet 2 instead of dropping it.
  const uint64_t t1 = t0 + 107'423 * kTick;
  EXPECT_EQ(dequeue_at(*q, t1, &ce), 2u);
  EXPECT_TRUE(ce);
  EXPECT_EQ(q->object().get_global<uint32_t>("ecn_mark"), 1u);
  const uint64_t d1 = t1 + 97'654 * kTick;
  EXPECT_EQ(dequeue_at(*q, d1 - 1, &ce), 3u);
  EXPECT_FALSE(ce);
  // The next drop time marks packet 4; drop_next moves on by the count-2 step.
  EXPECT_EQ(dequeue_at(*q, d1, &ce), 4u);
  EXPECT_TRUE(ce);
  const uint64_t d2 = d1 + 48'829 * kTick;
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").drop_next, d2);
  EXPECT_EQ(dequeue_at(*q, d2 - 1, &ce), 5u);
  EXPECT_FALSE(ce);
  // At d2 the head is packet 6, Not-ECT: it is dropped. Popping 7 leaves only 8 (1000 bytes <=
  // mtu), so the dropping state is left and 7 goes out unmarked.
  EXPECT_EQ(dequeue_at(*q, d2, &ce), 7u);
  EXPECT_FALSE(ce);
  EXPECT_EQ(q->object().get_global<CodelVars>("vars").dropping, 0u);
  EXPECT_EQ(dequeue_at(*q, d2, &ce), 8u);
  EXPECT_EQ(q->stats().dropped, 1u);
  EXPECT_EQ(q->object().get_global<uint32_t>("ecn_mark"), 2u);
  expect_clean(*q);
}

TEST_F(Codel, CeThresholdMarksPacketsWhoseSojournExceedsIt) {
  auto q = open(library_object("codel"));
  q->object().set_global("ce_threshold", uint64_t{2 * kMs});  // 1953 ticks
  q->init();
  const uint64_t t0 = kT0;
  clock.set(t0);
  enqueue(*q, ecn_packet(100, 1, 2));
  enqueue(*q, ecn_packet(100, 2, 2));
  enqueue(*q, ecn_packet(100, 3, 0));
  enqueue(*q, ecn_packet(100, 4, 1));
  bool ce = true;
  EXPECT_EQ(dequeue_at(*q, t0 + 976 * kTick, &ce), 1u);  // 976 ticks <= 1953
  EXPECT_FALSE(ce);
  EXPECT_EQ(dequeue_at(*q, t0 + 1953 * kTick, &ce), 2u);  // exactly the threshold: "after" is strict
  EXPECT_FALSE(ce);
  EXPECT_EQ(dequeue_at(*q, t0 + 1954 * kTick, &ce), 3u);  // Not-ECT: cannot be marked
  EXPECT_FALSE(ce);
  EXPECT_EQ(dequeue_at(*q, t0 + 1954 * kTick, &ce), 4u);  // ECT(1), 1954 > 1953 ticks
  EXPECT_TRUE(ce);
  EXPECT_EQ(q->object().get_global<uint32_t>("ce_mark"), 1u);
  EXPECT_EQ(q->object().get_global<uint32_t>("ecn_mark"), 0u);
  EXPECT_EQ(q->stats().dropped, 0u);
  expect_clean(*q);
}

TEST_F(Codel, RejectsALimitBeyondTheQueueCapacity) {
  auto q = open(library_object("codel"));
  q->object().set_global("limit", uint32_t{65537});
  EXPECT_THROW(q->init(), Error);
}

TEST_F(Codel, ResetReleasesQueuedPacketsAndTheState) {
  auto q = open(library_object("codel"));
  q->init();
  for (uint32_t i = 1; i <= 5; ++i) enqueue(*q, packet(500, i));
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 5u);
  EXPECT_EQ(q->object().get_global<uint32_t>("backlog"), 0u);
  enqueue(*q, packet(500, 6));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6}));
  expect_clean(*q);
}

}  // namespace
}  // namespace bpfq::sched::test
