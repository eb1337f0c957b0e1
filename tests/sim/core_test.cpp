// The event loop, the delay histogram, determinism and the report's JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/event_loop.hpp>

#include "../../src/io/sim/delay_histogram.hpp"
#include "sim_test_util.hpp"

namespace bpfq::io::sim::test {
namespace {

struct Recorder final : EventTarget {
  EventLoop* loop = nullptr;
  std::vector<std::pair<uint64_t, uint32_t>> seen;
  void on_event(uint32_t tag, sched::Packet*) override {
    seen.emplace_back(loop->now(), tag);
    if (tag == 100) loop->schedule_in(0, *this, 101);  // scheduled while running: same time, later
  }
};

TEST(SimEventLoop, RunsByTimeThenSchedulingOrderAndMovesTheClock) {
  runtime::ManualClock clock;
  EventLoop loop(clock);
  Recorder r;
  r.loop = &loop;
  loop.schedule_at(30, r, 3);
  loop.schedule_at(10, r, 1);
  loop.schedule_at(10, r, 2);
  loop.schedule_at(20, r, 100);
  loop.schedule_at(20, r, 4);
  loop.run_until(25);
  EXPECT_EQ(r.seen, (std::vector<std::pair<uint64_t, uint32_t>>{{10, 1}, {10, 2}, {20, 100}, {20, 4}, {20, 101}}));
  EXPECT_EQ(clock.now_ns(), 25u);
  EXPECT_EQ(loop.pending(), 1u);
  EXPECT_EQ(loop.next_time(), 30u);
  EXPECT_EQ(loop.delivered(), 5u);
}

// Heap events and lane events (behind the head and before the lane's last) alike.
TEST(SimEventLoop, ClearReleasesThePacketsOfPendingEvents) {
  sched::PacketPool pool(sched::PacketPoolConfig{.packets = 8});
  runtime::ManualClock clock;
  {
    EventLoop loop(clock);
    Recorder r;
    loop.schedule_at(5, r, 0, pool.alloc());
    loop.schedule_at(6, r, 0, pool.alloc());
    const uint32_t lane = loop.add_lane();
    for (int i = 0; i < 3; ++i) loop.schedule_in_lane(lane, 10, r, 0, pool.alloc());
    loop.schedule_in_lane(lane, 5, r, 0, pool.alloc());  // earlier than the lane's last: the heap
    EXPECT_EQ(loop.pending(), 6u);
    EXPECT_EQ(pool.in_use(), 6u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

// Lanes (fixed delays, FIFO) mixed with plain events and with lane events that break the
// lane's order: every event is delivered once, in exactly (time, scheduling order), as if all
// were in one heap. Each delivered event schedules up to two more from a seeded generator.
struct Spawner final : EventTarget {
  EventLoop* loop = nullptr;
  std::vector<uint32_t> lanes;
  std::vector<uint64_t> lane_delays;
  uint64_t rng = 12345;
  uint32_t next_tag = 0;
  uint32_t budget = 20000;
  std::vector<std::pair<uint64_t, uint32_t>> seen;  // (time, tag); tags are scheduling order

  uint64_t next() {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 33;
  }
  void spawn() {
    if (budget == 0) return;
    --budget;
    const uint64_t r = next();
    const uint32_t tag = next_tag++;
    if (r % 4 == 0) {
      loop->schedule_in(next() % 50, *this, tag);  // plain, any delay (0: now)
    } else {
      const size_t lane = r % lanes.size();
      // One in eight lane events is shorter than the lane's delay: out of the lane's order.
      const uint64_t delay = r % 8 == 1 ? next() % lane_delays[lane] : lane_delays[lane];
      loop->schedule_in_lane(lanes[lane], delay, *this, tag);
    }
  }
  void on_event(uint32_t tag, sched::Packet*) override {
    seen.emplace_back(loop->now(), tag);
    const uint64_t r = next() % 3;
    for (uint64_t i = 0; i < r; ++i) spawn();
  }
};

TEST(SimEventLoop, LanesKeepTheOrderOfOneHeap) {
  runtime::ManualClock clock;
  EventLoop loop(clock);
  Spawner s;
  s.loop = &loop;
  for (uint64_t d : {7, 20, 20, 33}) {
    s.lanes.push_back(loop.add_lane());
    s.lane_delays.push_back(d);
  }
  for (int i = 0; i < 40; ++i) s.spawn();
  size_t most_pending = 0;
  while (loop.run_one()) most_pending = std::max(most_pending, loop.pending());
  ASSERT_EQ(s.seen.size(), s.next_tag);
  EXPECT_GT(s.seen.size(), 1000u);
  EXPECT_GT(most_pending, 20u);  // lanes held events behind their heads
  for (size_t i = 1; i < s.seen.size(); ++i) ASSERT_LT(s.seen[i - 1], s.seen[i]) << "delivery " << i;
  EXPECT_EQ(loop.pending(), 0u);
}

TEST(SimDelayHistogram, PercentilesWithinOneSixtyFourthAndExactExtremes) {
  DelayHistogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  DelaySummary s = h.summary();
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.min_ns, 1000u);
  EXPECT_EQ(s.max_ns, 1'000'000u);
  EXPECT_DOUBLE_EQ(s.mean_ns, 500500.0);
  EXPECT_NEAR(static_cast<double>(s.p50_ns), 500000.0, 500000.0 / 64);
  EXPECT_NEAR(static_cast<double>(s.p90_ns), 900000.0, 900000.0 / 64);
  EXPECT_NEAR(static_cast<double>(s.p99_ns), 990000.0, 990000.0 / 64);
  DelayHistogram small;
  small.record(7);
  small.record(63);
  EXPECT_EQ(small.summary().p50_ns, 7u);  // below 64 every value has its own bucket
  EXPECT_EQ(small.summary().p99_ns, 63u);
  EXPECT_EQ(DelayHistogram{}.summary().count, 0u);
}

TEST(SimReport, JainIndex) {
  EXPECT_DOUBLE_EQ(jain_index({}), 1.0);
  EXPECT_DOUBLE_EQ(jain_index({5, 5, 5}), 1.0);
  EXPECT_DOUBLE_EQ(jain_index({1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(jain_index({1, 3}), 16.0 / 20.0);
}

Scenario random_scenario(uint64_t seed) {
  Scenario s = preset("mixed");
  s.duration_ns = 5 * kSecond;
  s.seed = seed;
  UdpFlowSpec p;
  p.name = "poisson";
  p.pattern = UdpPattern::Poisson;
  p.rate_bps = 2'000'000;
  s.udp.push_back(p);
  return s;
}

TEST(SimDeterminism, SameSeedGivesByteIdenticalJson) {
  std::string a = report_to_json(run_pfifo(random_scenario(42), 100));
  std::string b = report_to_json(run_pfifo(random_scenario(42), 100));
  EXPECT_EQ(a, b);
  std::string c = report_to_json(run_pfifo(random_scenario(43), 100));
  EXPECT_NE(a, c);
}

TEST(SimReport, JsonHoldsEverySection) {
  Scenario s = preset("bufferbloat");
  s.duration_ns = 3 * kSecond;
  Report r = run_pfifo(s, 1000);
  nlohmann::json j = nlohmann::json::parse(report_to_json(r));
  EXPECT_EQ(j["scenario"], "bufferbloat");
  EXPECT_EQ(j["seed"], 1);
  EXPECT_EQ(j["qdisc"]["kind"], "pfifo");
  EXPECT_EQ(j["qdisc"]["sent_packets"], r.qdisc.stats.sent_packets);
  EXPECT_EQ(j["flows"].size(), 5u);
  EXPECT_EQ(j["flows"][0]["kind"], "tcp");
  EXPECT_EQ(j["flows"][0]["cc"], "cubic");
  EXPECT_EQ(j["flows"][4]["kind"], "ping");
  EXPECT_TRUE(j["flows"][4].contains("rtt"));
  EXPECT_FALSE(j["flows"][4].contains("retransmits"));
  EXPECT_EQ(j["series"]["time_s"].size(), 30u);
  EXPECT_EQ(j["series"]["flow_bps"][0].size(), 4u);  // the tcp flows (pings have no column)
  EXPECT_DOUBLE_EQ(j["series"]["time_s"][0].get<double>(), 0.1);
  EXPECT_FALSE(nlohmann::json::parse(report_to_json(r, 2, false)).contains("series"));
}

TEST(SimSimulation, ProgressIsReportedOncePerSampleInterval) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, kSecond);
  s.sample_interval_ns = 250 * kMillisecond;
  Simulation sim(s);
  std::vector<uint64_t> times;
  sim.set_progress([&](const Progress& p) {
    times.push_back(p.now_ns);
    EXPECT_EQ(p.duration_ns, kSecond);
  });
  sched::PfifoQdisc q;
  sim.run(q);
  EXPECT_EQ(times, (std::vector<uint64_t>{250 * kMillisecond, 500 * kMillisecond, 750 * kMillisecond, kSecond}));
  EXPECT_THROW(sim.run(q), Error);
}

TEST(SimSimulation, FactoryGetsTheSimulationsClockPoolAndDevice) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, kSecond);
  s.mtu = 9000 - 6966;  // 2034: still fits a pool buffer with the Ethernet header
  s.pings.push_back(PingSpec{});
  bool called = false;
  Report r = simulate(s, [&](const SimContext& ctx) {
    called = true;
    EXPECT_EQ(ctx.device.mtu, 2034u);
    EXPECT_EQ(ctx.clock.now_ns(), 0u);
    EXPECT_EQ(ctx.pool.capacity(), s.pool_packets);
    return std::make_unique<sched::BfifoQdisc>(std::nullopt, sched::Handle{}, ctx.device);
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(r.qdisc.kind, "bfifo");
  EXPECT_EQ(r.flows[0].rtt.count, 10u);
}

TEST(SimScenario, PresetsAndValidation) {
  EXPECT_EQ(preset("bufferbloat").tcp.size(), 4u);
  EXPECT_EQ(preset("incast").tcp.size(), 32u);
  try {
    preset("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "unknown scenario preset 'nope'");
    EXPECT_EQ(e.hint(), "one of: bufferbloat, mixed, incast");
  }
  Scenario s;
  s.udp.push_back(UdpFlowSpec{});
  s.udp[0].payload_bytes = 1473;
  try {
    s.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "udp[0].size 1473 exceeds the MTU: at most 1472 bytes (mtu - 28 header bytes)");
  }
}

}  // namespace
}  // namespace bpfq::io::sim::test
