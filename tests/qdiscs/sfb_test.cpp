// progs/sfb.bpf.c behaves as Linux's sch_sfb: per-flow buckets on 8 levels count queued packets
// and learn a marking probability (Blue); a flow whose buckets are full is dropped, a flow at
// probability 1 is inelastic and rate-limited, the queue has a packet limit. The cases use
// increments of a whole probability so that no random draw decides their outcome.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/runtime/prng.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

using V = EnqueueVerdict;

class Sfb : public ::testing::Test, public EngineFixture {
 protected:
  runtime::Prng prng{11};
  std::unique_ptr<BpfQdisc> q;

  void SetUp() override {
    env.prng = &prng;
    q = open(library_object("sfb"));
  }

  void set(const char* name, uint32_t value) { q->object().set_global(name, value); }
  void set_ns(const char* name, uint64_t ns) { q->object().set_global(name, ns); }
  template <typename T>
  T global(const char* name) { return q->object().get_global<T>(name); }

  // Offers `n` packets of one flow (its source port) now; the verdicts.
  std::vector<V> offer(uint16_t flow, int n, uint32_t first_mark) {
    std::vector<V> v;
    for (int i = 0; i < n; ++i) {
      FrameSpec spec;
      spec.payload_len = 958;
      spec.sport = flow;
      v.push_back(q->enqueue(frame(spec, first_mark + static_cast<uint32_t>(i)), clock.now_ns()).verdict);
    }
    return v;
  }
};

TEST_F(Sfb, AFlowWhoseBucketsHoldMaxPacketsIsDropped) {
  set("max", 5);
  set("target", 100);  // p_mark never rises: only the bucket length decides
  q->init();
  EXPECT_EQ(offer(1000, 7, 0), (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Queued, V::Queued,
                                                V::Congested, V::Congested}));
  EXPECT_EQ(global<uint32_t>("bucketdrop"), 2u);
  // Another flow shares at most some of its 8 buckets with the full one: it is admitted.
  EXPECT_EQ(offer(2000, 1, 100), (std::vector<V>{V::Queued}));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2, 3, 4, 100}));
  // Dequeues gave the buckets back: the first flow is admitted again.
  EXPECT_EQ(offer(1000, 1, 200), (std::vector<V>{V::Queued}));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{200}));
  expect_clean_end(q);
}

TEST_F(Sfb, AnInelasticFlowIsRateLimitedToThePenaltyRate) {
  set("target", 2);
  set("increment", 65535);  // one arrival at target makes p_mark 1: the flow is inelastic
  set("penalty_rate", 10);  // a token every 100 ms
  set("penalty_burst", 20);
  q->init();
  // qlen 0 and 1 leave p_mark 0; the third arrival finds 2 = target: p_mark 1, and no token has
  // accumulated since init.
  EXPECT_EQ(offer(1000, 3, 0), (std::vector<V>{V::Queued, V::Queued, V::Congested}));
  EXPECT_EQ(global<uint32_t>("penaltydrop"), 1u);
  clock.advance(100'000'000);  // 100 ms: one token
  EXPECT_EQ(offer(1000, 2, 10), (std::vector<V>{V::Queued, V::Congested}));
  clock.advance(1'000'000'000);  // 1 s: ten tokens
  EXPECT_EQ(offer(1000, 11, 20),
            (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Queued, V::Queued, V::Queued, V::Queued,
                            V::Queued, V::Queued, V::Queued, V::Congested}));
  EXPECT_EQ(global<uint32_t>("penaltydrop"), 3u);
  EXPECT_EQ(drain(*q).size(), 13u);
  expect_clean_end(q);
}

TEST_F(Sfb, AnEmptyBucketLowersTheProbabilityAgain) {
  set("target", 1);
  set("increment", 65535);
  set("decrement", 65535);
  set("penalty_rate", 0);  // an inelastic flow is always dropped
  q->init();
  // The second arrival finds 1 = target: p_mark 1, dropped (no penalty budget).
  EXPECT_EQ(offer(1000, 2, 0), (std::vector<V>{V::Queued, V::Congested}));
  EXPECT_EQ(global<uint32_t>("penaltydrop"), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0}));
  // Empty buckets: the next arrival lowers p_mark by a whole probability and is admitted.
  EXPECT_EQ(offer(1000, 1, 5), (std::vector<V>{V::Queued}));
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5}));
  expect_clean_end(q);
}

TEST_F(Sfb, TheQueueLimitDropsWhateverTheFlow) {
  set("limit", 3);
  q->init();
  std::vector<V> v;
  for (uint16_t flow = 1; flow <= 4; ++flow) v.push_back(offer(flow, 1, flow)[0]);
  EXPECT_EQ(v, (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Congested}));
  EXPECT_EQ(global<uint32_t>("queuedrop"), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3}));
  expect_clean_end(q);
}

TEST_F(Sfb, RehashSwapsTheBucketSetsAfterTheInterval) {
  set_ns("rehash", 1'000'000'000);
  set_ns("db", 100'000'000);
  q->init();
  EXPECT_EQ(global<uint32_t>("slot"), 0u);
  offer(1000, 1, 0);
  clock.advance(950'000'000);  // within db of the rehash: the standby set starts learning
  offer(1000, 1, 1);
  EXPECT_EQ(global<uint32_t>("double_buffering"), 1u);
  clock.advance(100'000'000);  // past the interval: the sets swap
  offer(1000, 1, 2);
  EXPECT_EQ(global<uint32_t>("slot"), 1u);
  EXPECT_EQ(global<uint32_t>("double_buffering"), 0u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2}));
  expect_clean_end(q);
}

TEST_F(Sfb, InitRefusesAWarmupLongerThanTheRehashInterval) {
  set_ns("rehash", 1'000'000);
  set_ns("db", 2'000'000);
  EXPECT_THROW(q->init(), Error);
}

}  // namespace
}  // namespace bpfq::sched::test
