// Per-program run statistics (the kernel's run_cnt / run_time_ns): runs are always counted per
// program; run time only while timing is on.
#include <gtest/gtest.h>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

class RunStats : public ::testing::Test, public EngineFixture {};

TEST_F(RunStats, CountsEachProgramsRunsAndTimesThemOnlyWhenAsked) {
  auto q = open(library_object("fifo"));
  q->init();  // fifo has no init program: nothing runs
  for (uint32_t i = 0; i < 3; ++i) q->enqueue(packet(100, i), clock.now_ns());
  EXPECT_EQ(drain(*q).size(), 3u);  // 3 packets, then one dequeue run that finds nothing
  const BpfQdiscCounters& c = q->counters();
  EXPECT_EQ(c.enqueue.runs, 3u);
  EXPECT_EQ(c.dequeue.runs, 4u);
  EXPECT_EQ(c.init.runs + c.reset.runs, 0u);
  EXPECT_EQ(c.runs, 7u);
  EXPECT_EQ(c.enqueue.run_ns + c.dequeue.run_ns, 0u);

  q->set_run_timing(true);
  q->enqueue(packet(100, 9), clock.now_ns());
  EXPECT_EQ(drain(*q).size(), 1u);
  EXPECT_EQ(c.enqueue.runs, 4u);
  EXPECT_EQ(c.dequeue.runs, 6u);
  EXPECT_GT(c.enqueue.run_ns, 0u);  // steady_clock advances across a program run
  EXPECT_GT(c.dequeue.run_ns, 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
