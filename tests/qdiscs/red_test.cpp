// progs/red.bpf.c behaves as Linux's sch_red: the Wlog-scaled EWMA of the child's backlog,
// no drop below min, forced drop (or ECN mark) at or above max, probabilistic drops between,
// the byte limit of the child FIFO. Expected values are worked out by hand from red.h.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/runtime/prng.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class Red : public ::testing::Test, public EngineFixture {
 protected:
  runtime::Prng prng{42};
  std::unique_ptr<BpfQdisc> q;

  void SetUp() override {
    env.prng = &prng;
    q = open(library_object("red"));
  }

  // min 3000, max 9000 (or `max`), avpkt 1000 and burst `b`; limit in bytes.
  void configure(uint32_t burst, uint32_t limit = 100000, uint32_t max = 9000) {
    q->object().set_global("limit", limit);
    q->object().set_global("min", uint32_t{3000});
    q->object().set_global("max", max);
    q->object().set_global("avpkt", uint32_t{1000});
    q->object().set_global("burst", burst);
  }

  Packet* ip_packet(uint32_t len, uint32_t mark, uint8_t ecn = 0) { return ecn_packet(len, mark, ecn); }

  template <typename T>
  T global(const char* name) { return q->object().get_global<T>(name); }

  void expect_clean_end() { EngineFixture::expect_clean_end(q); }
};

TEST_F(Red, DefaultsFollowTc) {
  q->init();
  // limit 400000: max = limit / 4 = 100000, min = max / 3 = 33333, burst = (2 min + max) /
  // (3 avpkt) = 55; a = 55 + 1 - 33.333 = 22.67; (1 - (1-W)^55) / W is 15.5 for W = 1/16 and
  // 26.4 for W = 1/32: Wlog 5.
  EXPECT_EQ(global<uint32_t>("wlog"), 5u);
  EXPECT_EQ(global<uint32_t>("qth_min"), 33333u << 5);
  EXPECT_EQ(global<uint32_t>("qth_max"), 100000u << 5);
  // Idle damping per microsecond: a 1000-byte packet takes 800 us at 10 Mbit; -ln(31/32) / 800
  // = 3.97e-5 per us; 31 / lW = 781134 us must fit 512 cells: 2^11 = 2048 us per cell.
  EXPECT_EQ(global<uint32_t>("scell_log"), 11u);
  // max_P = 2%; red_random divides by max_P / (max - min) = 85899346 / 66667.
  EXPECT_EQ(global<uint32_t>("max_p_delta"), 85899346u / 66667u);
  EXPECT_EQ(global<int32_t>("qcount"), -1);
  expect_clean_end();
}

TEST_F(Red, AverageQueueIsTheWlogScaledEwmaOfTheBacklog) {
  // burst 4: a = 4 + 1 - 3 = 2; W = 1/2 gives 1.875 < 2, W = 1/4 gives 2.73: Wlog 2.
  configure(4);
  q->init();
  ASSERT_EQ(global<uint32_t>("wlog"), 2u);
  // qavg += backlog - qavg >> 2 at each arrival (backlog before the packet, bytes); the first
  // arrival ends the idle period of an empty qdisc with qavg 0.
  std::vector<uint64_t> averages;
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_EQ(q->enqueue(ip_packet(1000, i), clock.now_ns()).verdict, EnqueueVerdict::Queued);
    averages.push_back(global<uint64_t>("qavg"));
  }
  // 0; 0 + 1000; 1000 + 2000 - 250; 2750 + 3000 - 687; 5063 + 4000 - 1265; 7798 + 5000 - 1949
  EXPECT_EQ(averages, (std::vector<uint64_t>{0, 1000, 2750, 5063, 7798, 10849}));
  // Below qth_min (3000 << 2 = 12000) nothing is dropped or marked.
  EXPECT_EQ(global<int32_t>("qcount"), -1);
  // Three leave; the next arrival sees 3000 bytes: 10849 + 3000 - 2712.
  for (uint32_t m : {0u, 1u, 2u}) {
    DequeueResult r = q->dequeue(clock.now_ns());
    ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
    EXPECT_EQ(r.packet->skb.mark, m);
    PacketPool::release(r.packet);
  }
  ASSERT_EQ(q->enqueue(ip_packet(1000, 6), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("qavg"), 11137u);
  EXPECT_EQ(q->stats().dropped, 0u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3, 4, 5, 6}));
  expect_clean_end();
}

// min == max == 3000 leaves no probabilistic band: qavg >= 3000 << Wlog is a forced drop.
// burst 3: a = 3 + 1 - 3 = 1 <= 1.75 (W = 1/2): Wlog 1, so the threshold is 6000.
TEST_F(Red, ForcedDropAtOrAboveMax) {
  configure(3, 100000, 3000);
  q->init();
  ASSERT_EQ(global<uint32_t>("wlog"), 1u);
  std::vector<EnqueueVerdict> verdicts;
  std::vector<uint64_t> averages;
  for (uint32_t i = 0; i < 5; ++i) {
    verdicts.push_back(q->enqueue(ip_packet(1500, i), clock.now_ns()).verdict);
    averages.push_back(global<uint64_t>("qavg"));
  }
  // 0 (idle end); 0 + 1500; 1500 + 3000 - 750 = 3750; 3750 + 4500 - 1875 = 6375 >= 6000: forced
  // drop, the backlog stays 4500; 6375 + 4500 - 3187 = 7688: dropped too.
  EXPECT_EQ(averages, (std::vector<uint64_t>{0, 1500, 3750, 6375, 7688}));
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Queued, EnqueueVerdict::Queued,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Congested,
                                                   EnqueueVerdict::Congested}));
  EXPECT_EQ(global<uint32_t>("forced_drop"), 2u);
  EXPECT_EQ(global<uint64_t>("overlimits"), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::Congestion), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2}));
  expect_clean_end();
}

TEST_F(Red, EcnMarksEctPacketsInsteadOfDropping) {
  configure(3, 100000, 3000);
  q->object().set_global("ecn", uint32_t{1});
  q->init();
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(q->enqueue(ip_packet(1500, i, 2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  // qavg 6375 >= 6000: an ECT(0) packet is CE-marked and queued ...
  EXPECT_EQ(q->enqueue(ip_packet(1500, 3, 2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  // ... a Not-ECT one is dropped (qavg 6375 + 6000 - 3187 = 9188).
  EXPECT_EQ(q->enqueue(ip_packet(1500, 4, 0), clock.now_ns()).verdict, EnqueueVerdict::Congested);
  EXPECT_EQ(global<uint64_t>("qavg"), 9188u);
  EXPECT_EQ(global<uint32_t>("forced_mark"), 1u);
  EXPECT_EQ(global<uint32_t>("forced_drop"), 1u);
  std::vector<uint8_t> ecn_bits;
  for (;;) {
    DequeueResult r = q->dequeue(clock.now_ns());
    if (r.kind != DequeueResult::Kind::Packet) break;
    ecn_bits.push_back(r.packet->bytes()[15] & 3);  // IPv4 TOS byte
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(ecn_bits, (std::vector<uint8_t>{2, 2, 2, 3}));
  expect_clean_end();
}

TEST_F(Red, HarddropDropsEvenEctPacketsAboveMax) {
  configure(3, 100000, 3000);
  q->object().set_global("ecn", uint32_t{1});
  q->object().set_global("harddrop", uint32_t{1});
  q->init();
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(q->enqueue(ip_packet(1500, i, 2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(ip_packet(1500, 3, 2), clock.now_ns()).verdict, EnqueueVerdict::Congested);
  EXPECT_EQ(global<uint32_t>("forced_drop"), 1u);
  EXPECT_EQ(global<uint32_t>("forced_mark"), 0u);
  EXPECT_EQ(drain(*q).size(), 3u);
  expect_clean_end();
}

TEST_F(Red, BetweenTheThresholdsDropsFollowTheSeededRandomNumber) {
  // Wlog 1, probability 100%: max_p_delta = 0xffffffff / 6000; qR = random / max_p_delta, drawn
  // when qavg first passes min and after each mark.
  configure(3);
  q->object().set_global("probability", uint32_t{0xffffffff});
  q->init();
  const uint32_t max_p_delta = 0xffffffffu / 6000u;
  ASSERT_EQ(global<uint32_t>("max_p_delta"), max_p_delta);
  runtime::Prng same{42};
  const uint32_t qr = same.next_u32() / max_p_delta;
  // 1500-byte packets: qavg 0, 1500, 3750 (below 6000), 6375 (between: qcount -1 -> 0, qR
  // drawn), then 6375 + 6000 - 3187 = 9188 (qcount 1): dropped if ((9188 - 6000) >> 1) * 1 =
  // 1594 >= qR.
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(q->enqueue(ip_packet(1500, i), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint32_t>("qR"), qr);
  const EnqueueVerdict fourth = q->enqueue(ip_packet(1500, 4), clock.now_ns()).verdict;
  EXPECT_EQ(global<uint64_t>("qavg"), 9188u);
  if (1594 >= qr) {
    EXPECT_EQ(fourth, EnqueueVerdict::Congested);
    EXPECT_EQ(global<uint32_t>("prob_drop"), 1u);
    EXPECT_EQ(global<int32_t>("qcount"), 0);
    EXPECT_EQ(global<uint32_t>("qR"), same.next_u32() / max_p_delta);  // redrawn after a mark
  } else {
    EXPECT_EQ(fourth, EnqueueVerdict::Queued);
    EXPECT_EQ(global<uint32_t>("prob_drop"), 0u);
    EXPECT_EQ(global<int32_t>("qcount"), 1);
  }
  drain(*q);
  expect_clean_end();
}

TEST_F(Red, AnIdlePeriodDecaysTheAverage) {
  q->init();  // defaults: Wlog 5, Scell_log 11 (2048 us per damping cell)
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(q->enqueue(ip_packet(1000, i), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("qavg"), 2969u);  // 0; 1000; 1000 + 2000 - (1000 >> 5)
  EXPECT_EQ(drain(*q).size(), 3u);             // the empty dequeue starts the idle period
  ASSERT_EQ(global<uint32_t>("idling"), 1u);
  // 512 us idle is in cell 0 (stab 0): linear decay, qavg - (qavg * 512) >> 11 = 2969 - 742.
  clock.advance(512'000);
  ASSERT_EQ(q->enqueue(ip_packet(1000, 3), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("qavg"), 2227u);
  EXPECT_EQ(global<uint32_t>("idling"), 0u);
  EXPECT_EQ(drain(*q).size(), 1u);
  // 1 s idle is capped at Scell_max (255 << 11 us), the last cell, whose shift is 31: qavg 0.
  clock.advance(1'000'000'000);
  ASSERT_EQ(q->enqueue(ip_packet(1000, 4), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("qavg"), 0u);
  EXPECT_EQ(drain(*q).size(), 1u);
  expect_clean_end();
}

TEST_F(Red, TheChildFifoTailDropsPastTheByteLimit) {
  configure(4, 2500);
  q->init();
  EXPECT_EQ(q->enqueue(ip_packet(1000, 0), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(ip_packet(1000, 1), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(ip_packet(1000, 2), clock.now_ns()).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->enqueue(ip_packet(500, 3), clock.now_ns()).verdict, EnqueueVerdict::Queued);  // 2500
  EXPECT_EQ(global<uint32_t>("pdrop"), 1u);
  EXPECT_EQ(global<uint32_t>("backlog"), 2500u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 3}));
  EXPECT_EQ(global<uint32_t>("backlog"), 0u);
  EXPECT_EQ(global<uint32_t>("idling"), 1u);  // the empty dequeue started an idle period
  expect_clean_end();
}

TEST_F(Red, InitRefusesABurstTooSmallForMin) {
  // burst 1: a = 1 + 1 - 3 < 1, as tc_red_eval_ewma refuses.
  configure(1);
  try {
    q->init();
    FAIL() << "init accepted burst 1";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qdisc/init returned 2"), std::string::npos) << e.what();
  }
  ASSERT_EQ(trace.lines().size(), 1u);
  EXPECT_EQ(trace.lines()[0], "red: burst 1 is too small, try burst 4");
}

}  // namespace
}  // namespace bpfq::sched::test
