// progs/cbs.bpf.c against Linux's cbs in software mode (sch_cbs.c: cbs_enqueue_soft,
// cbs_dequeue_soft): credits in bytes, slopes in kbit/s x 125; a packet costs
// len * sendslope / port_rate of credit and occupies the port for len / port_rate; negative
// credits grow at idleslope and the queue THROTTLEs until they reach 0; hicredit caps and
// locredit floors the credit; an idle queue forgets positive credit. Expected times are worked
// out by hand from Linux's formulas.
#include <gtest/gtest.h>

#include <string>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1'000;

struct CbsParams {
  uint32_t idleslope = 8000;  // kbit/s: 1e6 B/s, 1 byte of credit per microsecond
  int32_t sendslope = -24000; // idleslope - port rate (32 Mbit/s): -3e6 B/s
  int32_t hicredit = 2000;
  int32_t locredit = -6000;
  uint32_t offload = 0;
  uint64_t port_rate = 4'000'000;  // 32 Mbit/s: 1000 bytes take 250 us
  uint32_t limit = 1000;
};

class Cbs : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_cbs(const CbsParams& p) {
    auto q = open(library_object("cbs"));
    runtime::Object& o = q->object();
    o.set_global("idleslope", p.idleslope);
    o.set_global("sendslope", p.sendslope);
    o.set_global("hicredit", p.hicredit);
    o.set_global("locredit", p.locredit);
    o.set_global("offload", p.offload);
    o.set_global("port_rate", p.port_rate);
    o.set_global("limit", p.limit);
    q->init();
    return q;
  }
  int64_t credits(BpfQdisc& q) { return q.object().get_global<int64_t>("credits"); }
};

TEST_F(Cbs, BackToBackPacketsLeaveAtIdleslope) {
  auto q = open_cbs({});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(q->enqueue(packet(1000, i), t0).verdict, EnqueueVerdict::Queued);
  // Packet 1 at t0 with credit 0: credit 0 + 1000 * -3e6 / 4e6 = -750, last = t0 + 250 us.
  // Until t0 + 250 us the port is busy (THROTTLE until last); then -750 + 0 gained since last:
  // THROTTLE 750 us more. At t0 + 1000 us the credit is 0: packet 2, and so on: 1000 bytes
  // per ms = idleslope.
  uint64_t throttles = 0;
  EXPECT_EQ(run_until_empty(*q, 100, &throttles),
            (std::vector<Departure>{{1, t0}, {2, t0 + 1000 * kUs}, {3, t0 + 2000 * kUs}}));
  // As Linux, dequeue on the empty queue still waits for the port and the credit (last packet
  // at t0 + 2 ms: port until 2.25 ms, credit 0 at 3 ms): 4 + 2 throttles, credit back to 0.
  EXPECT_EQ(throttles, 6u);
  EXPECT_EQ(credits(*q), 0);
  EXPECT_EQ(clock.now_ns(), t0 + 3000 * kUs);
  EXPECT_EQ(q->object().get_global<int64_t>("last"), static_cast<int64_t>(t0 + 2250 * kUs));
  expect_clean_end(q);
}

TEST_F(Cbs, ThrottleEndsExactlyWhenTheCreditReachesZero) {
  auto q = open_cbs({});
  const uint64_t t0 = clock.now_ns();
  q->enqueue(packet(1000, 1), t0);
  q->enqueue(packet(600, 2), t0);
  EXPECT_EQ(dequeue_mark(*q), 1u);
  DequeueResult r = q->dequeue(t0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);  // the port is busy
  EXPECT_EQ(r.throttled_until_ns, t0 + 250 * kUs);
  // Asked later than last: the credit grew since last. At t0 + 600 us: -750 + 350 = -400, so
  // 400 us more, and last moves to now.
  clock.set(t0 + 600 * kUs);
  r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 1000 * kUs);
  EXPECT_EQ(credits(*q), -400);
  clock.set(t0 + 1000 * kUs);
  EXPECT_EQ(dequeue_mark(*q), 2u);
  EXPECT_EQ(credits(*q), -450);  // 600 * -3e6 / 4e6
  expect_clean_end(q);
}

TEST_F(Cbs, HicreditCapsTheCreditAndAnIdleQueueForgetsPositiveCredit) {
  auto q = open_cbs({});
  const uint64_t t0 = clock.now_ns();
  q->enqueue(packet(1000, 1), t0);
  EXPECT_EQ(dequeue_mark(*q), 1u);  // credit -750, last t0 + 250 us
  // Packet 2 arrives while the credit is negative (no reset); nobody dequeues for 10 ms.
  q->enqueue(packet(1000, 2), t0 + 100 * kUs);
  for (uint32_t i = 3; i <= 5; ++i) q->enqueue(packet(1000, i), t0 + 100 * kUs);
  const uint64_t t1 = t0 + 10'000 * kUs;
  clock.set(t1);
  // -750 + 9750 = 9000, capped at hicredit 2000: 2 leaves (1250 left), 3 after the port is free
  // (500 left), 4 likewise (-250), 5 once -250 is regained.
  EXPECT_EQ(run_until_empty(*q, 100),
            (std::vector<Departure>{{2, t1}, {3, t1 + 250 * kUs}, {4, t1 + 500 * kUs}, {5, t1 + 1000 * kUs}}));

  // Build positive credit again, then let the queue go idle: the next enqueue zeroes it.
  const uint64_t t2 = t1 + 20'000 * kUs;
  clock.set(t2);
  q->enqueue(packet(1000, 6), t2);
  EXPECT_EQ(dequeue_mark(*q), 6u);  // credit 0 - 750
  EXPECT_EQ(credits(*q), -750);
  // A dequeue of the empty queue 5 ms later regains credit, capped: min(-750 + 4750, 2000).
  const uint64_t t3 = t2 + 5'000 * kUs;
  clock.set(t3);
  EXPECT_EQ(q->dequeue(t3).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(credits(*q), 2000);
  q->enqueue(packet(1000, 7), t3);  // empty queue, credit 2000 > 0: credit 0, last = t3
  EXPECT_EQ(credits(*q), 0);
  q->enqueue(packet(1000, 8), t3);
  // 7 at t3 (-750); 8 after the port frees and -750 is regained: t3 + 1000 us (with the 2000
  // kept it would have left at t3 + 250 us).
  EXPECT_EQ(run_until_empty(*q, 100), (std::vector<Departure>{{7, t3}, {8, t3 + 1000 * kUs}}));
  expect_clean_end(q);
}

TEST_F(Cbs, LocreditFloorsTheCredit) {
  auto q = open_cbs({.locredit = -600});
  const uint64_t t0 = clock.now_ns();
  q->enqueue(packet(800, 1), t0);  // 800 * -3e6 / 4e6 = -600 (exactly locredit)
  q->enqueue(packet(900, 2), t0);  // -675, floored at -600
  q->enqueue(packet(100, 3), t0);
  // 1 at t0: -600, port busy 200 us, then 600 us to regain: 2 at t0 + 800 us. 2 takes 225 us
  // of port; its credit would be -675 but is -600: 3 at t0 + 800 + 225 + 600 us.
  EXPECT_EQ(run_until_empty(*q, 100),
            (std::vector<Departure>{{1, t0}, {2, t0 + 800 * kUs}, {3, t0 + 1625 * kUs}}));
  expect_clean_end(q);
}

TEST_F(Cbs, TheQueueHoldsLimitPackets) {
  auto q = open_cbs({.limit = 2});
  const uint64_t t0 = clock.now_ns();
  EXPECT_EQ(q->enqueue(packet(100, 1), t0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(100, 2), t0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(100, 3), t0).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(run_until_empty(*q, 100).size(), 2u);
  expect_clean_end(q);
}

TEST_F(Cbs, ZeroSlopesDoNotShape) {
  // Linux's defaults: every slope and credit 0: a packet costs no credit, only port time.
  auto q = open_cbs({.idleslope = 0, .sendslope = 0, .hicredit = 0, .locredit = 0});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) q->enqueue(packet(1000, i), t0);
  EXPECT_EQ(run_until_empty(*q, 100),
            (std::vector<Departure>{{1, t0}, {2, t0 + 250 * kUs}, {3, t0 + 500 * kUs}}));
  expect_clean_end(q);
}

TEST_F(Cbs, InitRefusesOffloadAndImpossibleParameters) {
  struct Case {
    CbsParams p;
    const char* message;
  };
  const Case cases[] = {
      {{.offload = 1}, "cbs: offload is not supported (software only)"},
      {{.port_rate = 0}, "cbs: port_rate must be non-zero"},
      {{.limit = 0}, "cbs: limit 0 is outside 1..65536 packets"},
      {{.idleslope = 0x80000000u}, "cbs: idleslope 2147483648 kbit/s does not fit Linux's s32"},
  };
  for (const Case& c : cases) {
    trace.clear();
    EXPECT_THROW(open_cbs(c.p), Error) << c.message;
    EXPECT_NE(trace_text().find(c.message), std::string::npos) << trace_text();
  }
}

}  // namespace
}  // namespace bpfq::sched::test
