// The engine's run loop and watchdog (sched::QdiscRunner, sched::Watchdog): unit behaviour on a
// virtual clock, and the regressions they fixed in the simulator, which is now a thin user.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/qdisc_runner.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

// A Timer that records what it was asked.
struct RecordingTimer final : Timer {
  std::vector<uint64_t> armed;
  int cancels = 0;
  void arm(uint64_t at_ns) override { armed.push_back(at_ns); }
  void cancel() override { ++cancels; }
};

// A device that takes `room` packets, then is busy until room is given again.
struct CountingLink final : Transmitter {
  int room = 1000;
  std::vector<std::pair<uint32_t, uint64_t>> sent;  // mark, time
  bool can_transmit() const override { return room > 0; }
  bool transmit(Packet* pkt, uint64_t now_ns) override {
    --room;
    sent.emplace_back(pkt->skb.mark, now_ns);
    PacketPool::release(pkt);
    return true;
  }
};

TEST(Watchdog, TheEarliestRequestWinsAndIsRaisedToTheMinimumSlack) {
  runtime::ManualClock clock(1'000'000);
  RecordingTimer timer;
  Watchdog wd(clock, timer);
  wd.schedule(5'000'000);
  wd.schedule(7'000'000);  // later than the armed one: no change
  wd.schedule(3'000'000);
  EXPECT_EQ(timer.armed, (std::vector<uint64_t>{5'000'000, 3'000'000}));
  EXPECT_EQ(wd.expires_ns(), 3'000'000u);

  clock.set(2'999'999);
  EXPECT_FALSE(wd.fire());  // early: still armed
  clock.set(3'000'000);
  EXPECT_TRUE(wd.fire());
  EXPECT_FALSE(wd.armed());
  EXPECT_EQ(wd.wakeups(), 1u);

  wd.schedule(clock.now_ns());      // delay 0
  wd.schedule(clock.now_ns() - 5);  // in the past
  EXPECT_EQ(wd.expires_ns(), 3'000'000 + Watchdog::kMinSlackNs);
  wd.cancel();
  EXPECT_EQ(timer.cancels, 1);
  wd.schedule(UINT64_MAX);  // a saturated delay: never
  EXPECT_FALSE(wd.armed());
}

TEST(Watchdog, NowPlusDelaySaturatesInsteadOfWrapping) {
  EXPECT_EQ(saturating_add(10, 20), 30u);
  EXPECT_EQ(saturating_add(10, UINT64_MAX - 5), UINT64_MAX);
  EXPECT_EQ(saturating_add(UINT64_MAX, 1), UINT64_MAX);
}

// engine_hold.bpf.o on a virtual clock at 0.
struct HoldQdisc : EngineFixture {
  std::unique_ptr<BpfQdisc> q;
  explicit HoldQdisc(uint32_t dequeue_throttle = 0, uint64_t dequeue_delay = 0) {
    clock.set(0);
    q = open(test_object("engine_hold"));
    q->object().set_global("dequeue_throttle", dequeue_throttle);
    q->object().set_global("dequeue_delay", dequeue_delay);
    q->init();
  }
  Packet* packet(uint32_t mark) { return EngineFixture::packet(100, mark); }
};

TEST(QdiscRunner, AnEnqueueThrottleArmsTheWatchdogAndItsWakeUpSendsThePacket) {
  HoldQdisc h;
  RecordingTimer timer;
  CountingLink link;
  QdiscRunner runner(*h.q, h.clock, timer, link);
  h.clock.set(1000);
  EXPECT_EQ(runner.enqueue(h.packet(7)).verdict, EnqueueVerdict::Queued);
  EXPECT_TRUE(link.sent.empty());  // the dequeue after the enqueue found nothing due
  ASSERT_EQ(timer.armed, (std::vector<uint64_t>{1000 + 5'000'000}));

  h.clock.set(1000 + 5'000'000);
  runner.on_timer();
  ASSERT_EQ(link.sent.size(), 1u);
  EXPECT_EQ(link.sent[0], (std::pair<uint32_t, uint64_t>{7, 5'001'000}));
  EXPECT_EQ(runner.watchdog().wakeups(), 1u);
  EXPECT_TRUE(h.q->stats().conserved());
}

TEST(QdiscRunner, ABusyDeviceStopsTheLoopAndItsWakeResumesIt) {
  HoldQdisc h;
  RecordingTimer timer;
  CountingLink link;
  link.room = 1;
  QdiscRunner runner(*h.q, h.clock, timer, link);
  for (uint32_t m = 1; m <= 3; ++m) runner.enqueue(h.packet(m));
  h.clock.set(5'000'000);
  runner.on_timer();
  EXPECT_EQ(link.sent.size(), 1u);  // room for one
  EXPECT_EQ(h.q->qlen(), 2u);
  link.room = 5;
  runner.wake();
  ASSERT_EQ(link.sent.size(), 3u);
  EXPECT_EQ(link.sent[2].first, 3u);
  EXPECT_EQ(h.q->qlen(), 0u);
}

TEST(QdiscRunner, DrainMovesVirtualTimeThroughThrottlesAndResetsWhatIsLeft) {
  HoldQdisc h(1, 1'000'000);
  RecordingTimer timer;
  CountingLink link;
  link.room = 0;
  QdiscRunner runner(*h.q, h.clock, timer, link);
  for (uint32_t m = 1; m <= 4; ++m) runner.enqueue(h.packet(m));
  std::vector<uint32_t> drained;
  runner.drain([&](Packet* p) {
    drained.push_back(p->skb.mark);
    PacketPool::release(p);
  },
               [&](uint64_t t) { h.clock.set(t); });
  EXPECT_EQ(drained, (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(h.clock.now_ns(), 5'000'000u);  // stepped by the program's 1 ms throttles
  EXPECT_EQ(runner.stats().reset_at_end, 0u);

  // Real time (no advance): the drain stops at the first throttle; a reset releases the rest.
  for (uint32_t m = 5; m <= 6; ++m) runner.enqueue(h.packet(m));
  runner.drain([&](Packet* p) { PacketPool::release(p); });
  EXPECT_EQ(runner.stats().reset_at_end, 2u);
  EXPECT_EQ(h.q->stats().drops(DropReason::Reset), 2u);
  EXPECT_TRUE(h.q->stats().conserved());
}

// ---- the simulator on the runner ----

io::sim::Scenario ping_only() {
  io::sim::Scenario s;
  s.duration_ns = 3'000'000'000;
  s.pings.push_back(io::sim::PingSpec{});
  return s;
}

io::sim::Report run_hold(const io::sim::Scenario& s, uint32_t dequeue_throttle, uint64_t dequeue_delay) {
  return io::sim::simulate(s, [&](const io::sim::SimContext& ctx) -> std::unique_ptr<Qdisc> {
    auto q = BpfQdisc::open(test_object("engine_hold"), Handle::make(1, 0), BpfQdiscEnv{&ctx.pool, &ctx.clock});
    q->object().set_global("dequeue_throttle", dequeue_throttle);
    q->object().set_global("dequeue_delay", dequeue_delay);
    q->init();
    return q;
  });
}

// Was: ping RTT 140 ms on a 40 ms path (the enqueue side's THROTTLE was lost; a packet waited
// for the next ping's enqueue, 100 ms later).
TEST(SimRunner, AnEnqueueThrottleHoldsEachPingFiveMillisecondsNotUntilTheNextPacket) {
  const io::sim::Report r = run_hold(ping_only(), 0, 0);
  ASSERT_EQ(r.flows.size(), 1u);
  const io::sim::DelaySummary& rtt = r.flows[0].rtt;
  EXPECT_EQ(rtt.count, 30u);
  EXPECT_GE(rtt.min_ns, 45'000'000u);
  EXPECT_LE(rtt.max_ns, 46'000'000u);
  EXPECT_EQ(r.runner.watchdog_wakeups, 30u);
}

// Was: a dequeue THROTTLE with delay 0 re-armed every simulated nanosecond (5M wake-ups per
// 5 ms hold); the minimum slack bounds it to one per 10 µs.
TEST(SimRunner, ADequeueThrottleOfZeroDelayWakesAtTheMinimumSlack) {
  io::sim::Scenario s = ping_only();
  s.duration_ns = 1'000'000'000;
  const io::sim::Report r = run_hold(s, 1, 0);
  EXPECT_EQ(r.flows[0].rtt.count, 10u);
  EXPECT_LE(r.flows[0].rtt.max_ns, 46'000'000u);
  // 10 pings held 5 ms each, woken every 10 µs while one waits: about 500 per ping.
  EXPECT_LE(r.runner.watchdog_wakeups, 10u * (5'000'000 / Watchdog::kMinSlackNs + 2));
  EXPECT_GE(r.runner.watchdog_wakeups, 10u * (5'000'000 / Watchdog::kMinSlackNs - 2));
}

// Was: now + delay wrapped to a time in the past for delays near 2^64.
TEST(SimRunner, ADelayNearTwoToTheSixtyFourIsNeverNotThePast) {
  const io::sim::Report r = run_hold(ping_only(), 1, UINT64_MAX - 1000);
  EXPECT_EQ(r.flows[0].rtt.count, 30u);  // the enqueue side's wake-ups still send each ping
  EXPECT_LE(r.flows[0].rtt.max_ns, 46'000'000u);
  EXPECT_EQ(r.runner.watchdog_wakeups, 30u);
}

// Was: the end-of-run drain did not move the clock programs read, so a pacing program was asked
// up to 1M times at the same instant.
TEST(SimRunner, TheFinalDrainOfATokenBucketMovesTimeAndEndsQuickly) {
  io::sim::Scenario s = io::sim::preset("bufferbloat");
  s.duration_ns = 1'000'000'000;
  const io::sim::Report r = io::sim::simulate(s, [](const io::sim::SimContext& ctx) -> std::unique_ptr<Qdisc> {
    auto q = BpfQdisc::open(library_object("tbf"), Handle::make(1, 0), BpfQdiscEnv{&ctx.pool, &ctx.clock});
    q->object().set_global("rate", uint64_t{625'000});  // 5 Mbit/s
    q->object().set_global("burst", uint32_t{10'000});
    q->object().set_global("limit", uint32_t{100'000});
    q->init();
    return q;
  });
  EXPECT_GT(r.qdisc.stats.qlen, 10u);
  EXPECT_EQ(r.runner.drained_at_end, r.qdisc.stats.qlen);
  EXPECT_EQ(r.runner.reset_at_end, 0u);
  uint64_t queued_at_end = 0;
  for (const io::sim::FlowReport& f : r.flows) queued_at_end += f.packets_sent - f.packets_delivered - f.drops;
  EXPECT_GE(queued_at_end, r.qdisc.stats.qlen);
  // Every dequeue call of the run and of the drain: a few per packet, not a million.
  EXPECT_LT(r.runner.dequeue_calls, 4 * r.qdisc.stats.enqueued_packets + 1000);
}

}  // namespace
}  // namespace bpfq::sched::test
