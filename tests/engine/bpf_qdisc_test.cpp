// BpfQdisc: the seed's verdicts, packet references, accounting and faults, driven by real
// clang-built programs.
#include <gtest/gtest.h>

#include <cstddef>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

// engine_verdicts.bpf.c returns skb->queue_mapping as its enqueue verdict (and leaks on
// purpose): the verifier refuses it, so it runs checked.
class Verdicts : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open_unverified(test_object("engine_verdicts"));

  Packet* with_verdict(uint32_t verdict, uint32_t mark = 0, uint32_t rank = 0) {
    Packet* pkt = packet(100, mark, rank);
    pkt->skb.queue_mapping = verdict;
    return pkt;
  }
};

TEST_F(Verdicts, QueuedPacketsLeaveInRankOrderAndAreAccounted) {
  // mark 0 = QUEUED; priority is the rank.
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(q->enqueue(with_verdict(0, i, 3 - i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 4u);
  EXPECT_EQ(q->backlog(), 400u);
  EXPECT_EQ(pool.in_use(), 4u);  // one reference each, held by the packet queue
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3, 2, 1, 0}));
  EXPECT_EQ(q->stats().sent_packets, 4u);
  EXPECT_EQ(q->stats().sent_bytes, 400u);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(q->stats().conserved());
}

TEST_F(Verdicts, DropAndOutOfRangeVerdictsAreCountedByReason) {
  EXPECT_EQ(q->enqueue(with_verdict(1 /* DROP */), 0), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(q->enqueue(with_verdict(2 /* CN */), 0).verdict, EnqueueVerdict::Congested);
  EXPECT_EQ(q->enqueue(with_verdict(42), 0), EnqueueResult::dropped(DropReason::OutOfRangeVerdict));
  EXPECT_EQ(q->enqueue(with_verdict(5 /* BYPASS */), 0).verdict, EnqueueVerdict::Bypass);
  EXPECT_EQ(q->enqueue(with_verdict(6 /* STOLEN */), 0).verdict, EnqueueVerdict::Stolen);
  const QdiscStats& s = q->stats();
  EXPECT_EQ(s.enqueued_packets, 5u);
  EXPECT_EQ(s.drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(s.drops(DropReason::Congestion), 1u);
  EXPECT_EQ(s.drops(DropReason::OutOfRangeVerdict), 1u);
  EXPECT_EQ(s.drops(DropReason::Bypass), 1u);
  EXPECT_EQ(s.drops(DropReason::Stolen), 1u);
  EXPECT_EQ(s.tc_dropped(), 3u);
  EXPECT_TRUE(s.conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Verdicts, QueuedWithoutKeepingAReferenceIsADropNotALoss) {
  EXPECT_EQ(q->enqueue(with_verdict(100), 0), EnqueueResult::dropped(DropReason::NotStored));
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Verdicts, LeakedReferencesAreReleasedAndCounted) {
  q->object().set_global("store_twice", uint32_t{1});
  EXPECT_EQ(q->enqueue(with_verdict(0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->counters().leaked_refs, 1u);
  EXPECT_EQ(pool.in_use(), 1u);  // only the queue's reference is left
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Verdicts, ReferencesATcProgramOfTheQdiscLeaksAreCountedAsTheQdiscs) {
  TcProgram cls = TcProgram::of_qdisc(*q, "tc");
  Packet* pkt = packet(100, 9);
  int32_t ret = -1;
  EXPECT_TRUE(cls.run(*pkt, ret));
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(q->counters().leaked_refs, 1u);
  EXPECT_EQ(pkt->refcount, 1u);  // the leaked reference was released; ours is left
  PacketPool::release(pkt);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Verdicts, ThrottleArmsTheWatchdogOnBothSides) {
  q->object().set_global("throttle_delay_ns", uint64_t{5000});
  EXPECT_EQ(q->enqueue(with_verdict(3 /* THROTTLE */, 3), 100).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->watchdog_ns(), 5100u);
  EXPECT_EQ(q->stats().overlimits, 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{3}));
  q->object().set_global("dequeue_verdict", uint32_t{3});
  const DequeueResult r = q->dequeue(clock.now_ns());
  EXPECT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, clock.now_ns() + 5000);
  EXPECT_EQ(q->stats().overlimits, 2u);
}

TEST_F(Verdicts, PassEnqueuesIntoAndDequeuesFromTheChildClass) {
  q->add_class(Handle::make(1, 0x10), std::make_unique<PfifoQdisc>(2u, Handle::make(10, 0)));
  q->object().set_global("pass_classid", Handle::make(1, 0x10).value);
  q->object().set_global("dequeue_verdict", uint32_t{4 /* PASS */});
  for (uint32_t i = 0; i < 3; ++i) q->enqueue(with_verdict(4 /* PASS */, 4), 0);
  // The child's limit is 2: the third is dropped there and counted here too.
  EXPECT_EQ(q->class_child(Handle::make(1, 0x10))->qlen(), 2u);
  EXPECT_EQ(q->qlen(), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::QueueFull), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{4, 4}));
  EXPECT_EQ(q->stats().sent_packets, 2u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_TRUE(q->class_child(Handle::make(1, 0x10))->stats().conserved());
}

TEST_F(Verdicts, PassToAMissingClassDrops) {
  q->object().set_global("pass_classid", Handle::make(1, 0x99).value);
  EXPECT_EQ(q->enqueue(with_verdict(4), 0), EnqueueResult::dropped(DropReason::NoClass));
  EXPECT_TRUE(q->stats().conserved());
}

TEST_F(Verdicts, ReleasingAQueuedPacketCountsItAsDropped) {
  q->object().set_global("dequeue_drop_next", uint32_t{1});
  q->enqueue(with_verdict(0, 0, 0), 0);
  q->enqueue(with_verdict(0, 1, 1), 0);
  // The first dequeue releases the head instead of sending it: nothing goes out.
  EXPECT_EQ(q->dequeue(0).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(q->qlen(), 1u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1}));
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Verdicts, ResetReleasesEveryQueuedPacket) {
  for (uint32_t i = 0; i < 5; ++i) q->enqueue(packet(100, 0, i), 0);
  q->reset();
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 5u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(q->stats().conserved());
}

TEST_F(Verdicts, DestroyingTheQdiscReleasesItsPackets) {
  for (uint32_t i = 0; i < 5; ++i) q->enqueue(packet(100, 0, i), 0);
  q.reset();
  EXPECT_EQ(pool.in_use(), 0u);
}

class PacketAccess : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open_unverified(test_object("engine_packet_access"));  // one path faults
};

TEST_F(PacketAccess, ProgramsReadHeadersThroughDataAndWriteWritableFields) {
  q->enqueue(packet(200, 1, 0, 0), 0);
  q->enqueue(packet(200, 2, 0, 46), 0);  // EF goes first
  EXPECT_EQ(q->object().get_global<uint32_t>("seen_dscp"), 46u);
  DequeueResult r = q->dequeue(0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 2u);
  EXPECT_EQ(r.packet->skb.priority, 46u);
  EXPECT_EQ(r.packet->skb.cb[0], 0xc0ffeeu);
  EXPECT_EQ(q->object().get_global<uint32_t>("seen_hash"), r.packet->get_hash());
  PacketPool::release(r.packet);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1}));
}

TEST_F(PacketAccess, AWriteToAReadOnlyFieldFaultsAndDropsThePacketWithAClearMessage) {
  q->object().set_global("write_len", uint32_t{1});
  q->object().set_global("len_offset", uint32_t{offsetof(__sk_buff, len)});
  Packet* pkt = packet(200, 1);
  EXPECT_EQ(q->enqueue(pkt, 0), EnqueueResult::dropped(DropReason::ProgramFault));
  EXPECT_EQ(q->counters().faults, 1u);
  const std::string& msg = q->counters().last_fault;
  EXPECT_NE(msg.find("qdisc/enqueue"), std::string::npos) << msg;
  EXPECT_NE(msg.find("read-only"), std::string::npos) << msg;
  EXPECT_NE(msg.find("engine_packet_access.bpf.c:"), std::string::npos) << msg;
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
  // The qdisc goes on working.
  q->object().set_global("write_len", uint32_t{0});
  EXPECT_EQ(q->enqueue(packet(200, 2), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2}));
}

TEST(BpfQdiscOpen, AnObjectWithoutQdiscProgramsIsRejectedByName) {
  EngineFixture f;
  try {
    f.open(test_object("runtime_globals"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qdisc/enqueue"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("runtime_globals.bpf.o"), std::string::npos) << e.what();
  }
}

// A verified program's runs keep no list of the references it holds (its bpf_kptr_xchg is two
// moves). One that faults midway holding a packet — here by spending the run's 2^23 callback
// calls — still loses nothing uncounted: the reference the maps do not account for is released
// as a leak, on the JIT and on the interpreter alike.
class VerifiedFault : public ::testing::TestWithParam<exec::Backend>, public EngineFixture {
 protected:
  void SetUp() override { runtime::set_default_backend(GetParam()); }
  void TearDown() override { runtime::set_default_backend(saved_); }
  exec::Backend saved_ = runtime::default_backend();
};

TEST_P(VerifiedFault, APacketHeldAtTheFaultIsReleasedAsALeak) {
  std::unique_ptr<BpfQdisc> q = open_init<uint32_t>(test_object("engine_budget_fault"), {{"every", 3}});
  for (const runtime::ProgramInfo& p : q->object().programs()) {
    EXPECT_TRUE(p.verified) << p.section << ": " << p.unverified;
    EXPECT_EQ(p.backend, GetParam()) << p.section;
  }
  for (uint32_t mark = 0; mark < 4; ++mark) ASSERT_EQ(q->enqueue(packet(100, mark), 0).verdict, EnqueueVerdict::Queued);
  std::vector<uint32_t> sent;
  for (int i = 0; i < 5; ++i) {
    const DequeueResult r = q->dequeue(0);
    if (r.kind != DequeueResult::Kind::Packet) continue;
    sent.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(sent, (std::vector<uint32_t>{0, 1, 3}));  // the third dequeue faulted holding mark 2
  EXPECT_EQ(q->counters().faults, 1u);
  EXPECT_NE(q->counters().last_fault.find("qdisc/dequeue: more than 2^23 callback calls in one run, runaway loop?"),
            std::string::npos)
      << q->counters().last_fault;
  EXPECT_NE(q->counters().last_fault.find("engine_budget_fault.bpf.c:45"), std::string::npos) << q->counters().last_fault;
  EXPECT_EQ(q->counters().leaked_refs, 1u);
  EXPECT_EQ(q->stats().drops(DropReason::LeakedReference), 1u);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, VerifiedFault, ::testing::Values(exec::Backend::Jit, exec::Backend::Interpreter),
                         [](const auto& info) { return std::string(exec::backend_name(info.param)); });

}  // namespace
}  // namespace bpfq::sched::test
