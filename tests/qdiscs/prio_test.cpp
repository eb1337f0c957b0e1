// progs/prio.bpf.c against Linux's prio (sch_prio.c): classification by skb->priority, by the
// qdisc's filters and by the priomap; PASS to child classes 1:1..1:bands; strict priority on
// dequeue; prio_tune's -EINVAL checks.
#include <gtest/gtest.h>

#include <array>

#include <bpfq/error.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/u32_filter.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

using Priomap = std::array<uint8_t, 16>;

class Prio : public ::testing::Test, public EngineFixture {
 protected:
  // A prio 1: with `bands` classes 1:1.. each holding a pfifo of child_limit packets.
  std::unique_ptr<BpfQdisc> open_prio(uint32_t bands = 3, const Priomap* priomap = nullptr, uint32_t child_limit = 100) {
    auto q = open(library_object("prio"));
    q->object().set_global("bands", bands);
    if (priomap) q->object().set_global("priomap", *priomap);
    for (uint16_t b = 1; b <= bands; ++b) q->add_class(Handle::make(1, b), std::make_unique<PfifoQdisc>(child_limit));
    q->init();
    return q;
  }

  uint32_t child_qlen(BpfQdisc& q, uint16_t minor) { return q.class_child(Handle::make(1, minor))->qlen(); }
};

TEST_F(Prio, DefaultsAreThreeBandsAndTheTcPriomap) {
  auto q = open(library_object("prio"));
  EXPECT_EQ(q->object().get_global<uint32_t>("bands"), 3u);
  EXPECT_EQ(q->object().get_global<Priomap>("priomap"), (Priomap{1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST_F(Prio, PriomapPicksTheBandAndLowerBandsGoFirst) {
  auto q = open_prio();
  // priority -> band: 0 -> 1, 2 -> 2, 6 -> 0, 7 -> 0, 8 -> 1, 1 -> 2, 6 + 16 -> (22 & 15 = 6) 0.
  const uint32_t prios[] = {0, 2, 6, 7, 8, 1, 22};
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(q->enqueue(packet(100, i + 1, prios[i]), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(child_qlen(*q, 1), 3u);  // marks 3 4 7
  EXPECT_EQ(child_qlen(*q, 2), 2u);  // marks 1 5
  EXPECT_EQ(child_qlen(*q, 3), 2u);  // marks 2 6
  EXPECT_EQ(q->qlen(), 7u);
  EXPECT_EQ(q->backlog(), 700u);
  // Band 0 drains before anything of band 1 is sent, even when band 0 refills.
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 3u);
  PacketPool::release(r.packet);
  EXPECT_EQ(q->enqueue(packet(100, 8, 6), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 7, 8, 1, 5, 2, 6}));
  EXPECT_EQ(q->stats().sent_packets, 8u);
  EXPECT_EQ(q->stats().sent_bytes, 800u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Prio, PriorityNamingAClassOfThisQdiscWins) {
  // priomap[0] = 2 tells "out of range -> priomap[0]" (Linux) apart from "-> band 0".
  const Priomap map = {2, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  auto q = open_prio(3, &map);
  struct Case {
    uint32_t priority;
    uint16_t band;
  };
  const Case cases[] = {
      {0x10003, 2},  // 1:3 -> band 2
      {0x10001, 0},  // 1:1 -> band 0
      {0x10000, 2},  // 1:0 -> minor - 1 wraps: out of range -> priomap[0] = 2
      {0x10009, 2},  // 1:9 > bands -> priomap[0] = 2
      {0x20001, 2},  // 2:1 is another qdisc's: no filters, major bits set -> priomap[0] = 2
      {0x00001, 0},  // plain priority 1 -> priomap[1] = 0
      {0x00002, 1},  // plain priority 2 -> priomap[2] = 1
  };
  uint32_t per_band[3] = {};
  for (uint32_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(q->enqueue(packet(100, i, cases[i].priority), 0).verdict, EnqueueVerdict::Queued);
    ++per_band[cases[i].band];
    EXPECT_EQ(child_qlen(*q, 1), per_band[0]) << "case " << i;
    EXPECT_EQ(child_qlen(*q, 2), per_band[1]) << "case " << i;
    EXPECT_EQ(child_qlen(*q, 3), per_band[2]) << "case " << i;
  }
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 5, 6, 0, 2, 3, 4}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Prio, FiltersOfTheQdiscClassifyOnItsDevice) {
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  auto root = open_prio();
  root->set_classifier(devices.classifier());
  BpfQdisc* q = root.get();
  eth0.set_root(std::move(root));
  eth0.add_filter(Handle::make(1, 0), 1, dport_filter("22", "1:1"));
  eth0.add_filter(Handle::make(1, 0), 2, dport_filter("80", "1:3"));
  eth0.add_filter(Handle::make(1, 0), 3, dport_filter("25", "1:7"));  // no band 7: priomap[0] = 1
  // A filter match overrides the priomap (priority 6 would be band 0); no match falls back to
  // it; a priority naming 1:2 bypasses the filters.
  EXPECT_EQ(eth0.transmit(tcp_packet(80, 1, 6), 0).verdict, EnqueueVerdict::Queued);        // band 2
  EXPECT_EQ(eth0.transmit(tcp_packet(443, 2, 6), 0).verdict, EnqueueVerdict::Queued);       // band 0
  EXPECT_EQ(eth0.transmit(tcp_packet(25, 3, 6), 0).verdict, EnqueueVerdict::Queued);        // band 1
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 4, 0x10002), 0).verdict, EnqueueVerdict::Queued);  // band 1
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 5, 2), 0).verdict, EnqueueVerdict::Queued);        // band 0
  EXPECT_EQ(child_qlen(*q, 1), 2u);
  EXPECT_EQ(child_qlen(*q, 2), 2u);
  EXPECT_EQ(child_qlen(*q, 3), 1u);
  EXPECT_EQ(drain_marks(eth0, 0), (std::vector<uint32_t>{2, 5, 3, 4, 1}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Prio, MoreBandsWithACustomPriomap) {
  // bands 5, priomap: priority p -> band 4 - (p % 5).
  Priomap map{};
  for (int p = 0; p < 16; ++p) map[p] = static_cast<uint8_t>(4 - p % 5);
  auto q = open_prio(5, &map);
  for (uint32_t p = 0; p < 10; ++p) EXPECT_EQ(q->enqueue(packet(100, p, p), 0).verdict, EnqueueVerdict::Queued);
  // Bands: 0 <- p 4, 9; 1 <- 3, 8; 2 <- 2, 7; 3 <- 1, 6; 4 <- 0, 5.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 9, 3, 8, 2, 7, 1, 6, 0, 5}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Prio, InitRefusesWhatPrioTuneRefuses) {
  auto expect_einval = [&](uint32_t bands, const Priomap* map) {
    auto q = open(library_object("prio"));
    q->object().set_global("bands", bands);
    if (map) q->object().set_global("priomap", *map);
    try {
      q->init();
      ADD_FAILURE() << "bands " << bands << " accepted";
    } catch (const Error& e) {
      // -EINVAL; the engine prints the 32-bit return value unsigned (4294967274).
      const std::string what = e.what();
      EXPECT_NE(what.find("prio.bpf.o: qdisc/init returned "), std::string::npos) << what;
      EXPECT_NE(what.find("(hint: the init program must return 0)"), std::string::npos) << what;
    }
  };
  expect_einval(1, nullptr);   // fewer than 2 bands
  expect_einval(17, nullptr);  // more than TCQ_PRIO_BANDS
  expect_einval(2, nullptr);   // the default priomap names band 2
  const Priomap two = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  auto q = open(library_object("prio"));
  q->object().set_global("bands", uint32_t{2});
  q->object().set_global("priomap", two);
  EXPECT_NO_THROW(q->init());
}

TEST_F(Prio, ChildDropsAreCountedAndDoNotStallTheLowerBands) {
  // Band 0's pfifo holds 1 packet: the second band-0 packet is dropped by the child, which the
  // root counts. Dequeue asks the children what they hold (bpf_qdisc_class_qlen), as Linux asks
  // each band, so the next dequeue goes straight to band 2.
  auto q = open_prio(3, nullptr, 1);
  EXPECT_EQ(q->enqueue(packet(100, 1, 6), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(packet(100, 2, 6), 0).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->enqueue(packet(100, 3, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->stats().drops(DropReason::QueueFull), 1u);
  EXPECT_EQ(q->qlen(), 2u);
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 1u);
  PacketPool::release(r.packet);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Prio, ResetEmptiesTheChildren) {
  auto q = open_prio();
  for (uint32_t i = 0; i < 4; ++i) q->enqueue(packet(100, i, i % 2 ? 6 : 0), 0);
  q->reset();
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 4u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(q->enqueue(packet(100, 10, 2), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{10}));
  expect_clean(*q);
}

}  // namespace
}  // namespace bpfq::sched::test
