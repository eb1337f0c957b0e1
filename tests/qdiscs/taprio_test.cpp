// progs/taprio.bpf.c against Linux's taprio in software mode (sch_taprio.c): the schedule
// starts at the first cycle boundary after now; a class sends only while its gate is open, only
// packets that end before the gate closes and fit the entry's byte budget; higher classes go
// first; THROTTLE until the next entry; init refusals. Times are worked out by hand.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1'000;
using Map = std::array<uint8_t, 16>;

struct Entry {
  uint32_t gates;
  uint64_t interval;
};

class Taprio : public ::testing::Test, public EngineFixture {
 protected:
  // num_tc 2, priority p -> tc p (0 or 1), port 10 MB/s (1000 bytes = 100 us).
  std::unique_ptr<BpfQdisc> open_taprio(const std::vector<Entry>& entries, uint32_t num_tc = 2,
                                        uint32_t clockid = 11, uint32_t flags = 0, Map map = {0, 1}) {
    auto q = open(library_object("taprio"));
    runtime::Object& o = q->object();
    o.set_global("num_tc", num_tc);
    o.set_global("map", map);
    o.set_global("clockid", clockid);
    o.set_global("flags", flags);
    o.set_global("port_rate", uint64_t{10'000'000});
    for (uint32_t i = 0; i < entries.size(); ++i) {
      const uint32_t classid = 0x10000 | (i + 1);
      EXPECT_EQ(o.map("class_gates").update(&classid, &entries[i].gates, BPF_ANY), 0);
      EXPECT_EQ(o.map("class_interval").update(&classid, &entries[i].interval, BPF_ANY), 0);
    }
    q->init();
    return q;
  }
  void put(BpfQdisc& q, uint32_t tc, uint32_t len, uint32_t mark) {
    ASSERT_EQ(q.enqueue(packet(len, mark, tc), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  }
};

// Entry 1: tc 0 open for 300 us; entry 2: tc 1 open for 200 us; cycle 500 us. The clock starts
// at 1 ms, so the schedule starts at the next boundary: 1.5 ms.
const std::vector<Entry> kTwoEntries = {{0x1, 300 * kUs}, {0x2, 200 * kUs}};

TEST_F(Taprio, GatesOpenInTurnAndBudgetsLimitEachEntry) {
  auto q = open_taprio(kTwoEntries);
  EXPECT_EQ(q->object().get_global<uint64_t>("start"), 1'500 * kUs);
  EXPECT_EQ(q->object().get_global<uint64_t>("cycle"), 500 * kUs);
  for (uint32_t i = 1; i <= 4; ++i) put(*q, 0, 1000, 10 + i);
  for (uint32_t i = 1; i <= 3; ++i) put(*q, 1, 1000, 20 + i);
  // Nothing before the start. At 1.5 ms tc 0 has 300 us = 3000 bytes of budget: three packets
  // (the test dequeues without a link, so the budget, not the clock, stops the fourth). At
  // 1.8 ms tc 1 gets 2000 bytes: two. At 2.0 ms tc 0 again: its fourth; tc 1's third at 2.3.
  uint64_t throttles = 0;
  EXPECT_EQ(run_until_empty(*q, 100, &throttles),
            (std::vector<Departure>{{11, 1'500 * kUs}, {12, 1'500 * kUs}, {13, 1'500 * kUs},
                                    {21, 1'800 * kUs}, {22, 1'800 * kUs},
                                    {14, 2'000 * kUs}, {23, 2'300 * kUs}}));
  EXPECT_EQ(throttles, 4u);
  expect_clean_end(q);
}

TEST_F(Taprio, APacketThatWouldOutlastTheGateWaitsForTheNextOpening) {
  auto q = open_taprio(kTwoEntries);
  clock.set(1'750 * kUs);  // 50 us before tc 0's gate closes
  put(*q, 0, 1000, 1);     // 100 us on the wire: 1.85 ms > 1.8 ms
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, 1'800 * kUs);  // the next entry
  put(*q, 0, 400, 2);  // behind packet 1 in tc 0's FIFO: waits too
  clock.set(1'800 * kUs);
  r = q->dequeue(clock.now_ns());  // tc 0 closed now
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, 2'000 * kUs);
  EXPECT_EQ(run_until_empty(*q, 10), (std::vector<Departure>{{1, 2'000 * kUs}, {2, 2'000 * kUs}}));
  // At 2.47 ms, 30 us before tc 1's gate closes (entry 2 of the second cycle):
  clock.set(2'470 * kUs);
  put(*q, 1, 200, 3);  // 2.47 + 0.02 = 2.49 <= 2.5: fits
  put(*q, 1, 200, 4);  // 2.47 + 0.02 again (no link): fits the time, budget 2000 bytes: fits
  put(*q, 1, 400, 5);  // 2.47 + 0.04 = 2.51 > 2.5: waits for the next tc 1 entry (2.8 ms)
  EXPECT_EQ(run_until_empty(*q, 10),
            (std::vector<Departure>{{3, 2'470 * kUs}, {4, 2'470 * kUs}, {5, 2'800 * kUs}}));
  expect_clean_end(q);
}

TEST_F(Taprio, HigherClassesGoFirstAndAGateOpenInEveryEntryNeverCloses) {
  // tc 1 is open in both entries: its gate never closes and its budget is unlimited.
  auto q = open_taprio({{0x3, 100 * kUs}, {0x2, 100 * kUs}});
  // cycle 200 us; the clock is at 1 ms, a boundary, so the start is the next one: 1.2 ms.
  put(*q, 0, 500, 1);
  put(*q, 1, 1500, 2);
  put(*q, 1, 1500, 3);
  put(*q, 0, 500, 4);
  // 1.2 ms, entry 1 (tcs 0 and 1, 100 us = 1000 bytes each): tc 1 first, 2 and 3 (never
  // closing, unlimited); then tc 0: 1 (500 bytes, 50 us) and 4 (budget 500 left).
  EXPECT_EQ(run_until_empty(*q, 10),
            (std::vector<Departure>{{2, 1'200 * kUs}, {3, 1'200 * kUs}, {1, 1'200 * kUs}, {4, 1'200 * kUs}}));
  expect_clean_end(q);
}

TEST_F(Taprio, ABaseTimeInTheFutureIsTheStart) {
  auto later = open(library_object("taprio"));
  later->object().set_global("num_tc", uint32_t{2});
  later->object().set_global("base_time", uint64_t{7'000 * kUs});
  later->init();  // no entries: one all-open entry of 1 s
  EXPECT_EQ(later->object().get_global<uint64_t>("start"), 7'000 * kUs);
  EXPECT_EQ(later->object().get_global<uint64_t>("cycle"), 1'000'000 * kUs);
  put(*later, 1, 100, 1);
  EXPECT_EQ(run_until_empty(*later, 10), (std::vector<Departure>{{1, 7'000 * kUs}}));
  expect_clean_end(later);
}

TEST_F(Taprio, InitRefusesWhatLinuxRefuses) {
  struct Case {
    uint32_t num_tc, clockid, flags;
    Map map;
    const char* message;
  };
  const Case cases[] = {
      {0, 11, 0, {}, "taprio: num_tc 0 is outside 1..16"},
      {17, 11, 0, {}, "taprio: num_tc 17 is outside 1..16"},
      {2, 11, 0, {0, 2}, "taprio: map entry 1 names tc 2 of 2"},
      {2, 1, 0, {}, "taprio: invalid clockid 1: CLOCK_TAI (11) must be used"},
      {2, 11, 2, {}, "taprio: flags 0x2: txtime-assist and full offload are not supported"},
  };
  for (const Case& c : cases) {
    trace.clear();
    EXPECT_THROW(open_taprio(kTwoEntries, c.num_tc, c.clockid, c.flags, c.map), Error) << c.message;
    EXPECT_NE(trace_text().find(c.message), std::string::npos) << trace_text();
  }
}

TEST_F(Taprio, PerClassLimitAndReset) {
  auto q = open(library_object("taprio"));
  q->object().set_global("num_tc", uint32_t{2});
  q->object().set_global("map", Map{0, 1});
  q->object().set_global("limit", uint32_t{2});
  q->init();
  put(*q, 0, 100, 1);
  put(*q, 0, 100, 2);
  EXPECT_EQ(q->enqueue(packet(100, 3, 0), clock.now_ns()).verdict, EnqueueVerdict::Dropped);
  put(*q, 1, 100, 4);  // another class, another queue
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(pool.in_use(), 0u);
  expect_clean_end(q);
}

}  // namespace
}  // namespace bpfq::sched::test
