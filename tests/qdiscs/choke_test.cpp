// progs/choke.bpf.c behaves as Linux's sch_choke: RED's average over the queue length in
// packets; above min an arrival is compared with a random queued packet and both go when they
// share a flow; above max an unmatched arrival is dropped (or marked). The cases are chosen so
// that the outcome does not depend on which packet the random draw picks.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/runtime/prng.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class Choke : public ::testing::Test, public EngineFixture {
 protected:
  runtime::Prng prng{7};
  std::unique_ptr<BpfQdisc> q;

  void SetUp() override {
    env.prng = &prng;
    q = open(library_object("choke"));
  }

  // min 2, max 6 packets, avpkt 1000, burst 3: a = 3 + 1 - 2 = 2; (1 - (1-W)^3) / W is 1.75
  // for W = 1/2 and 2.31 for W = 1/4: Wlog 2, so qth_min = 8 and qth_max = 24.
  void configure(uint32_t limit = 100) {
    q->object().set_global("limit", limit);
    q->object().set_global("min", uint32_t{2});
    q->object().set_global("max", uint32_t{6});
    q->object().set_global("burst", uint32_t{3});
    // max_P 0: no probabilistic drop between the thresholds (red_random divides by 1).
    q->object().set_global("probability", uint32_t{0});
    q->init();
    ASSERT_EQ(global<uint32_t>("wlog"), 2u);
    ASSERT_EQ(global<uint32_t>("qth_min"), 8u);
    ASSERT_EQ(global<uint32_t>("qth_max"), 24u);
  }

  template <typename T>
  T global(const char* name) { return q->object().get_global<T>(name); }
};

TEST_F(Choke, DefaultsFollowTc) {
  q->init();
  // limit 1000: max = 250, min = 83, burst = (2 min + max) / 3 = 138 packets.
  EXPECT_EQ(global<uint32_t>("qth_min") >> global<uint32_t>("wlog"), 83u);
  EXPECT_EQ(global<uint32_t>("qth_max") >> global<uint32_t>("wlog"), 250u);
  EXPECT_EQ(global<uint32_t>("tab_mask"), 1023u) << "roundup_pow_of_two(limit + 1) slots";
  expect_clean_end(q);
}

TEST_F(Choke, AnArrivalMatchingARandomQueuedPacketsFlowLosesBoth) {
  configure();
  // One flow. qavg (x4) before each arrival: 0 (idle), 1, 3, 6 — at most qth_min, admitted;
  // then 6 + 4 - 1 = 9 > 8: the random packet is of the same flow: both go (qlen 3); 9 + 3 - 2
  // = 10: both go (2); 10 + 2 - 2 = 10 (1); 10 + 1 - 2 = 9 (0); 9 + 0 - 2 = 7: admitted.
  std::vector<EnqueueVerdict> verdicts;
  std::vector<uint64_t> averages;
  for (uint32_t i = 0; i < 9; ++i) {
    verdicts.push_back(q->enqueue(ecn_packet(1000, i, 0), clock.now_ns()).verdict);
    averages.push_back(global<uint64_t>("qavg"));
  }
  using V = EnqueueVerdict;
  EXPECT_EQ(verdicts, (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Queued, V::Congested, V::Congested,
                                      V::Congested, V::Congested, V::Queued}));
  EXPECT_EQ(averages, (std::vector<uint64_t>{0, 1, 3, 6, 9, 10, 10, 9, 7}));
  EXPECT_EQ(global<uint32_t>("matched"), 4u);
  EXPECT_EQ(q->stats().drops(DropReason::Congestion), 4u) << "the arrivals";
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 4u) << "the random victims";
  // The victims left holes wherever they were; the ring's ends move past them.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{8}));
  EXPECT_EQ(global<uint32_t>("qlen"), 0u);
  expect_clean_end(q);
}

TEST_F(Choke, AboveMaxAnUnmatchedArrivalIsDropped) {
  configure();
  // Every packet its own flow: never matched. qavg: 0 1 3 6 9 12 15 19 23 (admitted: at most
  // qth_max 24), then 23 + 9 - 5 = 27 and 27 + 9 - 6 = 30: forced drops.
  std::vector<EnqueueVerdict> verdicts;
  std::vector<uint64_t> averages;
  for (uint32_t i = 0; i < 11; ++i) {
    verdicts.push_back(q->enqueue(packet(1000, i), clock.now_ns()).verdict);
    averages.push_back(global<uint64_t>("qavg"));
  }
  EXPECT_EQ(averages, (std::vector<uint64_t>{0, 1, 3, 6, 9, 12, 15, 19, 23, 27, 30}));
  EXPECT_EQ(verdicts[9], EnqueueVerdict::Congested);
  EXPECT_EQ(verdicts[10], EnqueueVerdict::Congested);
  EXPECT_EQ(global<uint32_t>("matched"), 0u);
  EXPECT_EQ(global<uint32_t>("forced_drop"), 2u);
  EXPECT_EQ(global<uint64_t>("overlimits"), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  expect_clean_end(q);
}

TEST_F(Choke, EcnMarksInsteadOfDroppingAboveMax) {
  q->object().set_global("ecn", uint32_t{1});
  configure();
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 0; i < 10; ++i) {
    FrameSpec spec;
    spec.payload_len = 958;
    spec.sport = static_cast<uint16_t>(2000 + i);
    spec.ecn = 2;  // ECT(0)
    verdicts.push_back(q->enqueue(frame(spec, i), clock.now_ns()).verdict);
  }
  EXPECT_EQ(verdicts[9], EnqueueVerdict::Queued) << "qavg 27 > 24: marked, kept";
  EXPECT_EQ(global<uint32_t>("forced_mark"), 1u);
  std::vector<uint8_t> ecn_bits;
  for (;;) {
    DequeueResult r = q->dequeue(clock.now_ns());
    if (r.kind != DequeueResult::Kind::Packet) break;
    ecn_bits.push_back(r.packet->bytes()[15] & 3);  // IPv4 TOS byte
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(ecn_bits, (std::vector<uint8_t>{2, 2, 2, 2, 2, 2, 2, 2, 2, 3}));
  expect_clean_end(q);
}

TEST_F(Choke, TheLimitTailDrops) {
  configure(3);
  // limit 3 < min: the average never reaches qth_min; the fourth arrival finds the ring full.
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 0; i < 4; ++i) verdicts.push_back(q->enqueue(packet(1000, i), clock.now_ns()).verdict);
  EXPECT_EQ(verdicts.back(), EnqueueVerdict::Dropped);
  EXPECT_EQ(global<uint32_t>("pdrop"), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2}));
  expect_clean_end(q);
}

TEST_F(Choke, InitRefusesALimitBeyondTheRing) {
  q->object().set_global("limit", uint32_t{65536});
  EXPECT_THROW(q->init(), Error);
}

}  // namespace
}  // namespace bpfq::sched::test
