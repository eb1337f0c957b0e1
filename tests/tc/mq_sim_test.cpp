// The simulator runs a setup with an mq root: the bottleneck serves the device's TX queues as
// a multi-queue NIC does, round robin over the queues that hold packets, one packet per turn.
// Four UDP flows of 6 Mbit/s over 10 Mbit/s keep every queue that has a flow backlogged
// however the hash spreads them, so each such queue sends the same number of (equal-sized)
// packets, and the link stays full.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/io/sim/simulation.hpp>

#include "mq_test_util.hpp"

namespace bpfq::tc::test {
namespace {

TEST(MqSim, TheLinkServesTheTxQueuesRoundRobin) {
  io::sim::Scenario scenario;
  scenario.rate_bps = 10'000'000;
  scenario.duration_ns = 2 * io::sim::kSecond;
  for (int i = 0; i < 4; ++i) {
    io::sim::UdpFlowSpec f;
    f.name = "udp" + std::to_string(i);
    f.rate_bps = 6'000'000;
    scenario.udp.push_back(f);
  }
  io::sim::Simulation sim(scenario);
  SetupPlan plan;
  for (const char* text : {"link add dev eth0 numtxqueues 4", "qdisc add dev eth0 root handle 1: mq",
                           "qdisc add dev eth0 parent 1:1 native_pfifo limit 50",
                           "qdisc add dev eth0 parent 1:2 native_pfifo limit 50",
                           "qdisc add dev eth0 parent 1:3 native_pfifo limit 50",
                           "qdisc add dev eth0 parent 1:4 native_pfifo limit 50"}) {
    TcLine line = TcLine::split(text, "setup.tc");
    plan.apply(line);
  }
  BuiltSetup built(plan, sim.clock(), sim.pool(), "eth0", scenario.mtu, scenario.seed);
  const io::sim::Report r = sim.run(built.device("eth0"));
  auto& mq = dynamic_cast<sched::MqQdisc&>(*built.device("eth0").root());

  EXPECT_TRUE(r.qdisc.conserved);
  EXPECT_EQ(r.qdisc.kind, "mq");
  EXPECT_TRUE(mq.stats().conserved());
  EXPECT_EQ(sim.pool().in_use(), 0u);
  uint64_t sent = 0, delivered = 0;
  std::vector<uint64_t> busy;  // packets sent by each queue that had a flow
  for (uint32_t i = 0; i < 4; ++i) {
    const sched::QdiscStats& q = mq.tx_queue(i).stats();
    EXPECT_TRUE(q.conserved()) << i;
    sent += q.sent_packets;
    if (q.enqueued_packets) {
      EXPECT_GT(q.tc_dropped(), 0u) << "queue " << i << " stays backlogged";
      busy.push_back(q.sent_packets);
    }
  }
  EXPECT_EQ(sent, mq.stats().sent_packets);
  EXPECT_EQ(mq.children_stats().sent_packets, sent);
  ASSERT_GE(busy.size(), 2u) << "four flows over four queues";
  for (const uint64_t n : busy) EXPECT_NEAR(static_cast<double>(n), static_cast<double>(busy[0]), 0.01 * busy[0]);
  for (const io::sim::FlowReport& f : r.flows) delivered += f.bytes_delivered;
  EXPECT_GT(delivered * 8.0 / 2.0, 0.9 * 10e6 * 1000 / 1042) << "the link stays full";
}

}  // namespace
}  // namespace bpfq::tc::test
