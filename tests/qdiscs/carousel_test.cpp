// progs/carousel.bpf.c against Carousel (Saeed et al., SIGCOMM 2017): packets timestamped by
// their flow's rate limit (or skb->tstamp) go into slots of `granularity` ns; a slot's packets
// leave when the wheel reaches it, THROTTLE until the next non-empty slot; beyond the horizon
// (slots * granularity) they are dropped.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kT0 = 2 * kMs;

class Carousel : public ::testing::Test, public EngineFixture {
 public:
  std::unique_ptr<BpfQdisc> open_carousel(uint32_t limit, uint64_t granularity, uint32_t slots, uint64_t rate,
                                          std::initializer_list<std::pair<uint32_t, uint64_t>> rates = {}) {
    auto q = open(library_object("carousel"));
    q->object().set_global<uint32_t>("limit", limit);
    q->object().set_global<uint64_t>("granularity", granularity);
    q->object().set_global<uint32_t>("slots", slots);
    q->object().set_global<uint64_t>("rate", rate);
    for (auto [prio, r] : rates) {
      uint32_t k = prio;
      uint64_t v = r;
      EXPECT_EQ(q->object().map("flow_rate").update(&k, &v, BPF_ANY), 0);
    }
    q->init();
    return q;
  }

  // A 1000-byte UDP frame of flow `flow` at the clock's time.
  EnqueueVerdict offer(BpfQdisc& q, uint32_t flow, uint32_t mark, uint32_t priority = 0, uint64_t tstamp = 0) {
    FrameSpec spec;
    spec.payload_len = 1000 - 42;
    spec.sport = static_cast<uint16_t>(2000 + flow);
    Packet* pkt = frame(spec, mark);
    pkt->skb.priority = priority;
    pkt->skb.tstamp = tstamp;
    const EnqueueVerdict v = q.enqueue(pkt, clock.now_ns()).verdict;
    EXPECT_TRUE(q.stats().conserved());
    return v;
  }

  void expect_clean_empty(std::unique_ptr<BpfQdisc>& q) {
    const QdiscStats& s = q->stats();
    EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("qlen"), s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("backlog"), s.backlog);
    EXPECT_EQ(q->qlen(), 0u);
    expect_clean_end(q);
  }
};

TEST_F(Carousel, Defaults) {
  auto q = open(library_object("carousel"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 10000u);
  EXPECT_EQ(q->object().get_global<uint64_t>("granularity"), 10 * kUs);
  EXPECT_EQ(q->object().get_global<uint32_t>("slots"), 20000u);
  EXPECT_EQ(q->object().get_global<uint64_t>("rate"), 0u);
  q->init();
  expect_clean_end(q);
}

TEST_F(Carousel, BadParametersAreRefused) {
  struct P {
    uint32_t limit;
    uint64_t granularity;
    uint32_t slots;
  };
  for (P p : {P{0, 1, 1}, P{65536, 1, 1}, P{10, 0, 1}, P{10, 1, 0}}) {
    auto q = open(library_object("carousel"));
    q->object().set_global<uint32_t>("limit", p.limit);
    q->object().set_global<uint64_t>("granularity", p.granularity);
    q->object().set_global<uint32_t>("slots", p.slots);
    EXPECT_THROW(q->init(), Error);
  }
}

// rate 1 MB/s: a flow's 1000-byte packets are 1 ms apart; each leaves when the wheel reaches its
// slot, the qdisc THROTTLEs in between.
TEST_F(Carousel, RateLimitSpacesAFlowsPackets) {
  auto q = open_carousel(100, 10 * kUs, 20000, 1'000'000);
  clock.set(kT0);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);
  uint64_t throttles = 0;
  EXPECT_EQ(run_until_empty(*q, 20, &throttles),
            (std::vector<Departure>{{1, kT0}, {2, kT0 + kMs}, {3, kT0 + 2 * kMs}}));
  EXPECT_EQ(throttles, 2u);
  expect_clean_empty(q);
}

// Two flows, each at its own rate (priority 1: 500 kB/s, 2 ms per packet; priority 0: the
// default 1 MB/s): their timestamps interleave on the wheel.
TEST_F(Carousel, FlowsHaveTheirOwnRates) {
  auto q = open_carousel(100, 10 * kUs, 20000, 1'000'000, {{1, 500'000}});
  clock.set(kT0);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i, 1), EnqueueVerdict::Queued);    // 0, 2, 4 ms
  for (uint32_t i = 11; i <= 13; ++i) EXPECT_EQ(offer(*q, 2, i, 0), EnqueueVerdict::Queued);  // 0, 1, 2 ms
  EXPECT_EQ(run_until_empty(*q, 20),
            (std::vector<Departure>{{1, kT0}, {11, kT0}, {12, kT0 + kMs}, {2, kT0 + 2 * kMs},
                                    {13, kT0 + 2 * kMs}, {3, kT0 + 4 * kMs}}));
  expect_clean_empty(q);
}

// Rate 0 (no limit): skb->tstamp alone places the packet; a slot is released at its start, so
// times inside one granularity leave together, in arrival order.
TEST_F(Carousel, SlotsQuantiseTimestamps) {
  auto q = open_carousel(100, 10 * kUs, 20000, 0);
  clock.set(kT0);
  EXPECT_EQ(offer(*q, 1, 1, 0, kT0 + 27 * kUs), EnqueueVerdict::Queued);  // slot of kT0 + 20us
  EXPECT_EQ(offer(*q, 2, 2, 0, kT0 + 21 * kUs), EnqueueVerdict::Queued);  // same slot
  EXPECT_EQ(offer(*q, 3, 3, 0, kT0 + 15 * kUs), EnqueueVerdict::Queued);  // kT0 + 10us
  EXPECT_EQ(offer(*q, 4, 4, 0, kT0 - 50 * kUs), EnqueueVerdict::Queued);  // in the past: now
  EXPECT_EQ(offer(*q, 5, 5, 0, 0), EnqueueVerdict::Queued);               // now
  EXPECT_EQ(run_until_empty(*q, 20),
            (std::vector<Departure>{{4, kT0}, {5, kT0}, {3, kT0 + 10 * kUs}, {1, kT0 + 20 * kUs},
                                    {2, kT0 + 20 * kUs}}));
  expect_clean_empty(q);
}

// slots 100 of 10 us: a horizon of 1 ms. A timestamp 100 slots ahead is dropped, 99 is kept; the
// rate limiter's timestamps run into the horizon too.
TEST_F(Carousel, DropsBeyondTheHorizon) {
  auto q = open_carousel(100, 10 * kUs, 100, 0, {{1, 4'000'000}});  // priority 1: 250 us per packet
  clock.set(kT0);
  EXPECT_EQ(offer(*q, 1, 1, 0, kT0 + kMs), EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*q, 1, 2, 0, kT0 + kMs - 10 * kUs), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 15; ++i) offer(*q, 2, i, 1);  // 0, 250, 500, 750 us; 1000 us is out
  EXPECT_EQ(q->object().get_global<uint64_t>("horizon_drops"), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(run_until_empty(*q, 20),
            (std::vector<Departure>{{11, kT0}, {12, kT0 + 250 * kUs}, {13, kT0 + 500 * kUs},
                                    {14, kT0 + 750 * kUs}, {2, kT0 + 990 * kUs}}));
  expect_clean_empty(q);
}

TEST_F(Carousel, FullDropsTheArrival) {
  auto q = open_carousel(2, 10 * kUs, 100, 0);
  EXPECT_EQ(offer(*q, 1, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 2), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3, 3), EnqueueVerdict::Dropped);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
  expect_clean_empty(q);
}

TEST_F(Carousel, ResetReleasesEverything) {
  auto q = open_carousel(100, 10 * kUs, 20000, 1'000'000);
  clock.set(kT0);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(pool.in_use(), 0u);
  // The flow's next release time is forgotten: its next packet leaves at once.
  EXPECT_EQ(offer(*q, 1, 4), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4}));
  expect_clean_empty(q);
}

}  // namespace
}  // namespace bpfq::sched::test
