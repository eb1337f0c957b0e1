// progs/etf.bpf.c against Linux's etf (sch_etf.c): packets leave in txtime (skb->tstamp) order,
// each at the first nanosecond at which now > txtime - delta (THROTTLE until then); a packet
// whose txtime is in the past or before the last one sent is dropped at enqueue; a packet that
// expires in the queue is dropped with every packet due by then; deadline_mode sends at once
// and stamps now; the init refusals; a random script against a model of Linux's etf.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1'000;

struct EtfParams {
  uint64_t delta = 0;
  uint32_t clockid = 11;
  uint32_t deadline_mode = 0;
  uint32_t offload = 0;
};

class Etf : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_etf(const EtfParams& p) {
    auto q = open(library_object("etf"));
    q->object().set_global("delta", p.delta);
    q->object().set_global("clockid", p.clockid);
    q->object().set_global("deadline_mode", p.deadline_mode);
    q->object().set_global("offload", p.offload);
    q->init();
    return q;
  }

  EnqueueVerdict enqueue_at(BpfQdisc& q, uint64_t txtime, uint32_t mark) {
    Packet* pkt = packet(200, mark);
    pkt->skb.tstamp = txtime;
    return q.enqueue(pkt, clock.now_ns()).verdict;
  }
};

TEST_F(Etf, SendsInTxtimeOrderAtTheFirstNanosecondPastTxtimeMinusDelta) {
  auto q = open_etf({.delta = 100 * kUs});
  const uint64_t t0 = clock.now_ns();
  using V = EnqueueVerdict;
  EXPECT_EQ(enqueue_at(*q, t0 + 500 * kUs, 1), V::Queued);
  EXPECT_EQ(enqueue_at(*q, t0 + 300 * kUs, 2), V::Queued);
  EXPECT_EQ(enqueue_at(*q, t0 + 300 * kUs, 3), V::Queued);  // equal txtime: after 2
  EXPECT_EQ(enqueue_at(*q, t0 + 900 * kUs, 4), V::Queued);
  DequeueResult r = q->dequeue(t0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 200 * kUs + 1);
  // At exactly txtime - delta Linux's test (now > txtime - delta) still fails.
  clock.set(t0 + 200 * kUs);
  EXPECT_EQ(q->dequeue(clock.now_ns()).kind, DequeueResult::Kind::Throttled);
  uint64_t throttles = 0;
  EXPECT_EQ(run_until_empty(*q, 100, &throttles),
            (std::vector<Departure>{{2, t0 + 200 * kUs + 1}, {3, t0 + 200 * kUs + 1},
                                    {1, t0 + 400 * kUs + 1}, {4, t0 + 800 * kUs + 1}}));
  EXPECT_EQ(throttles, 3u);
  EXPECT_EQ(q->object().get_global<uint64_t>("last"), t0 + 900 * kUs);
  expect_clean_end(q);
}

TEST_F(Etf, DropsTxtimesInThePastAtEnqueue) {
  auto q = open_etf({.delta = 10 * kUs});
  clock.advance(1'000 * kUs);
  const uint64_t now = clock.now_ns();
  using V = EnqueueVerdict;
  EXPECT_EQ(enqueue_at(*q, now - 1, 1), V::Dropped);  // in the past
  EXPECT_EQ(enqueue_at(*q, 0, 2), V::Dropped);        // no txtime at all
  EXPECT_EQ(enqueue_at(*q, now, 3), V::Queued);       // now is not before now
  EXPECT_EQ(enqueue_at(*q, now + 50 * kUs, 4), V::Queued);
  EXPECT_EQ(dequeue_mark(*q), 3u);  // now > now - delta
  clock.set(now + 40 * kUs + 1);
  EXPECT_EQ(dequeue_mark(*q), 4u);
  EXPECT_EQ(q->object().get_global<uint64_t>("last"), now + 50 * kUs);
  EXPECT_EQ(q->object().get_global<uint64_t>("invalid"), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  expect_clean_end(q);
}

TEST_F(Etf, WithDeltaZeroAPacketExpiresBeforeItMayLeave) {
  // Linux's window is (txtime - delta, txtime]: with delta 0 it is empty. At txtime the packet
  // may not leave yet (now > txtime fails); one nanosecond later it has expired.
  auto q = open_etf({});
  const uint64_t t0 = clock.now_ns();
  enqueue_at(*q, t0 + 100 * kUs, 1);
  DequeueResult r = q->dequeue(t0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 100 * kUs + 1);
  clock.set(t0 + 100 * kUs + 1);
  EXPECT_EQ(q->dequeue(clock.now_ns()).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(q->object().get_global<uint64_t>("expired"), 1u);
  EXPECT_EQ(q->stats().sent_packets, 0u);
  expect_clean_end(q);
}

TEST_F(Etf, ATxtimeBeforeTheLastSentIsRefusedEvenInTheFuture) {
  auto q = open_etf({.deadline_mode = 1});  // deadline mode sends early, so last can lead now
  const uint64_t t0 = clock.now_ns();
  EXPECT_EQ(enqueue_at(*q, t0 + 500 * kUs, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(*q), 1u);  // at once
  EXPECT_EQ(q->object().get_global<uint64_t>("last"), t0 + 500 * kUs);
  EXPECT_EQ(enqueue_at(*q, t0 + 499 * kUs, 2), EnqueueVerdict::Dropped);
  EXPECT_EQ(enqueue_at(*q, t0 + 500 * kUs, 3), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(*q), 3u);
  expect_clean_end(q);
}

TEST_F(Etf, DeadlineModeSendsAtOnceInTxtimeOrderStampingNow) {
  auto q = open_etf({.delta = 10 * kUs, .deadline_mode = 1});
  const uint64_t t0 = clock.now_ns();
  enqueue_at(*q, t0 + 900 * kUs, 1);
  enqueue_at(*q, t0 + 700 * kUs, 2);
  clock.advance(5 * kUs);
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 2u);
  EXPECT_EQ(r.packet->skb.tstamp, t0 + 5 * kUs);
  PacketPool::release(r.packet);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1}));
  expect_clean_end(q);
}

TEST_F(Etf, APacketExpiredInTheQueueIsDroppedWithEveryPacketDueByNow) {
  auto q = open_etf({.delta = 50 * kUs});
  const uint64_t t0 = clock.now_ns();
  enqueue_at(*q, t0 + 100 * kUs, 1);
  enqueue_at(*q, t0 + 200 * kUs, 2);
  enqueue_at(*q, t0 + 200 * kUs, 3);
  enqueue_at(*q, t0 + 500 * kUs, 4);
  // Nobody dequeued until t0 + 200 us (the link was busy): 1 has expired; Linux then drops
  // every packet whose txtime is not after now (2 and 3 too) and goes on with 4.
  clock.set(t0 + 200 * kUs);
  DequeueResult r = q->dequeue(clock.now_ns());
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 450 * kUs + 1);
  EXPECT_EQ(q->object().get_global<uint64_t>("expired"), 3u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByMap), 3u);
  EXPECT_EQ(q->qlen(), 1u);
  EXPECT_EQ(run_until_empty(*q, 10), (std::vector<Departure>{{4, t0 + 450 * kUs + 1}}));
  expect_clean_end(q);
}

TEST_F(Etf, InitRefusesWhatLinuxRefuses) {
  struct Case {
    EtfParams p;
    const char* message;
  };
  const Case cases[] = {
      {{.clockid = 1}, "etf: invalid clockid 1: CLOCK_TAI (11) must be used"},
      {{.delta = 0x80000000ULL}, "etf: delta 2147483648 ns does not fit Linux's s32"},
      {{.offload = 1}, "etf: offload is not supported (software only)"},
  };
  for (const Case& c : cases) {
    trace.clear();
    EXPECT_THROW(open_etf(c.p), Error) << c.message;
    EXPECT_NE(trace_text().find(c.message), std::string::npos) << trace_text();
  }
  EXPECT_NO_THROW(open_etf({.delta = 0x7fffffffULL}));
}

// Linux's etf: a map (txtime, seq) -> mark, `last`, and the rules above.
struct EtfModel {
  uint64_t delta = 0;
  uint64_t last = 0;
  uint64_t seq = 0;
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> q;

  bool enqueue(uint64_t now, uint64_t txtime, uint32_t mark) {
    if (txtime < now || txtime < last) return false;
    q[{txtime, seq++}] = mark;
    return true;
  }
  // A mark, or nullopt with *until the wake-up time (0: empty).
  std::optional<uint32_t> dequeue(uint64_t now, uint64_t* until) {
    *until = 0;
    if (q.empty()) return std::nullopt;
    if (q.begin()->first.first < now) {
      while (!q.empty() && q.begin()->first.first <= now) q.erase(q.begin());
      if (q.empty()) return std::nullopt;
    }
    const uint64_t txtime = q.begin()->first.first;
    const uint64_t next = txtime > delta ? txtime - delta : 0;
    if (!(now > next)) {
      *until = next + 1;
      return std::nullopt;
    }
    const uint32_t mark = q.begin()->second;
    q.erase(q.begin());
    last = txtime;
    return mark;
  }
};

TEST_F(Etf, RandomScriptMatchesAModelOfLinux) {
  auto q = open_etf({.delta = 30 * kUs});
  EtfModel model;
  model.delta = 30 * kUs;
  std::mt19937 rng(5);
  uint32_t mark = 0;
  for (int step = 0; step < 1500; ++step) {
    clock.advance(rng() % (20 * kUs));
    const uint64_t now = clock.now_ns();
    if (rng() % 100 < 50) {
      // Mostly ahead of now, sometimes just behind: some are refused, some expire.
      const uint64_t txtime = now - 10 * kUs + rng() % (200 * kUs);
      const bool ok = model.enqueue(now, txtime, mark);
      ASSERT_EQ(enqueue_at(*q, txtime, mark), ok ? EnqueueVerdict::Queued : EnqueueVerdict::Dropped) << step;
      ++mark;
    } else {
      uint64_t until = 0;
      const std::optional<uint32_t> want = model.dequeue(now, &until);
      DequeueResult r = q->dequeue(now);
      if (want) {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << step;
        EXPECT_EQ(r.packet->skb.mark, *want) << step;
        PacketPool::release(r.packet);
      } else if (until) {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled) << step;
        EXPECT_EQ(r.throttled_until_ns, until) << step;
      } else {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Empty) << step;
      }
    }
    ASSERT_TRUE(q->stats().conserved());
    ASSERT_EQ(q->qlen(), model.q.size()) << step;
  }
  EXPECT_GT(q->object().get_global<uint64_t>("expired"), 0u);
  EXPECT_GT(q->object().get_global<uint64_t>("invalid"), 0u);
  expect_clean_end(q);
}

}  // namespace
}  // namespace bpfq::sched::test
