// progs/ets.bpf.c against Linux's ets (sch_ets.c): bands 1:1..1:bands with pfifo children;
// the first `strict` bands by strict priority, the rest by DRR with their quanta; Linux's
// classification (priority naming a class, priomap, default priomap = last band); the band
// count derived from strict + quanta; ets_qdisc_change's refusals; a child's drop neither
// activates its band nor desynchronises the head lengths; a random script against a model of
// ets_qdisc_enqueue/ets_qdisc_dequeue.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <list>
#include <random>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

using Quanta = std::array<uint32_t, 16>;
using Priomap = std::array<uint8_t, 16>;

struct EtsParams {
  uint32_t bands = 0;
  uint32_t strict = 0;
  Quanta quanta{};
  const Priomap* priomap = nullptr;
  uint32_t child_limit = 1000;
  uint32_t children = 16;  // classes 1:1..1:children get a pfifo (capped at the band count)
};

class Ets : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_ets(const EtsParams& p, uint32_t nbands_for_children) {
    auto q = open(library_object("ets"));
    q->object().set_global("bands", p.bands);
    q->object().set_global("strict", p.strict);
    q->object().set_global("quanta", p.quanta);
    if (p.priomap) q->object().set_global("priomap", *p.priomap);
    const uint32_t n = std::min(nbands_for_children, p.children);
    for (uint16_t b = 1; b <= n; ++b) q->add_class(Handle::make(1, b), std::make_unique<PfifoQdisc>(p.child_limit));
    q->init();
    return q;
  }

  // A packet for band b (skb->priority naming class 1:b+1).
  Packet* to_band(uint32_t band, uint32_t len, uint32_t mark) { return packet(len, mark, 0x10000 | (band + 1)); }
};

// Linux's algorithm, with pfifo children of `limit` packets.
struct EtsModel {
  uint32_t nstrict;
  std::vector<uint32_t> quantum;  // per band; unused for strict bands
  uint32_t limit;
  std::vector<std::deque<std::pair<uint32_t, uint32_t>>> q;  // (mark, len)
  std::vector<uint32_t> deficit;
  std::list<uint32_t> active;

  EtsModel(uint32_t nbands, uint32_t nstrict, std::vector<uint32_t> quanta, uint32_t limit)
      : nstrict(nstrict), quantum(std::move(quanta)), limit(limit), q(nbands), deficit(nbands) {}

  bool enqueue(uint32_t band, uint32_t mark, uint32_t len) {
    if (q[band].size() >= limit) return false;
    q[band].push_back({mark, len});
    if (band >= nstrict && q[band].size() == 1) {
      deficit[band] = quantum[band];
      active.push_back(band);
    }
    return true;
  }

  std::optional<uint32_t> dequeue() {
    for (uint32_t b = 0; b < nstrict; ++b) {
      if (!q[b].empty()) {
        const uint32_t mark = q[b].front().first;
        q[b].pop_front();
        return mark;
      }
    }
    while (!active.empty()) {
      const uint32_t b = active.front();
      const uint32_t len = q[b].front().second;
      if (len <= deficit[b]) {
        deficit[b] -= len;
        const uint32_t mark = q[b].front().first;
        q[b].pop_front();
        if (q[b].empty()) active.pop_front();
        return mark;
      }
      deficit[b] += quantum[b];
      active.pop_front();
      active.push_back(b);
    }
    return std::nullopt;
  }
};

TEST_F(Ets, BandsDeriveFromStrictAndQuantaAndQuantaApplyAfterTheStrictBands) {
  // strict 1, quanta 300 600: three bands, band 1 quantum 300, band 2 quantum 600.
  auto q = open_ets({.strict = 1, .quanta = {300, 600}}, 3);
  EXPECT_EQ(q->object().get_global<uint32_t>("nbands"), 3u);
  const auto bq = q->object().get_global<Quanta>("band_quantum");
  EXPECT_EQ(bq[0], 0u);
  EXPECT_EQ(bq[1], 300u);
  EXPECT_EQ(bq[2], 600u);
  // Bands 1 and 2 hold six 300-byte packets each; band 0 gets one packet later.
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_EQ(q->enqueue(to_band(1, 300, 10 + i), 0).verdict, EnqueueVerdict::Queued);
    ASSERT_EQ(q->enqueue(to_band(2, 300, 20 + i), 0).verdict, EnqueueVerdict::Queued);
  }
  // DRR: band 1 sends one per round (300), band 2 two (600).
  EXPECT_EQ(dequeue_mark(*q), 10u);
  EXPECT_EQ(dequeue_mark(*q), 20u);
  EXPECT_EQ(dequeue_mark(*q), 21u);
  // A strict packet goes before everything else.
  ASSERT_EQ(q->enqueue(to_band(0, 1500, 1), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 11, 22, 23, 12, 24, 25, 13, 14, 15}));
  EXPECT_EQ(q->stats().sent_packets, 13u);
  expect_clean_end(q);
}

TEST_F(Ets, UnquantifiedBandsTakeQuantumAndTheDefaultPriomapIsTheLastBand) {
  auto q = open_ets({.bands = 3}, 3);  // no strict band, no quanta: every band has 1514
  const auto bq = q->object().get_global<Quanta>("band_quantum");
  EXPECT_EQ(bq[0], 1514u);
  EXPECT_EQ(bq[2], 1514u);
  const auto p2b = q->object().get_global<std::array<uint32_t, 16>>("prio2band");
  for (uint32_t p : p2b) EXPECT_EQ(p, 2u);
  // Plain priorities 0..7 all go to band 2 (class 1:3), 1:9 is out of range -> priomap[0] = 2.
  for (uint32_t i = 0; i < 8; ++i) q->enqueue(packet(100, i, i), 0);
  q->enqueue(packet(100, 8, 0x10009), 0);
  EXPECT_EQ(q->class_child(Handle::make(1, 3))->qlen(), 9u);
  EXPECT_EQ(q->class_child(Handle::make(1, 1))->qlen(), 0u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  expect_clean_end(q);
}

TEST_F(Ets, CustomPriomapClassifiesAndAllStrictIsPrio) {
  // bands 4 strict 4: prio with 4 bands. priomap: priority p -> band 3 - p % 4.
  Priomap map{};
  for (int p = 0; p < 16; ++p) map[p] = static_cast<uint8_t>(3 - p % 4);
  auto q = open_ets({.bands = 4, .strict = 4, .priomap = &map}, 4);
  for (uint32_t p = 0; p < 8; ++p) q->enqueue(packet(100, p, p), 0);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3, 7, 2, 6, 1, 5, 0, 4}));
  expect_clean_end(q);
}

TEST_F(Ets, AChildDropDoesNotActivateTheBandNorShiftTheHeadLengths) {
  // Band 0's pfifo holds 1 packet. The second packet for band 0 (1000 bytes) is dropped by the
  // child; the program must forget its length, or band 0's next head would be taken as 1000
  // bytes and wait a round.
  auto q = open_ets({.bands = 2, .quanta = {500, 500}, .child_limit = 1}, 2);
  ASSERT_EQ(q->enqueue(to_band(0, 500, 1), 0).verdict, EnqueueVerdict::Queued);
  ASSERT_EQ(q->enqueue(to_band(0, 1000, 2), 0).verdict, EnqueueVerdict::Dropped);
  ASSERT_EQ(q->enqueue(to_band(1, 500, 3), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->stats().drops(DropReason::QueueFull), 1u);
  EXPECT_EQ(dequeue_mark(*q), 1u);  // band 0: 500 <= 500, band leaves the list
  EXPECT_EQ(dequeue_mark(*q), 3u);
  // Both bands again; band 1's child drops a second packet while it holds one.
  ASSERT_EQ(q->enqueue(to_band(0, 400, 4), 0).verdict, EnqueueVerdict::Queued);
  ASSERT_EQ(q->enqueue(to_band(1, 400, 5), 0).verdict, EnqueueVerdict::Queued);
  ASSERT_EQ(q->enqueue(to_band(1, 400, 6), 0).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 5}));
  // A band whose only packet the child dropped is not on the list: with band 1's child absent
  // (no class 1:2 here), band 0 sends alone.
  auto r = open_ets({.bands = 2, .quanta = {500, 500}, .children = 1}, 2);
  EXPECT_EQ(r->enqueue(to_band(1, 100, 7), 0).verdict, EnqueueVerdict::Dropped);  // no class
  EXPECT_EQ(r->enqueue(to_band(0, 100, 8), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(r->object().get_global<uint32_t>("alen"), 1u);
  EXPECT_EQ(drain(*r), (std::vector<uint32_t>{8}));
  EXPECT_EQ(r->dequeue(0).kind, DequeueResult::Kind::Empty);
  expect_clean_end(r);
  expect_clean_end(q);
}

TEST_F(Ets, InitRefusesWhatEtsQdiscChangeRefuses) {
  struct Case {
    EtsParams p;
    const char* message;
  };
  Priomap bad{};
  bad[5] = 3;
  const Case cases[] = {
      {{}, "ets: at least one band needs to be specified"},
      {{.bands = 17}, "ets: bands 17 is more than 16"},
      {{.bands = 2, .strict = 3}, "ets: strict 3 is more than bands 2"},
      {{.bands = 2, .strict = 1, .quanta = {100, 100}}, "ets: too many quanta (2) for 2 bands of which 1 are strict"},
      {{.bands = 3, .priomap = &bad}, "ets: priomap entry 5 names band 3 of 3"},
  };
  for (const Case& c : cases) {
    trace.clear();
    EXPECT_THROW(open_ets(c.p, 0), Error) << c.message;
    EXPECT_NE(trace_text().find(c.message), std::string::npos) << trace_text();
  }
}

// A random script: 5 bands (2 strict, quanta 200..1600), pfifo children of 8 packets, random
// lengths, enqueues and dequeues interleaved; the order and the drops must be the model's.
TEST_F(Ets, RandomScriptMatchesAModelOfLinux) {
  const std::vector<uint32_t> quanta = {0, 0, 200, 700, 1600};
  auto q = open_ets({.bands = 5, .strict = 2, .quanta = {200, 700, 1600}, .child_limit = 8}, 5);
  EtsModel model(5, 2, quanta, 8);
  std::mt19937 rng(11);
  uint32_t mark = 0;
  for (int step = 0; step < 1500; ++step) {
    if (rng() % 100 < 55) {
      // Strict bands are rarer, so the DRR bands get served.
      const uint32_t band = rng() % 10 == 0 ? rng() % 2 : 2 + rng() % 3;
      const uint32_t len = 60 + rng() % 1455;
      const bool accepted = model.enqueue(band, mark, len);
      const EnqueueVerdict v = q->enqueue(to_band(band, len, mark), 0).verdict;
      ASSERT_EQ(v, accepted ? EnqueueVerdict::Queued : EnqueueVerdict::Dropped) << "step " << step;
      ++mark;
    } else {
      const std::optional<uint32_t> want = model.dequeue();
      DequeueResult r = q->dequeue(0);
      if (!want) {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Empty) << "step " << step;
        continue;
      }
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << "step " << step;
      EXPECT_EQ(r.packet->skb.mark, *want) << "step " << step;
      PacketPool::release(r.packet);
    }
    ASSERT_TRUE(q->stats().conserved());
  }
  for (std::optional<uint32_t> want = model.dequeue(); want; want = model.dequeue()) EXPECT_EQ(dequeue_mark(*q), *want);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_GT(q->stats().drops(DropReason::QueueFull), 0u);
  expect_clean_end(q);
}

TEST_F(Ets, ResetEmptiesTheChildrenAndTheActiveList) {
  auto q = open_ets({.bands = 3, .strict = 1}, 3);
  for (uint32_t i = 0; i < 6; ++i) q->enqueue(to_band(i % 3, 100, i), 0);
  q->reset();
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 6u);
  EXPECT_EQ(q->object().get_global<uint32_t>("alen"), 0u);
  q->enqueue(to_band(2, 100, 10), 0);
  q->enqueue(to_band(0, 100, 11), 0);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 10}));
  expect_clean_end(q);
}

}  // namespace
}  // namespace bpfq::sched::test
