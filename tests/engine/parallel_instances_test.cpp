// Independent qdisc instances share nothing mutable: the live datapath will run one per core
// and a multi-queue root one per TX queue, each on its own thread without locks. Several
// threads each drive their own pool, clock, PRNG and qdisc through the same script at once, and
// every instance must end exactly as one run alone does: the same departures in the same
// order, the same counters, conservation.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <bpfq/runtime/prng.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "support/test_objects.hpp"

namespace bpfq::sched {
namespace {

struct Outcome {
  std::vector<uint32_t> departures;  // marks in dequeue order
  uint64_t sent = 0, dropped = 0, runs = 0, faults = 0;
  bool conserved = false;
  bool operator==(const Outcome&) const = default;
};

// 20 000 arrivals of 64 flows, 10 us apart, and a dequeue every second arrival: the queue grows,
// so the AQMs drop and the schedulers interleave flows.
Outcome run(const std::string& program) {
  PacketPool pool({.packets = 16384});  // more than the script ever holds
  runtime::ManualClock clock(1'000'000);
  runtime::Prng prng(42);
  auto q = BpfQdisc::open(bpfq::test::library_object(program), Handle::make(1, 0), BpfQdiscEnv{&pool, &clock, &prng});
  q->init();
  Outcome o;
  for (uint32_t i = 0; i < 20'000; ++i) {
    clock.advance(10'000);
    Packet* pkt = pool.alloc();
    if (!pkt) break;
    FrameSpec spec;
    spec.l4 = L4::Tcp;
    spec.sport = static_cast<uint16_t>(1000 + i % 64);
    spec.payload_len = 100 + (i % 7) * 200;
    if (!build_into(*pkt, spec)) break;
    pkt->skb.mark = i;
    q->enqueue(pkt, clock.now_ns());
    if (i % 2 == 0) {
      const DequeueResult r = q->dequeue(clock.now_ns());
      if (r.kind == DequeueResult::Kind::Packet) {
        o.departures.push_back(r.packet->skb.mark);
        PacketPool::release(r.packet);
      }
    }
  }
  q->reset();
  o.sent = q->stats().sent_packets;
  o.dropped = q->stats().dropped;
  o.runs = q->counters().runs;
  o.faults = q->counters().faults;
  o.conserved = q->stats().conserved();
  return o;
}

class ParallelInstances : public ::testing::TestWithParam<std::string> {};

TEST_P(ParallelInstances, EachThreadsInstanceEndsAsARunAlone) {
  const Outcome alone = run(GetParam());
  ASSERT_TRUE(alone.conserved);
  ASSERT_GT(alone.departures.size(), 5'000u);
  constexpr int kThreads = 4;
  std::vector<Outcome> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { outcomes[t] = run(GetParam()); });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(outcomes[t], alone) << "thread " << t;
    EXPECT_EQ(outcomes[t].faults, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Library, ParallelInstances, ::testing::Values("fq_codel", "sfq", "sfb", "pfifo"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace bpfq::sched
