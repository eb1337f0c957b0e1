// progs/drr.bpf.c against Linux's drr (sch_drr.c): per-class quantum and deficit, the active
// list's round-robin order, a class rejoining with a fresh quantum, classification by
// skb->priority and by the qdisc's filters, and drops of unclassified packets.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

#include <bpfq/error.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/u32_filter.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint32_t k1_1 = 0x10001, k1_2 = 0x10002, k1_3 = 0x10003, k1_4 = 0x10004;

class Drr : public ::testing::Test, public EngineFixture {
 protected:
  // A drr 1: whose classes (classid, quantum; 0 = the `quantum` parameter) each have a pfifo.
  std::unique_ptr<BpfQdisc> open_drr(std::initializer_list<std::pair<uint32_t, uint32_t>> classes,
                                     uint32_t default_quantum = 1514) {
    auto q = open(library_object("drr"));
    q->object().set_global("quantum", default_quantum);
    q->init();
    for (auto [classid, quantum] : classes) {
      q->add_class(Handle(classid), std::make_unique<PfifoQdisc>(100));
      set_quantum(*q, classid, quantum);
    }
    return q;
  }

  static void set_quantum(BpfQdisc& q, uint32_t classid, uint32_t quantum) {
    ASSERT_EQ(q.object().map("class_quantum").update(&classid, &quantum, BPF_ANY), 0);
  }

  // A packet of `len` bytes for class `classid`, by skb->priority.
  EnqueueVerdict offer(BpfQdisc& q, uint32_t len, uint32_t mark, uint32_t classid) {
    return q.enqueue(packet(len, mark, classid), clock.now_ns()).verdict;
  }
};

TEST_F(Drr, DefaultQuantumIsPschedMtuAndZeroIsRefused) {
  auto q = open(library_object("drr"));
  EXPECT_EQ(q->object().get_global<uint32_t>("quantum"), 1514u);
  q->object().set_global("quantum", uint32_t{0});
  EXPECT_THROW(q->init(), Error);
}

TEST_F(Drr, QuantaSetTheShareOfEachClass) {
  // A (1:1) quantum 1000, B (1:2) quantum 500; 500-byte packets, A's enqueued first so the
  // active list is A, B with deficits 1000 and 500.
  auto q = open_drr({{k1_1, 1000}, {k1_2, 500}});
  for (uint32_t i = 1; i <= 6; ++i) EXPECT_EQ(offer(*q, 500, 10 + i, k1_1), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 6; ++i) EXPECT_EQ(offer(*q, 500, 20 + i, k1_2), EnqueueVerdict::Queued);
  // A: 11 (1000 -> 500), 12 (-> 0); A +1000 to the tail. B: 21 (500 -> 0); B +500 to the tail.
  // A: 13, 14; tail. B: 22; tail. A: 15, 16, empty: leaves the list. B alone: 23, 24, 25, 26.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 21, 13, 14, 22, 15, 16, 23, 24, 25, 26}));
  EXPECT_EQ(q->stats().sent_packets, 12u);
  EXPECT_EQ(q->stats().sent_bytes, 6000u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Drr, DeficitCarriesOverWhileBackloggedAndResetsOnRejoin) {
  // C (1:3) has quantum 0: the `quantum` parameter, 600. D (1:4) has 1000.
  auto q = open_drr({{k1_3, 0}, {k1_4, 1000}}, 600);
  EXPECT_EQ(offer(*q, 700, 31, k1_3), EnqueueVerdict::Queued);  // C joins: deficit 600
  EXPECT_EQ(offer(*q, 900, 41, k1_4), EnqueueVerdict::Queued);  // D joins: deficit 1000
  EXPECT_EQ(offer(*q, 200, 32, k1_3), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 900, 42, k1_4), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 400, 33, k1_3), EnqueueVerdict::Queued);
  // C 600 < 700: +600 = 1200, to the tail. D 1000: 41 (-> 100). D 100 < 900: +1000 = 1100,
  // tail. C 1200: 31 (-> 500), 32 (-> 300); 300 < 400: +600 = 900, tail. D 1100: 42 (-> 200),
  // D empty. C 900: 33 (-> 500), C empty.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{41, 31, 32, 42, 33}));
  // C rejoins with a fresh quantum (600), not the 500 it had left: 600 >= 600 sends 34 at once
  // (with 500 left over, D's 43 and 44 would go first).
  EXPECT_EQ(offer(*q, 600, 34, k1_3), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 100, 43, k1_4), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 100, 44, k1_4), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{34, 43, 44}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Drr, SmallQuantaTakeSeveralRoundsPerPacket) {
  // Quanta 100 and 300 against 1000-byte packets: A needs 10 rounds per packet, B 4 (deficit
  // 300, 600, 900, 1200 -> sends, 200 left; then 500, 800, 1100 -> sends, 100 left ...).
  auto q = open_drr({{k1_1, 100}, {k1_2, 300}});
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1000, 10 + i, k1_1), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 1000, 20 + i, k1_2), EnqueueVerdict::Queued);
  // Round r gives A 100r and B 300r (minus what they spent). B reaches 1000 in round 4 (1200,
  // 200 left), 1000 again in round 7 (200 + 900 = 1100, 100 left), in round 10 (100 + 900 =
  // 1000, 0 left); A reaches 1000 only in round 10 and is first in it: 11, then 23. A then needs
  // 10 more rounds per packet alone.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{21, 22, 11, 23, 12, 13}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Drr, ClassifiesByPriorityThenFiltersAndDropsTheRest) {
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  auto root = open_drr({{k1_1, 1514}, {k1_2, 1514}});
  root->set_classifier(devices.classifier());
  BpfQdisc* q = root.get();
  eth0.set_root(std::move(root));
  eth0.add_filter(Handle::make(1, 0), 1, dport_filter("22", "1:2"));
  eth0.add_filter(Handle::make(1, 0), 2, dport_filter("25", "1:9"));  // not a drr class
  using V = EnqueueVerdict;
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 1, k1_1), 0).verdict, V::Queued);   // priority 1:1 beats the filter
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 2, 0), 0).verdict, V::Queued);      // filter: 1:2
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 3, 0x10007), 0).verdict, V::Queued);  // 1:7 no class: filter 1:2
  EXPECT_EQ(eth0.transmit(tcp_packet(25, 4, 0), 0).verdict, V::Dropped);     // filter names no class
  EXPECT_EQ(eth0.transmit(tcp_packet(80, 5, 0), 0).verdict, V::Dropped);     // no match
  EXPECT_EQ(eth0.transmit(tcp_packet(80, 6, 0x20001), 0).verdict, V::Dropped);  // 2:1 is not ours
  EXPECT_EQ(q->class_child(Handle(k1_1))->qlen(), 1u);
  EXPECT_EQ(q->class_child(Handle(k1_2))->qlen(), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 3u);
  EXPECT_EQ(drain_marks(eth0, 0), (std::vector<uint32_t>{1, 2, 3}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

// A random script against a plain model of Linux's drr_enqueue/drr_dequeue (active list of
// classes, deficits, per-class FIFOs): identical dequeue order at every step.
TEST_F(Drr, MatchesAModelOfLinuxDrrOnARandomScript) {
  const uint32_t ids[] = {0x10001, 0x10002, 0x10003, 0x10004};
  const uint32_t quanta[] = {1514, 700, 3000, 90};
  auto q = open_drr({{ids[0], quanta[0]}, {ids[1], quanta[1]}, {ids[2], quanta[2]}, {ids[3], quanta[3]}});
  struct ModelClass {
    uint32_t quantum, deficit = 0;
    std::deque<std::pair<uint32_t, uint32_t>> fifo;  // (mark, len)
  };
  std::map<uint32_t, ModelClass> model;
  for (int c = 0; c < 4; ++c) model[ids[c]].quantum = quanta[c];
  std::deque<uint32_t> active;
  auto model_dequeue = [&]() -> int64_t {
    while (!active.empty()) {
      ModelClass& cl = model[active.front()];
      const uint32_t len = cl.fifo.front().second;
      if (len <= cl.deficit) {
        cl.deficit -= len;
        const uint32_t mark = cl.fifo.front().first;
        cl.fifo.pop_front();
        if (cl.fifo.empty()) active.pop_front();
        return mark;
      }
      cl.deficit += cl.quantum;
      active.push_back(active.front());
      active.pop_front();
    }
    return -1;
  };
  std::mt19937 rng(11);
  uint32_t sent = 0;
  for (uint32_t step = 0; step < 3000; ++step) {
    if (rng() % 2) {
      const uint32_t id = ids[rng() % 4], len = 60 + rng() % 1455;
      ASSERT_EQ(offer(*q, len, step, id), EnqueueVerdict::Queued);
      ModelClass& cl = model[id];
      if (cl.fifo.empty()) {
        cl.deficit = cl.quantum;
        active.push_back(id);
      }
      cl.fifo.emplace_back(step, len);
    } else {
      const int64_t expected = model_dequeue();
      DequeueResult r = q->dequeue(0);
      if (expected < 0) {
        ASSERT_EQ(r.kind, DequeueResult::Kind::Empty) << "step " << step;
        continue;
      }
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet) << "step " << step;
      ASSERT_EQ(r.packet->skb.mark, static_cast<uint32_t>(expected)) << "step " << step;
      PacketPool::release(r.packet);
      ++sent;
    }
  }
  EXPECT_GT(sent, 1000u);
  std::vector<uint32_t> rest;
  for (int64_t m; (m = model_dequeue()) >= 0;) rest.push_back(static_cast<uint32_t>(m));
  EXPECT_EQ(drain(*q), rest);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Drr, ResetEmptiesTheChildrenAndTheActiveListButKeepsTheClasses) {
  auto q = open_drr({{k1_1, 1000}, {k1_2, 1000}});
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(offer(*q, 500, i, i % 2 ? k1_1 : k1_2), EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 4u);
  EXPECT_EQ(pool.in_use(), 0u);
  // class_quantum is BPF_F_RDONLY_PROG configuration: reset() keeps it, as Linux keeps classes.
  EXPECT_EQ(offer(*q, 500, 10, k1_2), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 500, 11, k1_1), EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 500, 12, k1_2), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{10, 12, 11}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
