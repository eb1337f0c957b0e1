// progs/sfq.bpf.c against Linux's sfq (sch_sfq.c): round robin over flow slots with byte
// allotments, per-flow depth, the overflow drop from the longest slot, flows, classification by
// skb->priority (1:N picks bucket N-1, so tests choose the slots) and by the flow hash.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint32_t bucket(uint16_t n) { return 0x10000u | n; }  // skb->priority 1:n -> bucket n-1

class Sfq : public ::testing::Test, public EngineFixture {
 protected:
  struct Params {
    uint32_t limit = 127, depth = 127, flows = 128, quantum = 1514;
    uint64_t perturb = 0;
  };

  std::unique_ptr<BpfQdisc> open_sfq(const Params& p) {
    auto q = open(library_object("sfq"));
    q->object().set_global("limit", p.limit);
    q->object().set_global("depth", p.depth);
    q->object().set_global("flows", p.flows);
    q->object().set_global("quantum", p.quantum);
    q->object().set_global("perturb", p.perturb);
    q->init();
    return q;
  }

  EnqueueResult offer(BpfQdisc& q, uint32_t len, uint32_t mark, uint32_t priority) {
    return q.enqueue(packet(len, mark, priority), clock.now_ns());
  }

  // A UDP packet of flow `sport` (the hash decides its bucket).
  Packet* flow_packet(uint16_t sport, uint32_t mark) {
    Packet* pkt = pool.alloc();
    FrameSpec s;
    s.sport = sport;
    s.payload_len = 58;  // 100-byte frames
    EXPECT_TRUE(build_into(*pkt, s));
    pkt->skb.mark = mark;
    return pkt;
  }
};

TEST_F(Sfq, DefaultsAreLinuxs) {
  auto q = open(library_object("sfq"));
  EXPECT_EQ(q->object().get_global<uint32_t>("limit"), 127u);
  EXPECT_EQ(q->object().get_global<uint32_t>("depth"), 127u);
  EXPECT_EQ(q->object().get_global<uint32_t>("flows"), 128u);
  EXPECT_EQ(q->object().get_global<uint32_t>("divisor"), 1024u);
  EXPECT_EQ(q->object().get_global<uint32_t>("quantum"), 1514u);
  EXPECT_EQ(q->object().get_global<uint64_t>("perturb"), 0u);
}

TEST_F(Sfq, RoundRobinWithByteAllotments) {
  auto q = open_sfq({.quantum = 1000});
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(offer(*q, 600, 10 + i, bucket(1)).verdict, EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 2; ++i) EXPECT_EQ(offer(*q, 300, 20 + i, bucket(2)).verdict, EnqueueVerdict::Queued);
  // F1 joined first and is served first. F1 1000: 11 (-> 400), 12 (-> -200); -200 <= 0: +1000
  // = 800, F2's turn. F2 1000: 21 (-> 700), 22 (F2 empty: leaves the ring). F1 800: 13 (-> 200),
  // 14 (empty).
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 21, 22, 13, 14}));
  EXPECT_EQ(q->stats().sent_bytes, 4u * 600 + 2 * 300);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, DepthTailDropsTheArrivingPacket) {
  auto q = open_sfq({.depth = 3});
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 1; i <= 5; ++i) verdicts.push_back(offer(*q, 100, i, bucket(7)).verdict);
  using V = EnqueueVerdict;
  EXPECT_EQ(verdicts, (std::vector<V>{V::Queued, V::Queued, V::Queued, V::Dropped, V::Dropped}));
  EXPECT_EQ(offer(*q, 100, 6, bucket(8)).verdict, V::Queued);  // another flow is not affected
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3, 6}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, OverTheLimitTheLongestFlowLosesItsTail) {
  auto q = open_sfq({.limit = 5, .quantum = 100});
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(offer(*q, 100, 10 + i, bucket(1)).verdict, EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 2; ++i) EXPECT_EQ(offer(*q, 100, 20 + i, bucket(2)).verdict, EnqueueVerdict::Queued);
  // 23 makes 6 > 5: F1 and F2 both hold 3, F2 got there last, so its tail goes: 23 itself,
  // reported as congestion (NET_XMIT_CN).
  EXPECT_EQ(offer(*q, 100, 23, bucket(2)), EnqueueResult::congested(DropReason::Congestion));
  // 31 (a new flow) makes 6 again: F1 (3) is the longest, its tail 13 goes; 31 stays.
  EXPECT_EQ(offer(*q, 100, 31, bucket(3)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 5u);
  EXPECT_EQ(q->stats().drops(DropReason::Congestion), 1u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  // Ring F1, F2, F3, allotments 100 (one packet each per round): 11, 21, 31 (F3 leaves),
  // 12 (F1 leaves), 22.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 21, 31, 12, 22}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, WithEveryFlowAtOnePacketTheNextToBeServedIsDropped) {
  auto q = open_sfq({.limit = 3});
  for (uint16_t f = 1; f <= 3; ++f) EXPECT_EQ(offer(*q, 100, 10 * f, bucket(f)).verdict, EnqueueVerdict::Queued);
  // 40 makes 4 > 3 with every slot at 1 packet: F1, next in the ring, loses its packet and leaves.
  EXPECT_EQ(offer(*q, 100, 40, bucket(4)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{20, 30, 40}));
  // F1's bucket was freed: it takes a slot again.
  EXPECT_EQ(offer(*q, 100, 11, bucket(1)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, NoFreeSlotDropsANewFlow) {
  auto q = open_sfq({.flows = 2});
  EXPECT_EQ(offer(*q, 100, 1, bucket(1)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 100, 2, bucket(2)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(offer(*q, 100, 3, bucket(3)).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*q, 100, 4, bucket(1)).verdict, EnqueueVerdict::Queued);  // a flow with a slot
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 4, 2}));  // F1's allotment covers both
  EXPECT_EQ(offer(*q, 100, 5, bucket(3)).verdict, EnqueueVerdict::Queued);  // slots are free again
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, FlowsByHashAreServedInTurnAndKeepTheirOrder) {
  auto q = open_sfq({.quantum = 100});
  // Three flows (source ports 1111, 2222, 3333), three 100-byte packets each, arriving flow
  // by flow; quantum 100 sends one packet per flow per round.
  const uint16_t ports[] = {1111, 2222, 3333};
  for (uint32_t f = 0; f < 3; ++f)
    for (uint32_t i = 1; i <= 3; ++i)
      EXPECT_EQ(q->enqueue(flow_packet(ports[f], 10 * (f + 1) + i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 21, 31, 12, 22, 32, 13, 23, 33}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, PerturbationChangesAfterThePeriod) {
  auto q = open_sfq({.perturb = 10'000'000'000});  // 10 s
  const uint32_t first = q->object().get_global<uint32_t>("perturbation");
  EXPECT_EQ(q->object().get_global<uint64_t>("next_perturb_ns"), clock.now_ns() + 10'000'000'000);
  clock.advance(9'000'000'000);
  EXPECT_EQ(q->enqueue(flow_packet(1111, 1), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->object().get_global<uint32_t>("perturbation"), first);
  clock.advance(1'000'000'000);
  EXPECT_EQ(q->enqueue(flow_packet(1111, 2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_NE(q->object().get_global<uint32_t>("perturbation"), first);
  EXPECT_EQ(q->object().get_global<uint64_t>("next_perturb_ns"), clock.now_ns() + 10'000'000'000);
  EXPECT_EQ(drain(*q).size(), 2u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, ANewPerturbationRehashesQueuedPacketsKeepingFlowOrder) {
  auto q = open_sfq({.quantum = 100, .perturb = 10'000'000'000});
  // A1 A2 (flow port 1111) and B1 (port 2222) wait in two slots when the period ends.
  EXPECT_EQ(q->enqueue(flow_packet(1111, 11), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(flow_packet(1111, 12), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->enqueue(flow_packet(2222, 21), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  DequeueResult first = q->dequeue(clock.now_ns());  // A1: A's allotment drops to 0
  ASSERT_EQ(first.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(first.packet->skb.mark, 11u);
  PacketPool::release(first.packet);
  clock.advance(10'000'000'000);
  // A3 arrives with the new perturbation: A2 and B1 move to their new slots first (slot order:
  // A's slot was taken first), with fresh allotments, then A3 joins A2. Without the rehash A3
  // could land in a third slot and overtake A2.
  EXPECT_EQ(q->enqueue(flow_packet(1111, 13), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 3u);
  // Ring A, B with allotments 100: A2, B1 (B leaves), A3.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{12, 21, 13}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

// Many flows against few slots, a small limit and depth, and a perturbation every 1 ms (so
// rehashes happen with packets queued): every flow's packets leave in order, the program's
// count matches the engine's, nothing faults or leaks, and every packet is accounted for.
TEST_F(Sfq, RandomScriptKeepsEveryFlowInOrderAndEveryPacketAccounted) {
  auto q = open_sfq({.limit = 30, .depth = 8, .flows = 16, .quantum = 300, .perturb = 1'000'000});
  std::mt19937 rng(3);
  std::map<uint32_t, uint32_t> next_seq, last_sent;
  for (int step = 0; step < 4000; ++step) {
    clock.advance(rng() % 200'000);
    if (rng() % 3 != 0) {
      const uint32_t flow = rng() % 40;
      const uint32_t mark = flow * 100000 + next_seq[flow]++;
      Packet* pkt = flow_packet(static_cast<uint16_t>(2000 + flow), mark);
      ASSERT_TRUE(pkt->set_len(60 + rng() % 1400));
      q->enqueue(pkt, clock.now_ns());
    } else {
      DequeueResult r = q->dequeue(clock.now_ns());
      if (r.kind == DequeueResult::Kind::Packet) {
        const uint32_t flow = r.packet->skb.mark / 100000, seq = r.packet->skb.mark % 100000;
        if (last_sent.count(flow)) {
          EXPECT_GT(seq, last_sent[flow]) << "flow " << flow << " step " << step;
        }
        last_sent[flow] = seq;
        PacketPool::release(r.packet);
      }
    }
    ASSERT_TRUE(q->stats().conserved()) << "step " << step;
    ASSERT_EQ(q->object().get_global<uint32_t>("qlen"), q->qlen()) << "step " << step;
    ASSERT_LE(q->qlen(), 30u);
  }
  EXPECT_GT(q->stats().drops(DropReason::Congestion) + q->stats().drops(DropReason::ReleasedByProgram), 0u);
  EXPECT_GT(q->stats().drops(DropReason::ProgramVerdict), 0u);  // depth or no free slot
  drain(*q);
  EXPECT_EQ(q->qlen(), 0u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Sfq, InitRefusesWhatSfqChangeRefuses) {
  auto refuses = [&](const char* var, uint32_t value) {
    auto q = open(library_object("sfq"));
    q->object().set_global(var, value);
    EXPECT_THROW(q->init(), Error) << var << " " << value;
  };
  refuses("divisor", 1000);  // not a power of two
  refuses("divisor", 131072);
  refuses("limit", 1);
  refuses("quantum", 0);
  refuses("flows", 2000);
}

TEST_F(Sfq, ResetReleasesEveryPacketAndStartsOver) {
  auto q = open_sfq({});
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(offer(*q, 100, i, bucket(1 + i % 3)).verdict, EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 6u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(offer(*q, 100, 7, bucket(2)).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{7}));
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
