// The live watchdog timer: a timerfd armed at absolute CLOCK_MONOTONIC times. Asserts order,
// never durations: it fires at or after the armed time, not before, once per arming.
#include <poll.h>

#include <gtest/gtest.h>

#include <bpfq/io/live/timerfd_timer.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/qdisc_runner.hpp>

namespace bpfq::io {
namespace {

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

TEST(TimerFdTimer, FiresAtOrAfterTheArmedTimeAndOnlyOnce) {
  runtime::MonotonicClock clock;
  uint64_t fired_at = 0;
  int fires = 0;
  TimerFdTimer timer([&] {
    fired_at = clock.now_ns();
    ++fires;
  });
  const uint64_t at = clock.now_ns() + 2'000'000;
  timer.arm(at);
  EXPECT_TRUE(timer.armed());
  ASSERT_TRUE(readable(timer.fd(), 5000));
  EXPECT_TRUE(timer.fire());
  EXPECT_GE(fired_at, at);
  EXPECT_EQ(fires, 1);
  EXPECT_FALSE(timer.fire());  // nothing more to read
  EXPECT_FALSE(readable(timer.fd(), 20));
}

TEST(TimerFdTimer, ATimeInThePastFiresAtOnceAndCancelDisarms) {
  int fires = 0;
  TimerFdTimer timer([&] { ++fires; });
  timer.arm(0);
  ASSERT_TRUE(readable(timer.fd(), 5000));
  EXPECT_TRUE(timer.fire());
  runtime::MonotonicClock clock;
  timer.arm(clock.now_ns() + 1'000'000);
  timer.cancel();
  EXPECT_FALSE(timer.armed());
  EXPECT_FALSE(readable(timer.fd(), 30));
  EXPECT_EQ(fires, 1);
}

// The engine's watchdog on real time: a request is raised to now + slack and comes due.
TEST(TimerFdTimer, DrivesTheEngineWatchdog) {
  runtime::MonotonicClock clock;
  sched::Watchdog* wd = nullptr;
  int wakeups = 0;
  TimerFdTimer timer([&] { wakeups += wd->fire() ? 1 : 0; });
  sched::Watchdog watchdog(clock, timer);
  wd = &watchdog;
  const uint64_t now = clock.now_ns();
  watchdog.schedule(now);  // delay 0
  EXPECT_GE(watchdog.expires_ns(), now + sched::Watchdog::kMinSlackNs);
  ASSERT_TRUE(readable(timer.fd(), 5000));
  timer.fire();
  EXPECT_EQ(wakeups, 1);
  EXPECT_FALSE(watchdog.armed());
}

}  // namespace
}  // namespace bpfq::io
