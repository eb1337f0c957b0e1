// Programs written for sch_bpf RFC v7 (struct bpf_qdisc_ctx; tests/rfc_v7/progs/) run by
// BpfQdisc: told apart from the seed's by their context, verified, and run with v7's verdicts
// (THROTTLE at an absolute expire, BYPASS, STOLEN), packets kept in graph objects and handed out
// by bpf_qdisc_set_skb_dequeue. Every test ends with the accounting conserved.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/watchdog.hpp>

#include "support/error_of.hpp"
#include "support/test_objects.hpp"

namespace bpfq::sched::test {
namespace {

// tests/rfc_v7/progs/<name>.bpf.c, built against bpfq's vmlinux.h.
std::string v7_object(std::string_view name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/rfc_v7/" + std::string(name) + ".bpf.o";
}

class RecordingTimer : public Timer {
 public:
  void arm(uint64_t at_ns) override { armed.push_back(at_ns); }
  void cancel() override {}
  std::vector<uint64_t> armed;
};

constexpr uint64_t kStart = 1'000'000'000;

class RfcV7 : public ::testing::Test {
 protected:
  std::unique_ptr<BpfQdisc> open(std::string_view name, runtime::Verification v = runtime::Verification::Enforce) {
    BpfQdiscEnv env{&pool_, &clock_};
    env.verification = v;
    auto q = BpfQdisc::open(v7_object(name), Handle::make(1, 0), env);
    q->attach_watchdog(&watchdog_);
    return q;
  }

  Packet* packet(uint32_t mark, uint32_t payload = 100) {
    Packet* pkt = pool_.alloc();
    EXPECT_NE(pkt, nullptr);
    FrameSpec spec;
    spec.payload_len = payload;
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark;
    return pkt;
  }

  // Dequeues at now until the qdisc has nothing due: the marks sent, in order.
  std::vector<uint32_t> drain(BpfQdisc& q) {
    std::vector<uint32_t> marks;
    for (DequeueResult r = q.dequeue(clock_.now_ns()); r.kind == DequeueResult::Kind::Packet;
         r = q.dequeue(clock_.now_ns())) {
      marks.push_back(r.packet->skb.mark);
      PacketPool::release(r.packet);
      EXPECT_TRUE(q.stats().conserved());
    }
    return marks;
  }

  static void expect_clean(const BpfQdisc& q) {
    const BpfQdiscCounters& c = q.counters();
    EXPECT_EQ(c.faults, 0u) << c.last_fault;
    EXPECT_EQ(c.leaked_refs, 0u);
    EXPECT_EQ(c.leaked_objects, 0u);
    EXPECT_EQ(c.bad_dequeues, 0u) << c.last_fault;
    EXPECT_TRUE(q.stats().conserved());
  }

  PacketPool pool_{PacketPoolConfig{.packets = 4096}};
  runtime::ManualClock clock_{kStart};
  RecordingTimer timer_;
  Watchdog watchdog_{clock_, timer_};
};

TEST_F(RfcV7, ProgramsTakingStructBpfQdiscCtxAreRfcV7AndVerified) {
  for (const char* name : {"v7_fifo", "v7_verdicts", "v7_netem"}) {
    auto q = open(name);
    EXPECT_EQ(q->api(), QdiscApi::RfcV7) << name;
    for (const runtime::ProgramInfo& p : q->object().programs())
      EXPECT_TRUE(p.verified) << name << " " << p.section << ": " << p.unverified;
  }
  auto seed = BpfQdisc::open(bpfq::test::library_object("fifo"), Handle::make(1, 0), BpfQdiscEnv{&pool_, &clock_});
  EXPECT_EQ(seed->api(), QdiscApi::Seed);
}

TEST_F(RfcV7, FifoSendsInArrivalOrderFromGraphObjects) {
  auto q = open("v7_fifo");
  q->init();
  for (uint32_t mark = 1; mark <= 50; ++mark)
    ASSERT_EQ(q->enqueue(packet(mark), clock_.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 50u);
  EXPECT_EQ(q->object().graph_heap()->live_objects(), 50u);  // one node per packet
  std::vector<uint32_t> expected;
  for (uint32_t mark = 1; mark <= 50; ++mark) expected.push_back(mark);
  EXPECT_EQ(drain(*q), expected);
  EXPECT_EQ(q->stats().sent_packets, 50u);
  EXPECT_EQ(q->object().graph_heap()->live_objects(), 0u);
  EXPECT_EQ(pool_.in_use(), 0u);
  expect_clean(*q);
}

TEST_F(RfcV7, FifoDropsOverItsLimitAndAnEmptyDequeueSendsNothing) {
  auto q = open("v7_fifo");
  q->object().set_global("limit", 3u);
  q->init();
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t mark = 1; mark <= 5; ++mark) verdicts.push_back(q->enqueue(packet(mark), clock_.now_ns()).verdict);
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Queued, EnqueueVerdict::Queued,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Dropped,
                                                   EnqueueVerdict::Dropped}));
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(q->dequeue(clock_.now_ns()).kind, DequeueResult::Kind::Empty);  // SCH_BPF_DROP: nothing
  const QdiscStats& s = q->stats();
  EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
  EXPECT_EQ(s.sent_packets, 3u);
  expect_clean(*q);
}

TEST_F(RfcV7, ResetAndDestructionFreeEveryQueuedPacketAndObject) {
  auto q = open("v7_fifo");
  q->init();
  for (uint32_t mark = 1; mark <= 10; ++mark) q->enqueue(packet(mark), clock_.now_ns());
  q->reset();
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 10u);
  EXPECT_EQ(q->object().graph_heap()->live_objects(), 0u);
  EXPECT_EQ(pool_.in_use(), 0u);
  // The queue works again after a reset, and what it holds goes with the qdisc.
  for (uint32_t mark = 11; mark <= 13; ++mark) q->enqueue(packet(mark), clock_.now_ns());
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 12, 13}));
  q->enqueue(packet(14), clock_.now_ns());
  expect_clean(*q);
  q.reset();
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(RfcV7, EnqueueVerdictsBypassStolenDropCongestedAndQueued) {
  auto q = open("v7_verdicts");
  q->init();
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t mark : {1u, 2u, 3u, 4u, 0u, 6u})
    verdicts.push_back(q->enqueue(packet(mark), clock_.now_ns()).verdict);
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Bypass, EnqueueVerdict::Stolen,
                                                   EnqueueVerdict::Dropped, EnqueueVerdict::Congested,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Queued}));
  const QdiscStats& s = q->stats();
  EXPECT_EQ(s.drops(DropReason::Bypass), 1u);
  EXPECT_EQ(s.drops(DropReason::Stolen), 1u);
  EXPECT_EQ(s.drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(s.drops(DropReason::Congestion), 1u);
  EXPECT_EQ(q->qlen(), 2u);
  EXPECT_EQ(s.overlimits, 0u);
  EXPECT_EQ(q->watchdog_ns(), 0u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 6}));
  EXPECT_EQ(s.enqueued_packets, 6u);
  EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
  EXPECT_EQ(pool_.in_use(), 0u);
  expect_clean(*q);
}

TEST_F(RfcV7, EnqueueThrottleArmsTheWatchdogAtItsAbsoluteExpireAndQueues) {
  auto q = open("v7_verdicts");
  q->init();
  Packet* pkt = packet(5);
  ASSERT_EQ(q->enqueue(pkt, clock_.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->watchdog_ns(), kStart + 1'000'000);  // ctx->expire = now + throttle_ns
  EXPECT_EQ(watchdog_.expires_ns(), kStart + 1'000'000);
  EXPECT_EQ(timer_.armed, (std::vector<uint64_t>{kStart + 1'000'000}));
  EXPECT_EQ(q->stats().overlimits, 1u);
  // What the program wrote: skb->tstamp and a byte of skb->cb.
  EXPECT_EQ(pkt->skb.tstamp, kStart);
  EXPECT_EQ(pkt->kernel.cb[4], 5);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5}));
  expect_clean(*q);
}

TEST_F(RfcV7, NetemSendsByDueTimeAndThrottlesUntilTheNextOne) {
  auto q = open("v7_netem");
  q->init();
  // Due in 300, 100, 200 µs (skb->mark), and 10 ms (the default delay_ns).
  for (uint32_t mark : {300u, 100u, 200u, 0u}) q->enqueue(packet(mark), clock_.now_ns());
  std::vector<uint32_t> sent;
  std::vector<uint64_t> throttled_until;
  while (sent.size() < 4) {
    const DequeueResult r = q->dequeue(clock_.now_ns());
    ASSERT_TRUE(q->stats().conserved());
    if (r.kind == DequeueResult::Kind::Packet) {
      EXPECT_EQ(static_cast<uint64_t>(r.packet->skb.tstamp), clock_.now_ns());  // due now: tstamp holds it
      sent.push_back(r.packet->skb.mark);
      PacketPool::release(r.packet);
      continue;
    }
    ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
    throttled_until.push_back(r.throttled_until_ns);
    EXPECT_EQ(q->watchdog_ns(), r.throttled_until_ns);
    EXPECT_EQ(watchdog_.expires_ns(), r.throttled_until_ns);
    watchdog_.cancel();
    clock_.set(r.throttled_until_ns);
  }
  EXPECT_EQ(sent, (std::vector<uint32_t>{100, 200, 300, 0}));
  EXPECT_EQ(throttled_until, (std::vector<uint64_t>{kStart + 100'000, kStart + 200'000, kStart + 300'000,
                                                    kStart + 10'000'000}));
  EXPECT_EQ(q->stats().overlimits, 4u);
  EXPECT_EQ(q->dequeue(clock_.now_ns()).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(q->object().graph_heap()->live_objects(), 0u);
  expect_clean(*q);
}

// ---- what the verifier refuses, with Linux's reasons ----

TEST_F(RfcV7, RefusesAWriteToAReadOnlyFieldOfTheSkb) {
  const Error e = bpfq::test::error_of([&] { open("v7_bad_skb_write"); });
  // The message, then the source line and what the verifier knew of the pointer.
  EXPECT_TRUE(e.reason().starts_with("verifier: no write support to sk_buff.mark (4 bytes at offset 8)\n"
                                     "    ctx->skb->mark = 7;\n"))
      << e.what();
  EXPECT_NE(e.where().find("section qdisc/enqueue insn 2 (v7_bad_skb_write.bpf.c:7)"), std::string::npos) << e.what();
  EXPECT_EQ(e.hint(), "programs may write sk_buff.tstamp, sk_buff.cb only") << e.what();
}

TEST_F(RfcV7, RefusesALeakedGraphObject) {
  const Error e = bpfq::test::error_of([&] { open("v7_bad_leak"); });
  EXPECT_TRUE(e.reason().starts_with("verifier: Unreleased reference id=")) << e.what();
  EXPECT_NE(e.hint().find("the object taken at v7_bad_leak.bpf.c:7 is still owned: push it into a list or tree, "
                          "store it with bpf_kptr_xchg, or free it with bpf_obj_drop"),
            std::string::npos)
      << e.what();
}

TEST_F(RfcV7, RefusesHandingAPacketOutOutsideDequeue) {
  const Error e = bpfq::test::error_of([&] { open("v7_bad_set_dequeue"); });
  EXPECT_TRUE(e.reason().starts_with(
      "verifier: bpf_qdisc_set_skb_dequeue is allowed only in qdisc/dequeue, not in qdisc/enqueue\n"))
      << e.what();
}

TEST_F(RfcV7, UnverifiedHandingOutInEnqueueFaultsAndLosesNoPacket) {
  auto q = open("v7_bad_set_dequeue", runtime::Verification::Off);
  q->init();
  EXPECT_EQ(q->enqueue(packet(1), clock_.now_ns()).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->counters().faults, 1u);
  EXPECT_NE(q->counters().last_fault.find("bpf_qdisc_set_skb_dequeue: only qdisc/dequeue may hand a packet out"),
            std::string::npos)
      << q->counters().last_fault;
  EXPECT_EQ(q->stats().drops(DropReason::ProgramFault), 1u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool_.in_use(), 0u);
}

// ---- the twin: v7's fifo and the library's seed-API fifo in the simulator ----

io::sim::Report simulate_fifo(const std::string& object, uint32_t limit) {
  io::sim::Scenario s = io::sim::preset("bufferbloat");
  s.duration_ns = 5'000'000'000;
  return io::sim::simulate(s, [object, limit](const io::sim::SimContext& ctx) -> std::unique_ptr<Qdisc> {
    auto q = BpfQdisc::open(object, Handle::make(1, 0), BpfQdiscEnv{&ctx.pool, &ctx.clock});
    q->object().set_global("limit", limit);
    q->init();
    return q;
  });
}

TEST(RfcV7Twin, FifoMatchesTheSeedFifoPacketForPacketUnderTcpLoad) {
  for (uint32_t limit : {1000u, 50u}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    const io::sim::Report seed = simulate_fifo(bpfq::test::library_object("fifo"), limit);
    const io::sim::Report v7 = simulate_fifo(v7_object("v7_fifo"), limit);
    EXPECT_GT(seed.qdisc.stats.sent_packets, 1000u);
    EXPECT_EQ(v7.qdisc.stats.enqueued_packets, seed.qdisc.stats.enqueued_packets);
    EXPECT_EQ(v7.qdisc.stats.sent_packets, seed.qdisc.stats.sent_packets);
    EXPECT_EQ(v7.qdisc.stats.sent_bytes, seed.qdisc.stats.sent_bytes);
    EXPECT_EQ(v7.qdisc.stats.tc_dropped(), seed.qdisc.stats.tc_dropped());
    EXPECT_EQ(v7.qdisc.stats.qlen, seed.qdisc.stats.qlen);
    EXPECT_TRUE(v7.qdisc.conserved);
    EXPECT_EQ(v7.events, seed.events);
    ASSERT_EQ(v7.flows.size(), seed.flows.size());
    for (size_t i = 0; i < v7.flows.size(); ++i) {
      EXPECT_EQ(v7.flows[i].bytes_delivered, seed.flows[i].bytes_delivered) << v7.flows[i].name;
      EXPECT_EQ(v7.flows[i].rtt.p50_ns, seed.flows[i].rtt.p50_ns) << v7.flows[i].name;
      EXPECT_EQ(v7.flows[i].rtt.p99_ns, seed.flows[i].rtt.p99_ns) << v7.flows[i].name;
    }
  }
}

}  // namespace
}  // namespace bpfq::sched::test
