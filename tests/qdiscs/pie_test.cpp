// progs/pie.bpf.c behaves as Linux's sch_pie: the drop probability after each tupdate, the
// burst allowance, the packet limit. Values are computed by hand from sch_pie.c (times in
// psched ticks of 64 ns; MAX_PROB = 2^56 - 1) in the comments.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/runtime/prng.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;

class Pie : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open(library_object("pie"));

  EnqueueVerdict enqueue(uint32_t len, uint32_t mark) {
    return q->enqueue(packet(len, mark), clock.now_ns()).verdict;
  }
  uint32_t dequeue_mark() { return EngineFixture::dequeue_mark(*q); }
  template <typename T>
  T global(const char* name) { return q->object().get_global<T>(name); }

  void expect_clean_end() { EngineFixture::expect_clean_end(q); }
};

TEST_F(Pie, DropProbabilityAfterEachTupdate) {
  q->init();
  const uint64_t t0 = clock.now_ns();  // 1 ms = 15625 ticks
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(enqueue(1000, i), EnqueueVerdict::Queued);
  // 40 ms later one packet leaves: qdelay = 40 ms = 625000 ticks.
  clock.set(t0 + 40 * kMs);
  EXPECT_EQ(dequeue_mark(), 0u);
  EXPECT_EQ(global<uint64_t>("qdelay"), 625000u);
  // The first update is 500 ms after init (pie_init arms the timer at HZ/2).
  clock.set(t0 + 500 * kMs - 1);
  ASSERT_EQ(enqueue(1000, 10), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("prob"), 0u);
  clock.set(t0 + 500 * kMs);
  ASSERT_EQ(enqueue(1000, 11), EnqueueVerdict::Queued);
  // alpha = (2 * (MAX_PROB / 15625000)) >> 4 = 576460752, beta = (20 * 4611686018) >> 4 =
  // 5764607522; prob < 10%: both >> 1, then >> 2 for each of power 100 .. 10^6 that prob (0) is
  // below: alpha 281474, beta 2814749. delta = 281474 * (625000 - 234375 target)
  // + 2814749 * (625000 - 0) = 109950781250 + 1759218125000.
  EXPECT_EQ(global<uint64_t>("prob"), 1869168906250u);
  EXPECT_EQ(global<uint64_t>("qdelay_old"), 625000u);
  // Next update after tupdate (15 ms): prob is now above MAX_PROB / 10^5, so only three >> 2:
  // alpha 4503599, beta 45035996; the delay did not change: delta = 4503599 * 390625.
  clock.set(t0 + 515 * kMs - 1);
  ASSERT_EQ(enqueue(1000, 12), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("prob"), 1869168906250u);
  clock.set(t0 + 515 * kMs);
  ASSERT_EQ(enqueue(1000, 13), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("prob"), 1869168906250u + 1759218359375u);
  // The burst allowance (150 ms) still holds: nothing was dropped early.
  EXPECT_EQ(global<uint32_t>("dropped"), 0u);
  EXPECT_EQ(global<uint32_t>("packets_in"), 14u);
  EXPECT_EQ(global<uint32_t>("maxq"), 12u);  // qlen before the last arrival
  EXPECT_EQ(drain(*q).size(), 13u);
  expect_clean_end();
}

// Early drops: no drop while the accumulated probability is below 85%, then a seeded random
// draw per packet (two bpf_get_prandom_u32, the first the high half; drop if rnd >> 8 < prob).
// With ecn, an ECT packet is CE-marked instead while prob <= 10%.
class PieEarly : public Pie, public ::testing::WithParamInterface<bool> {};

TEST_P(PieEarly, AccumulatedProbabilityThenSeededDraws) {
  const bool ecn = GetParam();
  runtime::Prng prng{14};
  env.prng = &prng;
  q = open(library_object("pie"));
  q->object().set_global("ecn", uint32_t{ecn});
  q->init();
  auto ect_packet = [&](uint32_t mark) {
    Packet* pkt = pool.alloc();
    FrameSpec spec;
    spec.payload_len = 1000 - 42;
    spec.ecn = 2;  // ECT(0)
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark;
    return pkt;
  };
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 20; ++i) ASSERT_EQ(q->enqueue(ect_packet(i), t0).verdict, EnqueueVerdict::Queued);
  clock.set(t0 + 300 * kMs);
  dequeue_mark();  // qdelay 300 ms; first dequeue: no time since the previous one
  clock.set(t0 + 460 * kMs);
  dequeue_mark();  // qdelay 460 ms = 7187500 ticks; 160 ms since the last: burst allowance gone
  EXPECT_EQ(global<uint64_t>("burst_time"), 0u);
  clock.set(t0 + 500 * kMs);
  // The update at 500 ms (prob 0: alpha 281474, beta 2814749 as in DropProbabilityAfterEachTupdate):
  // 281474 * (7187500 - 234375) + 2814749 * 7187500 + MAX_PROB / 50 (delay > 250 ms).
  const uint64_t max_prob = ~uint64_t{0} >> 8;
  const uint64_t prob = 1957123906250u + 20231008437500u + max_prob / 50;
  ASSERT_EQ(prob, 1463340013102308u);
  const uint64_t low = (max_prob / 100) * 85;  // below: never dropped; 42 * prob is above
  runtime::Prng same{14};
  uint32_t early = 0;
  uint64_t accu = 0;
  for (uint32_t k = 1; k <= 60; ++k) {
    EnqueueResult r = q->enqueue(ect_packet(100 + k), clock.now_ns());
    if (k == 1) {
      EXPECT_EQ(global<uint64_t>("prob"), prob);
    }
    accu += prob;
    bool drop = false;
    if (accu >= low) {
      uint64_t rnd = uint64_t{same.next_u32()} << 32;
      rnd |= same.next_u32();
      drop = (rnd >> 8) < prob;
    }
    if (drop) {
      accu = 0;
      ++early;
    }
    if (drop && !ecn) {
      EXPECT_EQ(r.verdict, EnqueueVerdict::Dropped) << "packet " << k;
    } else {
      EXPECT_EQ(r.verdict, EnqueueVerdict::Queued) << "packet " << k;
    }
    if (k == 41) {
      EXPECT_EQ(global<uint64_t>("accu_prob"), 41 * prob);
    }
    if (k == 43) {
      EXPECT_TRUE(drop);
    }
  }
  EXPECT_EQ(early, 1u);  // seed 14: the second draw (packet 43) is below prob
  EXPECT_EQ(global<uint32_t>("ecn_mark"), ecn ? early : 0u);
  EXPECT_EQ(global<uint32_t>("dropped"), ecn ? 0u : early);
  drain(*q);
  expect_clean_end();
}

INSTANTIATE_TEST_SUITE_P(EcnOffOn, PieEarly, ::testing::Bool());

TEST_F(Pie, DequeuesSpendTheBurstAllowance) {
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(enqueue(1000, i), EnqueueVerdict::Queued);
  const uint64_t burst = 150 * kMs / 64;  // 2343750 ticks
  EXPECT_EQ(global<uint64_t>("burst_time"), burst);
  clock.set(t0 + 10 * kMs);
  dequeue_mark();  // first sample: no previous dequeue time, nothing spent
  EXPECT_EQ(global<uint64_t>("burst_time"), burst);
  clock.set(t0 + 30 * kMs);
  dequeue_mark();  // 20 ms = 312500 ticks since the last dequeue
  EXPECT_EQ(global<uint64_t>("burst_time"), burst - 312500);
  EXPECT_EQ(global<uint64_t>("qdelay"), 30 * kMs / 64);
  clock.set(t0 + 200 * kMs);
  dequeue_mark();  // 170 ms more: the allowance is gone
  EXPECT_EQ(global<uint64_t>("burst_time"), 0u);
  dequeue_mark();  // the queue is now empty: qdelay counts as 0
  EXPECT_EQ(global<uint64_t>("qdelay"), 0u);
  expect_clean_end();
}

TEST_F(Pie, TailDropsAtTheLimit) {
  q->object().set_global("limit", uint32_t{3});
  q->init();
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 0; i < 5; ++i) verdicts.push_back(enqueue(500, i));
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Queued, EnqueueVerdict::Queued,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Dropped,
                                                   EnqueueVerdict::Dropped}));
  EXPECT_EQ(global<uint32_t>("overlimit"), 2u);
  EXPECT_EQ(global<uint32_t>("dropped"), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2}));
  expect_clean_end();
}

}  // namespace
}  // namespace bpfq::sched::test
