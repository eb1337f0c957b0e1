// progs/eiffel.bpf.c: Eiffel's bucketed queue (Saeed et al., NSDI 2019) on the PIFO map, with
// rank = skb->priority / granularity (clamped to the last of 65536 buckets): lowest bucket first,
// FIFO within a bucket; a random script against the simple rank function (a stable sort).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1000;

class Eiffel : public ::testing::Test, public EngineFixture {
 public:
  std::unique_ptr<BpfQdisc> open_eiffel(uint32_t limit, uint32_t granularity) {
    return open_init<uint32_t>(library_object("eiffel"), {{"limit", limit}, {"granularity", granularity}});
  }

  EnqueueVerdict offer(BpfQdisc& q, uint32_t mark, uint32_t rank, uint32_t len = 100) {
    clock.advance(kUs);
    const EnqueueVerdict v = q.enqueue(packet(len, mark, rank), clock.now_ns()).verdict;
    EXPECT_TRUE(q.stats().conserved());
    return v;
  }

  void expect_clean_empty(std::unique_ptr<BpfQdisc>& q) {
    const QdiscStats& s = q->stats();
    EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("qlen"), s.qlen);
    EXPECT_EQ(q->object().get_global<uint32_t>("backlog"), s.backlog);
    EXPECT_EQ(q->qlen(), 0u);
    expect_clean_end(q);
  }
};

TEST_F(Eiffel, Defaults) {
  auto q = open(library_object("eiffel"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 1000u);
  EXPECT_EQ(q->object().get_global<uint32_t>("granularity"), 1u);
  q->init();
  expect_clean_end(q);
}

TEST_F(Eiffel, BadParametersAreRefused) {
  for (auto [limit, g] : {std::pair<uint32_t, uint32_t>{0, 1}, {65536, 1}, {10, 0}}) {
    auto q = open(library_object("eiffel"));
    q->object().set_global<uint32_t>("limit", limit);
    q->object().set_global<uint32_t>("granularity", g);
    EXPECT_THROW(q->init(), Error);
  }
}

TEST_F(Eiffel, LowestRankFirstFifoWithinARank) {
  auto q = open_eiffel(100, 1);
  const uint32_t ranks[] = {7, 3, 7, 0, 65535, 3, 100000, 4000000000u, 1};
  for (uint32_t i = 0; i < 9; ++i) EXPECT_EQ(offer(*q, i + 1, ranks[i]), EnqueueVerdict::Queued);
  // 65535, 100000 and 4e9 share the last bucket, in arrival order.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 9, 2, 6, 1, 3, 5, 7, 8}));
  expect_clean_empty(q);
}

// granularity 10: ranks 0..9 share bucket 0 (Eiffel's approximate ranks), so they stay FIFO.
TEST_F(Eiffel, GranularityBucketsRanks) {
  auto q = open_eiffel(100, 10);
  const uint32_t ranks[] = {9, 0, 15, 10, 5, 25};
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(offer(*q, i + 1, ranks[i]), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 5, 3, 4, 6}));
  expect_clean_empty(q);
}

TEST_F(Eiffel, FullDropsTheArrival) {
  auto q = open_eiffel(2, 1);
  EXPECT_EQ(offer(*q, 1, 5), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 2, 5), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 3, 0), EnqueueVerdict::Dropped);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
  expect_clean_empty(q);
}

TEST_F(Eiffel, ResetReleasesEverything) {
  auto q = open_eiffel(10, 1);
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, i, 10 - i), EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 4u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(offer(*q, 5, 3), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 6, 2), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6, 5}));
  expect_clean_empty(q);
}

// A random script against the simple rank function: the queue's content sorted by
// (min(rank / g, 65535), arrival), the first taken at each dequeue.
TEST_F(Eiffel, MatchesASortByRankOnARandomScript) {
  constexpr uint32_t kLimit = 40, kG = 16;
  auto q = open_eiffel(kLimit, kG);
  struct P {
    uint64_t bucket, seq;
    uint32_t mark;
  };
  std::vector<P> model;
  std::mt19937 rng(3);
  uint64_t seq = 0;
  for (uint32_t step = 1; step <= 3000; ++step) {
    if (rng() % 2) {
      const uint32_t rank = rng() % 4 == 0 ? rng() : rng() % 2000;
      const bool queued = model.size() < kLimit;
      if (queued) model.push_back({std::min<uint64_t>(rank / kG, 65535), seq++, step});
      ASSERT_EQ(offer(*q, step, rank), queued ? EnqueueVerdict::Queued : EnqueueVerdict::Dropped) << step;
    } else {
      DequeueResult r = q->dequeue(clock.now_ns());
      if (model.empty()) {
        ASSERT_NE(r.kind, DequeueResult::Kind::Packet) << step;
        continue;
      }
      auto best = std::min_element(model.begin(), model.end(), [](const P& a, const P& b) {
        return a.bucket != b.bucket ? a.bucket < b.bucket : a.seq < b.seq;
      });
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << step;
      ASSERT_EQ(r.packet->skb.mark, best->mark) << step;
      PacketPool::release(r.packet);
      model.erase(best);
    }
    ASSERT_EQ(q->qlen(), model.size()) << step;
  }
  q->reset();
  expect_clean_empty(q);
}

}  // namespace
}  // namespace bpfq::sched::test
