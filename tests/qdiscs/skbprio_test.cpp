// progs/skbprio.bpf.c against Linux's skbprio (sch_skbprio.c): 64 priorities min(skb->priority,
// 63), the head of the highest non-empty priority first, FIFO within a priority, and when `limit`
// packets are queued either the arrival (priority at or below the lowest queued) or the tail of
// the lowest non-empty priority is dropped; per-priority stats; and a random script against a
// small model of Linux's algorithm written from its description.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <random>
#include <vector>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint32_t kLen = 100;

// The program's struct skbprio_qstats.
struct PrioQstats {
  uint32_t enqueued, drops, backlog, pad;
};
using AllQstats = std::array<PrioQstats, 64>;

class Skbprio : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_skbprio(uint32_t limit) {
    return open_init<uint32_t>(library_object("skbprio"), {{"limit", limit}});
  }

  // Enqueue at virtual time at_ns (the clock moves there first).
  EnqueueVerdict offer(BpfQdisc& q, uint64_t at_ns, uint32_t mark, uint32_t priority, uint32_t len = kLen) {
    clock.set(at_ns);
    const EnqueueVerdict v = q.enqueue(packet(len, mark, priority), clock.now_ns()).verdict;
    EXPECT_TRUE(q.stats().conserved());
    return v;
  }

  static AllQstats qstats(BpfQdisc& q) { return q.object().get_global<AllQstats>("prio_qstats"); }
  static uint32_t global(BpfQdisc& q, const char* name) { return q.object().get_global<uint32_t>(name); }

  // enqueued == sent + dropped + queued, spelled out, and the program's own counts agree.
  static void expect_conservation(BpfQdisc& q) {
    const QdiscStats& s = q.stats();
    EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
    EXPECT_TRUE(s.conserved());
    EXPECT_EQ(global(q, "qlen"), s.qlen);
    EXPECT_EQ(global(q, "backlog"), s.backlog);
    uint64_t backlog = 0;
    for (const PrioQstats& p : qstats(q)) backlog += p.backlog;
    EXPECT_EQ(backlog, s.backlog);
  }

  void expect_clean_empty(std::unique_ptr<BpfQdisc>& q) {
    expect_conservation(*q);
    EXPECT_EQ(q->qlen(), 0u);
    EXPECT_EQ(global(*q, "highest_prio"), 0u);
    EXPECT_EQ(global(*q, "lowest_prio"), 63u);
    expect_clean_end(q);
  }
};

TEST_F(Skbprio, DefaultLimitIs64) {
  auto q = open(library_object("skbprio"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 64u);
  q->init();
  for (uint32_t i = 0; i < 64; ++i) EXPECT_EQ(offer(*q, i * kUs, i, 5), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 64 * kUs, 64, 5), EnqueueVerdict::Dropped);  // full, 5 <= lowest (5)
  EXPECT_EQ(q->qlen(), 64u);
  EXPECT_EQ(drain(*q).size(), 64u);
  expect_clean_empty(q);
}

TEST_F(Skbprio, LimitAbove65535IsRefused) {
  auto q = open(library_object("skbprio"));
  q->object().set_global<uint32_t>("limit", 65536);
  EXPECT_THROW(q->init(), Error);
}

// Priorities above 63 count as 63; the highest priority goes first, FIFO within a priority, and
// a priority emptied in the middle of the range is skipped.
TEST_F(Skbprio, HighestPriorityFirstAndFifoWithinAPriority) {
  auto q = open_skbprio(64);
  struct Arrival {
    uint64_t at_us;
    uint32_t mark, priority;
  };
  const Arrival arrivals[] = {
      {0, 1, 0},   {10, 2, 7},  {20, 3, 63},          {30, 4, 7},   {40, 5, 64},
      {50, 6, 0},  {60, 7, 30}, {70, 8, 0xffffffffu}, {80, 9, 1000}, {90, 10, 62},
  };
  for (const Arrival& a : arrivals)
    EXPECT_EQ(offer(*q, a.at_us * kUs, a.mark, a.priority), EnqueueVerdict::Queued) << "mark " << a.mark;
  EXPECT_EQ(global(*q, "highest_prio"), 63u);
  EXPECT_EQ(global(*q, "lowest_prio"), 0u);
  const AllQstats st = qstats(*q);
  EXPECT_EQ(st[63].enqueued, 4u);  // 3, 5, 8, 9
  EXPECT_EQ(st[63].backlog, 4 * kLen);
  EXPECT_EQ(st[7].enqueued, 2u);
  EXPECT_EQ(st[0].enqueued, 2u);
  // 63: 3 5 8 9; 62: 10; 30: 7; 7: 2 4; 0: 1 6. A later arrival of priority 40 while 63 drains
  // goes ahead of 30.
  clock.set(100 * kUs);
  EXPECT_EQ(dequeue_mark(*q), 3u);
  EXPECT_EQ(dequeue_mark(*q), 5u);
  EXPECT_EQ(offer(*q, 110 * kUs, 11, 40), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{8, 9, 10, 11, 7, 2, 4, 1, 6}));
  EXPECT_EQ(q->stats().sent_packets, 11u);
  EXPECT_EQ(q->stats().dropped, 0u);
  for (const PrioQstats& p : qstats(*q)) EXPECT_EQ(p.backlog, 0u);
  expect_clean_empty(q);
}

// Full (limit 4): an arrival at or below the lowest queued priority is dropped; a higher one is
// queued and the tail (the latest arrival) of the lowest priority queue goes instead.
TEST_F(Skbprio, FullQueueDropsTheTailOfTheLowestPriority) {
  auto q = open_skbprio(4);
  using V = EnqueueVerdict;
  EXPECT_EQ(offer(*q, 0, 1, 3), V::Queued);       // 3: [1]
  EXPECT_EQ(offer(*q, 10 * kUs, 2, 3), V::Queued);  // 3: [1 2]
  EXPECT_EQ(offer(*q, 20 * kUs, 3, 5), V::Queued);  // 5: [3]
  EXPECT_EQ(offer(*q, 30 * kUs, 4, 9), V::Queued);  // 9: [4]; full
  EXPECT_EQ(global(*q, "lowest_prio"), 3u);
  EXPECT_EQ(offer(*q, 40 * kUs, 5, 3), V::Dropped);  // equal to the lowest: the arrival goes
  EXPECT_EQ(offer(*q, 50 * kUs, 6, 1), V::Dropped);  // below the lowest: the arrival goes
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(offer(*q, 60 * kUs, 7, 4), V::Queued);   // 4 > 3: drops 2, the tail of 3 -> 3: [1]
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  EXPECT_EQ(global(*q, "lowest_prio"), 3u);
  EXPECT_EQ(offer(*q, 70 * kUs, 8, 20), V::Queued);  // drops 1; 3 empties -> lowest 4
  EXPECT_EQ(global(*q, "lowest_prio"), 4u);
  EXPECT_EQ(global(*q, "highest_prio"), 20u);
  EXPECT_EQ(offer(*q, 80 * kUs, 9, 4), V::Dropped);   // equal to the new lowest
  EXPECT_EQ(offer(*q, 90 * kUs, 10, 6), V::Queued);   // drops 7 (4 empties -> lowest 5)
  EXPECT_EQ(global(*q, "lowest_prio"), 5u);
  EXPECT_EQ(q->qlen(), 4u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 3u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 3u);
  expect_conservation(*q);

  const AllQstats st = qstats(*q);
  EXPECT_EQ(st[3].enqueued, 2u);
  EXPECT_EQ(st[3].drops, 3u);  // arrival 5 and tails 2, 1
  EXPECT_EQ(st[1].drops, 1u);  // arrival 6
  EXPECT_EQ(st[4].enqueued, 1u);
  EXPECT_EQ(st[4].drops, 2u);  // tail 7, arrival 9
  EXPECT_EQ(st[3].backlog, 0u);
  EXPECT_EQ(st[20].backlog, kLen);

  // Queued: 20: [8]; 9: [4]; 6: [10]; 5: [3].
  clock.set(100 * kUs);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{8, 4, 10, 3}));
  EXPECT_EQ(q->stats().sent_packets, 4u);
  EXPECT_EQ(q->stats().dropped, 6u);
  EXPECT_EQ(q->stats().enqueued_packets, 10u);
  expect_clean_empty(q);
}

// The tail drop takes several packets of one priority, newest first, leaving its head.
TEST_F(Skbprio, RepeatedTailDropsEatTheLowestQueueFromItsTail) {
  auto q = open_skbprio(5);
  for (uint32_t i = 1; i <= 5; ++i) EXPECT_EQ(offer(*q, i * kUs, i, 2), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 14; ++i) EXPECT_EQ(offer(*q, i * kUs, i, 10), EnqueueVerdict::Queued);
  // 2: [1] (5, 4, 3, 2 dropped); 10: [11 12 13 14].
  EXPECT_EQ(qstats(*q)[2].drops, 4u);
  EXPECT_EQ(global(*q, "lowest_prio"), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 13, 14, 1}));
  expect_clean_empty(q);
}

// limit 1: the only packet is replaced by a higher-priority arrival (Linux's "the incoming packet
// is the only packet in queue" branch), which then sets both ends.
TEST_F(Skbprio, LimitOneReplacesTheOnlyPacket) {
  auto q = open_skbprio(1);
  EXPECT_EQ(offer(*q, 0, 1, 10), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, kUs, 2, 10), EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*q, 2 * kUs, 3, 12), EnqueueVerdict::Queued);  // drops 1
  EXPECT_EQ(global(*q, "lowest_prio"), 12u);
  EXPECT_EQ(global(*q, "highest_prio"), 12u);
  EXPECT_EQ(offer(*q, 3 * kUs, 4, 11), EnqueueVerdict::Dropped);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3}));
  EXPECT_EQ(q->stats().dropped, 3u);
  expect_clean_empty(q);
}

TEST_F(Skbprio, LimitZeroDropsEverything) {
  auto q = open_skbprio(0);
  EXPECT_EQ(offer(*q, 0, 1, 63), EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*q, kUs, 2, 0), EnqueueVerdict::Dropped);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{}));
  expect_clean_empty(q);
}

TEST_F(Skbprio, ResetEmptiesEveryPriorityAndItsStats) {
  auto q = open_skbprio(3);
  EXPECT_EQ(offer(*q, 0, 1, 1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, kUs, 2, 40), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2 * kUs, 3, 63), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3 * kUs, 4, 50), EnqueueVerdict::Queued);  // drops 1
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 3u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(global(*q, "qlen"), 0u);
  EXPECT_EQ(global(*q, "lowest_prio"), 63u);
  for (const PrioQstats& p : qstats(*q)) {
    EXPECT_EQ(p.enqueued, 0u);
    EXPECT_EQ(p.drops, 0u);
    EXPECT_EQ(p.backlog, 0u);
  }
  for (uint32_t i = 5; i <= 7; ++i) EXPECT_EQ(offer(*q, i * kUs, i, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5, 6, 7}));
  expect_clean_empty(q);
}

// Linux's algorithm, as a model: 64 deques, highest/lowest priority kept as sch_skbprio does.
class SkbprioModel {
 public:
  explicit SkbprioModel(uint32_t limit) : limit_(limit) {}

  // true if queued; *dropped_tail is the mark of a tail dropped to make room (0 if none).
  bool enqueue(uint32_t mark, uint32_t priority, uint32_t* dropped_tail) {
    const uint32_t prio = priority > 63 ? 63 : priority;
    *dropped_tail = 0;
    if (qlen_ < limit_) {
      queues_[prio].push_back(mark);
      highest_ = std::max(highest_, prio);
      lowest_ = std::min(lowest_, prio);
      ++qlen_;
      return true;
    }
    if (prio <= lowest_) return false;
    queues_[prio].push_back(mark);
    *dropped_tail = queues_[lowest_].back();
    queues_[lowest_].pop_back();
    if (queues_[lowest_].empty()) {
      if (lowest_ == highest_) {
        lowest_ = highest_ = prio;
      } else {
        uint32_t p = lowest_ + 1;
        while (p <= highest_ && queues_[p].empty()) ++p;
        lowest_ = p <= highest_ ? p : 63;
      }
    }
    highest_ = std::max(highest_, prio);
    return true;
  }

  // The mark dequeued, 0 if empty.
  uint32_t dequeue() {
    std::deque<uint32_t>& hq = queues_[highest_];
    if (hq.empty()) return 0;
    const uint32_t mark = hq.front();
    hq.pop_front();
    --qlen_;
    if (hq.empty()) {
      if (lowest_ == highest_) {
        highest_ = 0;
        lowest_ = 63;
      } else {
        int p = static_cast<int>(highest_) - 1;
        while (p >= static_cast<int>(lowest_) && queues_[p].empty()) --p;
        highest_ = p >= static_cast<int>(lowest_) ? static_cast<uint32_t>(p) : 0;
      }
    }
    return mark;
  }

  uint32_t qlen() const { return qlen_; }

 private:
  uint32_t limit_, qlen_ = 0, highest_ = 0, lowest_ = 63;
  std::array<std::deque<uint32_t>, 64> queues_;
};

// A random script (priorities 0..79, a burst-heavy mix that keeps the queue full) through the
// program and the model: the same verdicts, the same tail drops, the same dequeue order.
TEST_F(Skbprio, MatchesLinuxAlgorithmOnARandomScript) {
  constexpr uint32_t kLimit = 16;
  auto q = open_skbprio(kLimit);
  SkbprioModel model(kLimit);
  std::mt19937 rng(7);
  uint64_t model_tail_drops = 0, model_refused = 0;
  for (uint32_t step = 1; step <= 5000; ++step) {
    const uint64_t now = step * kUs;
    if (rng() % 8 < 5) {
      const uint32_t priority = rng() % 80;
      uint32_t tail = 0;
      const bool queued = model.enqueue(step, priority, &tail);
      model_tail_drops += tail != 0;
      model_refused += !queued;
      ASSERT_EQ(offer(*q, now, step, priority, 60 + rng() % 1400),
                queued ? EnqueueVerdict::Queued : EnqueueVerdict::Dropped)
          << "step " << step;
    } else {
      clock.set(now);
      const uint32_t expected = model.dequeue();
      DequeueResult r = q->dequeue(now);
      if (expected == 0) {
        ASSERT_NE(r.kind, DequeueResult::Kind::Packet) << "step " << step;
      } else {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << "step " << step;
        ASSERT_EQ(r.packet->skb.mark, expected) << "step " << step;
        PacketPool::release(r.packet);
      }
    }
    ASSERT_EQ(q->qlen(), model.qlen()) << "step " << step;
  }
  EXPECT_GT(model_tail_drops, 100u);
  EXPECT_GT(model_refused, 100u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), model_tail_drops);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), model_refused);
  uint64_t enqueued = 0, drops = 0;
  for (const PrioQstats& p : qstats(*q)) {
    enqueued += p.enqueued;
    drops += p.drops;
  }
  EXPECT_EQ(drops, model_tail_drops + model_refused);
  EXPECT_EQ(enqueued, q->stats().enqueued_packets - model_refused);
  expect_conservation(*q);
  std::vector<uint32_t> rest;
  for (uint32_t m = model.dequeue(); m; m = model.dequeue()) rest.push_back(m);
  EXPECT_EQ(drain(*q), rest);
  expect_clean_empty(q);
}

}  // namespace
}  // namespace bpfq::sched::test
