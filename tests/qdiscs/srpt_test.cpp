// progs/srpt.bpf.c against pFabric's scheduling and drop rules (Alizadeh et al., SIGCOMM 2013):
// rank = the sender's remaining size (skb->priority, mode 0) or the flow's attained service
// (LAS); dequeue the earliest packet of the flow holding the smallest rank; when full drop the
// largest rank. A random script against a small model of those rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include <bpfq/error.hpp>

#include "qdiscs/flow_fixture.hpp"

namespace bpfq::sched::test {
namespace {

class Srpt : public ::testing::Test, public FlowFixture {
 public:
  std::unique_ptr<BpfQdisc> open_srpt(uint32_t limit, uint32_t mode) {
    return open_init<uint32_t>(library_object("srpt"), {{"limit", limit}, {"mode", mode}});
  }

  static uint32_t global32(BpfQdisc& q, const char* name) { return q.object().get_global<uint32_t>(name); }
};

TEST_F(Srpt, Defaults) {
  auto q = open(library_object("srpt"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u);
  EXPECT_EQ(q->object().get_global<uint32_t>("mode"), 0u);
  q->init();
  expect_clean_end(q);
}

TEST_F(Srpt, BadParametersAreRefused) {
  for (auto [limit, mode] : {std::pair<uint32_t, uint32_t>{0, 0}, {65536, 0}, {10, 2}}) {
    auto q = open(library_object("srpt"));
    q->object().set_global<uint32_t>("limit", limit);
    q->object().set_global<uint32_t>("mode", mode);
    EXPECT_THROW(q->init(), Error) << limit << " " << mode;
  }
}

// LAS: a long flow that has already been served 5000 bytes queues 5 more packets; a short flow
// arriving after them (attained 0, then 1000) overtakes all of them.
TEST_F(Srpt, LasShortFlowOvertakesLongFlow) {
  auto q = open_srpt(100, 1);
  for (uint32_t i = 1; i <= 5; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  for (uint32_t i = 6; i <= 10; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);  // ranks 5000..9000
  EXPECT_EQ(offer(*q, 2, 101), EnqueueVerdict::Queued);                                   // rank 0
  EXPECT_EQ(offer(*q, 2, 102), EnqueueVerdict::Queued);                                   // rank 1000
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{101, 102, 6, 7, 8, 9, 10}));
  expect_clean_empty(q);
}

// LAS with equal attained service: arrival order breaks ties, so two fresh flows alternate.
TEST_F(Srpt, LasEqualServiceAlternates) {
  auto q = open_srpt(100, 1);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 13; ++i) EXPECT_EQ(offer(*q, 2, i), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 11, 2, 12, 3, 13}));
  expect_clean_empty(q);
}

// SRPT: the sender's remaining size in skb->priority; a short flow (3000, 2000, 1000 bytes left)
// arriving behind a long one (1 MB left) goes first.
TEST_F(Srpt, SrptShortFlowOvertakesLongFlow) {
  auto q = open_srpt(100, 0);
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 1, i, 1000000 - (i - 1) * 1000), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 2, 100 + i, 4000 - i * 1000), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{101, 102, 103, 1, 2, 3, 4}));
  expect_clean_empty(q);
}

// Starvation prevention: flow 1's last packet has the smallest rank, so flow 1 is served, but
// from its earliest packet: no reordering inside a flow.
TEST_F(Srpt, ServesTheEarliestPacketOfTheBestFlow) {
  auto q = open_srpt(100, 0);
  EXPECT_EQ(offer(*q, 1, 1, 5000), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 2, 3000), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 1, 3, 4000), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 1, 4, 100), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 3, 4, 2}));
  expect_clean_empty(q);
}

// Mode 0 without a priority falls back to LAS.
TEST_F(Srpt, SrptWithoutPriorityUsesAttainedService) {
  auto q = open_srpt(100, 0);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1, i), EnqueueVerdict::Queued);  // 0, 1000, 2000
  EXPECT_EQ(offer(*q, 2, 11, 1500), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 11, 3}));
  expect_clean_empty(q);
}

// pFabric's drop rule: full, the largest rank goes, the arrival on a tie.
TEST_F(Srpt, FullDropsTheLargestRank) {
  auto q = open_srpt(3, 0);
  EXPECT_EQ(offer(*q, 1, 1, 10), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 2, 20), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3, 3, 30), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 4, 4, 40), EnqueueVerdict::Dropped);  // largest: the arrival
  EXPECT_EQ(offer(*q, 5, 5, 30), EnqueueVerdict::Dropped);  // tie with the largest: the arrival
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(offer(*q, 6, 6, 5), EnqueueVerdict::Queued);    // 3 (rank 30) goes
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  EXPECT_EQ(offer(*q, 2, 7, 15), EnqueueVerdict::Queued);   // 2 (rank 20) goes
  EXPECT_EQ(q->object().get_global<uint64_t>("evictions"), 2u);
  EXPECT_EQ(q->qlen(), 3u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6, 1, 7}));
  EXPECT_EQ(q->stats().dropped, 4u);
  expect_clean_empty(q);
}

// A packet dropped from the middle of a flow leaves a hole the dequeue skips.
TEST_F(Srpt, DropInsideAFlowKeepsItsOrder) {
  auto q = open_srpt(3, 0);
  EXPECT_EQ(offer(*q, 1, 1, 100), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 1, 2, 900), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 1, 3, 50), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 4, 200), EnqueueVerdict::Queued);  // 2 goes
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 3, 4}));
  expect_clean_empty(q);
}

TEST_F(Srpt, ResetReleasesEverything) {
  auto q = open_srpt(10, 1);
  for (uint32_t i = 1; i <= 5; ++i) EXPECT_EQ(offer(*q, i % 2, i), EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 5u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(global32(*q, "qlen"), 0u);
  // Attained service is forgotten too: flow 1 starts from 0 again.
  EXPECT_EQ(offer(*q, 1, 6), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 1, 7), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 8), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6, 8, 7}));
  expect_clean_empty(q);
}

// pFabric's rules as a model: a list of packets with (rank, arrival number).
class SrptModel {
 public:
  SrptModel(uint32_t limit, uint32_t mode) : limit_(limit), mode_(mode) {}

  // true if queued; *evicted is the mark of a queued packet dropped for it (0 if none).
  bool enqueue(uint32_t flow, uint32_t mark, uint32_t priority, uint32_t len, uint32_t* evicted) {
    const uint64_t rank = mode_ == 0 && priority != 0 ? priority : attained_[flow];
    *evicted = 0;
    if (q_.size() >= limit_) {
      auto worst = std::max_element(q_.begin(), q_.end(), [](const P& a, const P& b) {
        return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
      });
      if (rank >= worst->rank) return false;
      *evicted = worst->mark;
      q_.erase(worst);
    }
    q_.push_back({flow, mark, rank, seq_++});
    attained_[flow] += len;
    return true;
  }

  uint32_t dequeue() {
    if (q_.empty()) return 0;
    auto best = std::min_element(q_.begin(), q_.end(), [](const P& a, const P& b) {
      return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
    });
    const uint32_t flow = best->flow;
    // q_ is in arrival order: the first packet of that flow is its earliest.
    auto first = std::find_if(q_.begin(), q_.end(), [flow](const P& p) { return p.flow == flow; });
    const uint32_t mark = first->mark;
    q_.erase(first);
    return mark;
  }

  size_t qlen() const { return q_.size(); }

 private:
  struct P {
    uint32_t flow, mark;
    uint64_t rank, seq;
  };
  uint32_t limit_, mode_;
  uint64_t seq_ = 0;
  std::vector<P> q_;
  std::map<uint32_t, uint64_t> attained_;
};

void run_random_script(Srpt& t, BpfQdisc& q, SrptModel& model, uint32_t seed, uint64_t* evicted_out) {
  std::mt19937 rng(seed);
  uint64_t evictions = 0, refused = 0;
  for (uint32_t step = 1; step <= 3000; ++step) {
    if (rng() % 8 < 5) {
      const uint32_t flow = rng() % 6;
      const uint32_t priority = rng() % 3 == 0 ? 0 : 1 + rng() % 20000;
      const uint32_t len = 64 + rng() % 1400;
      uint32_t evicted = 0;
      const bool queued = model.enqueue(flow, step, priority, len, &evicted);
      evictions += evicted != 0;
      refused += !queued;
      ASSERT_EQ(t.offer(q, flow, step, priority, len), queued ? EnqueueVerdict::Queued : EnqueueVerdict::Dropped)
          << "step " << step;
    } else {
      const uint32_t expected = model.dequeue();
      DequeueResult r = q.dequeue(t.clock.now_ns());
      if (expected == 0) {
        ASSERT_NE(r.kind, DequeueResult::Kind::Packet) << "step " << step;
      } else {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << "step " << step;
        ASSERT_EQ(r.packet->skb.mark, expected) << "step " << step;
        PacketPool::release(r.packet);
      }
    }
    ASSERT_EQ(q.qlen(), model.qlen()) << "step " << step;
  }
  EXPECT_EQ(q.stats().drops(DropReason::ReleasedByProgram), evictions);
  EXPECT_EQ(q.stats().drops(DropReason::ProgramVerdict), refused);
  *evicted_out = evictions;
  std::vector<uint32_t> rest;
  for (uint32_t m = model.dequeue(); m; m = model.dequeue()) rest.push_back(m);
  EXPECT_EQ(t.drain(q), rest);
}

TEST_F(Srpt, MatchesPfabricRulesOnARandomScriptSrpt) {
  auto q = open_srpt(12, 0);
  SrptModel model(12, 0);
  uint64_t evictions = 0;
  run_random_script(*this, *q, model, 11, &evictions);
  EXPECT_GT(evictions, 50u);
  expect_clean_empty(q);
}

TEST_F(Srpt, MatchesPfabricRulesOnARandomScriptLas) {
  auto q = open_srpt(12, 1);
  SrptModel model(12, 1);
  uint64_t evictions = 0;
  run_random_script(*this, *q, model, 12, &evictions);
  EXPECT_GT(evictions, 50u);
  expect_clean_empty(q);
}

}  // namespace
}  // namespace bpfq::sched::test
