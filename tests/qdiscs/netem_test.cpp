// progs/netem.bpf.c against Linux's netem (sch_netem.c): each packet leaves exactly at its
// time_to_send (arrival + delay, plus serialization after the last queued packet with a rate),
// THROTTLE reports that time exactly; loss (random and Gilbert-Elliott), ECN marking, jitter
// with the uniform and table distributions, reordering with a gap, corruption and the packet
// limit behave as Linux's code says. Random draws come from a seeded PRNG, so statistical
// tests are deterministic; their bounds are derived in comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/sched/ecn.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint32_t kAlways = 0xffffffff;  // 100% on netem's u32 probability scale

class Netem : public ::testing::Test, public EngineFixture {
 protected:
  runtime::Prng prng{42};

  Netem() { env.prng = &prng; }

  std::unique_ptr<BpfQdisc> open_netem() { return open(library_object("netem")); }

  template <class T>
  std::unique_ptr<BpfQdisc> open_netem(std::initializer_list<std::pair<const char*, T>> params) {
    return open_init(library_object("netem"), params);
  }

  std::vector<Departure> run_until_empty(BpfQdisc& q) { return EngineFixture::run_until_empty(q, 100'000); }

  void expect_clean(BpfQdisc& q) {
    EngineFixture::expect_clean(q);
    EXPECT_EQ(q.qlen(), 0u);
    EXPECT_EQ(pool.in_use(), 0u);
  }
};

using U32 = std::initializer_list<std::pair<const char*, uint32_t>>;
using U64 = std::initializer_list<std::pair<const char*, uint64_t>>;

TEST_F(Netem, ConstantDelayReleasesEachPacketExactlyDelayLaterInOrder) {
  auto q = open_netem(U64{{"delay", 10 * kMs}});
  const uint64_t t0 = clock.now_ns();
  q->enqueue(packet(100, 1), t0);
  clock.set(t0 + 1 * kMs);
  q->enqueue(packet(1500, 2), clock.now_ns());
  clock.set(t0 + 2 * kMs + kMs / 2);
  q->enqueue(packet(60, 3), clock.now_ns());
  // Nothing is due yet: THROTTLE until packet 1's time, t0 + 10 ms, to the nanosecond.
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 10 * kMs);
  clock.set(t0 + 10 * kMs - 1);
  r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 10 * kMs);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{1, t0 + 10 * kMs},
                                                         {2, t0 + 11 * kMs},
                                                         {3, t0 + 12 * kMs + kMs / 2}}));
  EXPECT_EQ(q->stats().sent_packets, 3u);
  EXPECT_EQ(q->stats().sent_bytes, 1660u);
  expect_clean(*q);
}

TEST_F(Netem, NoDelayMeansNoWait) {
  auto q = open_netem(U32{{"limit", 1000}});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) q->enqueue(packet(100, i), t0);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{1, t0}, {2, t0}, {3, t0}}));
  expect_clean(*q);
}

TEST_F(Netem, RateAddsSerializationTimeAfterTheLastQueuedPacket) {
  // rate 1e6 B/s: 1000 bytes serialize in 1 ms; delay 5 ms.
  auto q = open_netem(U64{{"delay", 5 * kMs}, {"rate", 1'000'000}});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) q->enqueue(packet(1000, i), t0);
  // Packet 1: empty queue, now + 5 + 1 = t0 + 6 ms. Packet 2: the last queued leaves at t0 + 6,
  // so delay = max(0, 5 - (6 - 0)) = 0 counted from t0 + 6, plus 1 ms: t0 + 7. Packet 3: t0 + 8.
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{1, t0 + 6 * kMs}, {2, t0 + 7 * kMs}, {3, t0 + 8 * kMs}}));
  // Queue empty again at t0 + 8 ms; a packet at t0 + 20 ms: 20 + 5 + 1.
  clock.set(t0 + 20 * kMs);
  q->enqueue(packet(1000, 4), clock.now_ns());
  // A packet arriving while 4 waits, 2 ms later: 4 leaves at t0 + 26, so this one is due at
  // max(26, 22 + 5) + 0.5 ms (500 bytes) = t0 + 27.5 ms.
  clock.set(t0 + 22 * kMs);
  q->enqueue(packet(500, 5), clock.now_ns());
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{4, t0 + 26 * kMs}, {5, t0 + 27 * kMs + kMs / 2}}));
  expect_clean(*q);
}

TEST_F(Netem, RateCountsPacketOverheadAndCells) {
  // tc `rate 1000000 20 64 4`: (100 + 20) = 120 bytes -> 2 cells of 64 -> 2 * (64 + 4) = 136
  // bytes -> 136 us at 1e6 B/s.
  auto q = open_netem();
  q->object().set_global("rate", uint64_t{1'000'000});
  q->object().set_global("packet_overhead", int32_t{20});
  q->object().set_global("cell_size", uint32_t{64});
  q->object().set_global("cell_overhead", int32_t{4});
  q->init();
  const uint64_t t0 = clock.now_ns();
  q->enqueue(packet(100, 1), t0);
  q->enqueue(packet(100, 2), t0);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{1, t0 + 136'000}, {2, t0 + 272'000}}));
  expect_clean(*q);
}

TEST_F(Netem, LossOfZeroAndOneHundredPercentIsExact) {
  auto all = open_netem(U32{{"loss", kAlways}});
  for (uint32_t i = 0; i < 200; ++i)
    EXPECT_EQ(all->enqueue(packet(100, i), clock.now_ns()).verdict, EnqueueVerdict::Bypass);
  // Linux frees a lost packet and reports success to the sender (NET_XMIT_SUCCESS | BYPASS).
  EXPECT_EQ(all->stats().drops(DropReason::Bypass), 200u);
  EXPECT_EQ(all->object().get_global<uint64_t>("lost"), 200u);
  EXPECT_TRUE(run_until_empty(*all).empty());
  expect_clean(*all);

  auto none = open_netem(U32{{"loss", 0}});
  for (uint32_t i = 0; i < 200; ++i) {
    ASSERT_EQ(none->enqueue(packet(100, i), clock.now_ns()).verdict, EnqueueVerdict::Queued);
    ASSERT_EQ(run_until_empty(*none).size(), 1u);
  }
  EXPECT_EQ(none->stats().sent_packets, 200u);
  expect_clean(*none);
}

TEST_F(Netem, RandomLossRateIsWithinBinomialBounds) {
  // loss = round(0.1 * 2^32); Linux loses when loss >= rnd: p = (loss + 1) / 2^32 = 0.1. Over
  // n = 10000 packets the count is Binomial(n, p): mean 1000, sd sqrt(n p (1 - p)) = 30. The
  // test accepts mean +- 5 sd = [850, 1150]; a correct generator misses that with probability
  // < 6e-7 for an arbitrary seed, and the seed is fixed.
  const uint32_t loss = static_cast<uint32_t>(std::llround(0.1 * 4294967296.0));
  auto q = open_netem(U32{{"loss", loss}});
  const double p = (static_cast<double>(loss) + 1) / 4294967296.0;
  const int n = 10'000;
  const double mean = n * p, sd = std::sqrt(n * p * (1 - p));
  ASSERT_NEAR(sd, 30.0, 0.01);
  uint64_t lost = 0;
  for (int i = 0; i < n; ++i) {
    if (q->enqueue(packet(100, static_cast<uint32_t>(i)), clock.now_ns()).verdict == EnqueueVerdict::Bypass)
      ++lost;
    else
      ASSERT_EQ(run_until_empty(*q).size(), 1u);
  }
  EXPECT_GE(static_cast<double>(lost), mean - 5 * sd);
  EXPECT_LE(static_cast<double>(lost), mean + 5 * sd);
  EXPECT_EQ(q->object().get_global<uint64_t>("lost"), lost);
  EXPECT_EQ(q->stats().sent_packets, n - lost);
  expect_clean(*q);
}

TEST_F(Netem, EcnMarksInsteadOfLosingEcnCapablePackets) {
  auto q = open_netem(U32{{"loss", kAlways}, {"ecn", 1}});
  EXPECT_EQ(q->enqueue(ecn_packet(100, 1, /*ECT(0)*/ 2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(ecn_packet(100, 2, /*Not-ECT*/ 0), clock.now_ns()).verdict, EnqueueVerdict::Bypass);
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 1u);
  EXPECT_EQ(ecn_codepoint(r.packet->bytes()), 3);  // CE
  PacketPool::release(r.packet);
  EXPECT_EQ(q->object().get_global<uint64_t>("ecn_marked"), 1u);
  EXPECT_EQ(q->object().get_global<uint64_t>("lost"), 1u);
  expect_clean(*q);
}

TEST_F(Netem, UniformJitterKeepsDelaysWithinDelayPlusMinusJitter) {
  auto q = open_netem(U64{{"delay", 10 * kMs}, {"jitter", 2 * kMs}});
  const uint64_t t0 = clock.now_ns();
  const uint32_t n = 400;
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(q->enqueue(packet(100, i), t0).verdict, EnqueueVerdict::Queued);
  const std::vector<Departure> out = run_until_empty(*q);
  ASSERT_EQ(out.size(), n);
  // Linux's uniform tabledist: (rnd % (2 jitter)) + delay - jitter, in [8 ms, 12 ms).
  uint64_t lo = UINT64_MAX, hi = 0;
  bool reordered = false;
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t d = out[i].at_ns - t0;
    EXPECT_GE(d, 8 * kMs);
    EXPECT_LT(d, 12 * kMs);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    if (i > 0) {
      EXPECT_GE(out[i].at_ns, out[i - 1].at_ns);  // the tfifo releases in time order
      reordered |= out[i].mark < out[i - 1].mark;
    }
  }
  // The draws cover the range: P(all 400 above 8.2 ms) = 0.95^400 ~ 1e-9, likewise below 11.8.
  EXPECT_LT(lo, 8 * kMs + kMs / 5);
  EXPECT_GT(hi, 12 * kMs - kMs / 5);
  EXPECT_TRUE(reordered);  // jitter larger than the arrival spacing reorders, as in Linux
  expect_clean(*q);
}

TEST_F(Netem, DefaultTableIsTcsNormalDistribution) {
  auto q = open_netem();
  const auto table = q->object().get_global<std::array<int16_t, 4096>>("dist_table");
  // Values of iproute2's normal.dist: Phi^-1(4i / 16384) * 8192, clamped to s16.
  EXPECT_EQ(table[0], -32768);
  EXPECT_EQ(table[1], -28307);
  EXPECT_EQ(table[2047], -5);
  EXPECT_EQ(table[2048], 0);
  EXPECT_EQ(table[2049], 5);
  EXPECT_EQ(table[4095], 28858);
  EXPECT_TRUE(std::is_sorted(table.begin(), table.end()));
}

TEST_F(Netem, NormalDistributionHasTheRequestedMeanAndSpread) {
  auto q = open_netem();
  q->object().set_global("delay", 10 * kMs);
  q->object().set_global("jitter", 2 * kMs);
  q->object().set_global("distribution", uint32_t{1});
  q->init();
  const uint64_t t0 = clock.now_ns();
  const int n = 400;
  for (int i = 0; i < n; ++i) q->enqueue(packet(100, static_cast<uint32_t>(i)), t0);
  const std::vector<Departure> out = run_until_empty(*q);
  ASSERT_EQ(out.size(), static_cast<size_t>(n));
  double sum = 0, sum2 = 0;
  for (const Departure& d : out) {
    const double ms = static_cast<double>(d.at_ns - t0) / kMs;
    // |table| <= 32768 = 4 sigma: delays stay within 10 +- 8 ms (plus a rounding nanosecond).
    EXPECT_GE(ms, 2.0 - 1e-6);
    EXPECT_LE(ms, 18.0 + 1e-6);
    sum += ms;
    sum2 += ms * ms;
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  // Sample mean: sd 2 / sqrt(400) = 0.1 ms, so 10 +- 0.5 is 5 sd. Sample sd: its own sd is about
  // sigma / sqrt(2n) = 0.07 ms, so 2 +- 0.35 ms; a uniform +-2 ms would give 1.15 ms.
  EXPECT_NEAR(mean, 10.0, 0.5);
  EXPECT_NEAR(sd, 2.0, 0.35);
  expect_clean(*q);
}

TEST_F(Netem, TableDistributionFollowsLinuxsFixedPointArithmetic) {
  // A two-entry table: +1 sigma (8192) and -0.5 sigma (-4096). With sigma = 2 ms = 244 * 8192 +
  // 1152: +1: (1152 * 8192 + 4096) / 8192 = 1152, + 244 * 8192 = 2000000 -> delay + 2 ms.
  // -0.5: (1152 * -4096 - 4096) / 8192 = -576 (truncated), + 244 * -4096 = -999424 -> -1000000.
  auto q = open_netem();
  std::array<int16_t, 4096> table{};
  table[0] = 8192;
  table[1] = -4096;
  q->object().set_global("dist_table", table);
  q->object().set_global("dist_size", uint32_t{2});
  q->object().set_global("distribution", uint32_t{1});
  q->object().set_global("delay", 10 * kMs);
  q->object().set_global("jitter", 2 * kMs);
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 0; i < 50; ++i) q->enqueue(packet(100, i), t0);
  int at9 = 0, at12 = 0;
  for (const Departure& d : run_until_empty(*q)) {
    const uint64_t delay = d.at_ns - t0;
    EXPECT_TRUE(delay == 9 * kMs || delay == 12 * kMs) << delay;
    at9 += delay == 9 * kMs;
    at12 += delay == 12 * kMs;
  }
  EXPECT_EQ(at9 + at12, 50);
  EXPECT_GT(at9, 0);
  EXPECT_GT(at12, 0);
  expect_clean(*q);
}

struct GeCase {
  const char* name;
  uint32_t p, r, one_minus_h, one_minus_k;
  std::vector<uint32_t> sent;  // marks of 10 packets that get through
};

TEST_F(Netem, GilbertElliottEdgeCasesAreExact) {
  const GeCase cases[] = {
      // Good -> bad on the first packet (which the good state, 1-k = 0, passes); bad forever
      // after (r = 0), losing everything (1-h = 100%).
      {"p=1 r=0", kAlways, 0, kAlways, 0, {1}},
      // Good and bad alternate: good passes, bad loses.
      {"p=1 r=1", kAlways, kAlways, kAlways, 0, {1, 3, 5, 7, 9}},
      // Never bad; the good state loses everything (1-k = 100%) or nothing.
      {"p=0 1-k=1", 0, 0, kAlways, kAlways, {}},
      {"p=0 1-k=0", 0, 0, kAlways, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
      // Bad forever but the bad state loses nothing (1-h = 0).
      {"p=1 r=0 1-h=0", kAlways, 0, 0, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
  };
  for (const GeCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto q = open_netem(U32{{"loss_model", 1},
                            {"loss_gemodel_p", c.p},
                            {"loss_gemodel_r", c.r},
                            {"loss_gemodel_h", c.one_minus_h},
                            {"loss_gemodel_k", c.one_minus_k}});
    std::vector<uint32_t> sent;
    for (uint32_t i = 1; i <= 10; ++i) {
      q->enqueue(packet(100, i), clock.now_ns());
      for (const Departure& d : run_until_empty(*q)) sent.push_back(d.mark);
    }
    EXPECT_EQ(sent, c.sent);
    EXPECT_EQ(q->object().get_global<uint64_t>("lost"), 10 - c.sent.size());
    EXPECT_EQ(q->stats().drops(DropReason::Bypass), 10 - c.sent.size());
    expect_clean(*q);
  }
}

TEST_F(Netem, ReorderSendsEveryGapthPacketAtOnceNewestFirst) {
  // gap 3 with reorder 100%: packets 1, 2 are delayed (counter 0, 1 < gap - 1 = 2); packet 3
  // goes straight to the head and resets the counter; 4, 5 delayed; 6 to the head. Linux puts
  // reordered packets at the head of its queue, so 6 leaves before 3. `gap 3` alone means the
  // same (Linux assumes 100% when only a gap is given).
  for (const uint32_t reorder : {kAlways, 0u}) {
    SCOPED_TRACE(reorder);
    auto q = open_netem();
    q->object().set_global("delay", 10 * kMs);
    q->object().set_global("reorder", reorder);
    q->object().set_global("gap", uint32_t{3});
    q->init();
    const uint64_t t0 = clock.now_ns();
    for (uint32_t i = 1; i <= 6; ++i) q->enqueue(packet(100, i), t0);
    EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{6, t0}, {3, t0}, {1, t0 + 10 * kMs},
                                                           {2, t0 + 10 * kMs}, {4, t0 + 10 * kMs},
                                                           {5, t0 + 10 * kMs}}));
    EXPECT_EQ(q->object().get_global<uint64_t>("reordered"), 2u);
    expect_clean(*q);
    clock.advance(kMs);
  }
}

TEST_F(Netem, ReorderWithoutGapReordersWithTheGivenProbability) {
  // tc turns `reorder P` without a gap into gap 1: every packet is reordered with probability
  // P. At 100% all go straight out, the latest first when several wait.
  auto q = open_netem();
  q->object().set_global("delay", 10 * kMs);
  q->object().set_global("reorder", kAlways);
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) q->enqueue(packet(100, i), t0);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{3, t0}, {2, t0}, {1, t0}}));
  expect_clean(*q);
}

TEST_F(Netem, CorruptFlipsExactlyOneBit) {
  auto q = open_netem(U32{{"corrupt", kAlways}});
  for (uint32_t i = 0; i < 20; ++i) {
    Packet* pkt = packet(200, i);
    const std::vector<uint8_t> before(pkt->bytes().begin(), pkt->bytes().end());
    ASSERT_EQ(q->enqueue(pkt, clock.now_ns()).verdict, EnqueueVerdict::Queued);
    DequeueResult r = q->dequeue(clock.now_ns());
    ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
    ASSERT_EQ(r.packet->len(), before.size());
    int flipped = 0;
    for (size_t b = 0; b < before.size(); ++b) flipped += std::popcount(static_cast<uint8_t>(before[b] ^ r.packet->bytes()[b]));
    EXPECT_EQ(flipped, 1);
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(q->object().get_global<uint64_t>("corrupted"), 20u);
  expect_clean(*q);
}

TEST_F(Netem, LimitDropsPacketsBeyondIt) {
  auto q = open_netem();
  q->object().set_global("limit", uint32_t{3});
  q->object().set_global("delay", kMs);
  q->init();
  const uint64_t t0 = clock.now_ns();
  using V = EnqueueVerdict;
  std::vector<V> verdicts;
  for (uint32_t i = 1; i <= 5; ++i) verdicts.push_back(q->enqueue(packet(100, i), t0).verdict);
  EXPECT_EQ(verdicts, (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Dropped, V::Dropped}));
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{1, t0 + kMs}, {2, t0 + kMs}, {3, t0 + kMs}}));
  EXPECT_EQ(q->enqueue(packet(100, 6), clock.now_ns()).verdict, V::Queued);
  EXPECT_EQ(run_until_empty(*q).size(), 1u);
  expect_clean(*q);
}

TEST_F(Netem, ResetReleasesEveryWaitingPacket) {
  auto q = open_netem(U64{{"delay", 10 * kMs}, {"rate", 1'000'000}});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 5; ++i) q->enqueue(packet(1000, i), t0);
  EXPECT_EQ(pool.in_use(), 5u);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 5u);
  EXPECT_EQ(q->object().get_global<uint32_t>("t_len"), 0u);
  expect_clean(*q);
  // After reset the queue starts empty: no serialization behind the released packets.
  q->enqueue(packet(1000, 6), t0);
  EXPECT_EQ(run_until_empty(*q), (std::vector<Departure>{{6, t0 + 11 * kMs}}));
  expect_clean(*q);
}

TEST_F(Netem, InitRejectsUnsupportedOrInconsistentParameters) {
  struct Case {
    const char* var;
    uint32_t value;
    std::string message;
  };
  const Case cases[] = {
      {"limit", 65537, "netem: limit must be at most 65536 packets, not 65537"},
      {"duplicate", 1000, "netem: duplicate is not supported: a bpfq program cannot clone a packet"},
      {"reorder", 1000, "netem: reordering is not possible without a delay"},
      {"distribution", 2, "netem: distribution must be 0 (uniform) or 1 (table), not 2"},
      {"loss_model", 2, "netem: loss_model must be 0 (random) or 1 (gemodel), not 2"},
  };
  for (const Case& c : cases) {
    trace.clear();
    auto q = open_netem();
    q->object().set_global(c.var, c.value);
    try {
      q->init();
      ADD_FAILURE() << "init accepted " << c.var;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("qdisc/init returned 1"), std::string::npos) << e.what();
    }
    EXPECT_NE(trace_text().find(c.message), std::string::npos) << trace_text();
  }
}

}  // namespace
}  // namespace bpfq::sched::test
