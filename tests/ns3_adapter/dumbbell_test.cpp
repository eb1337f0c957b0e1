// The library's programs in ns3::BpfQueueDisc against ns-3's own queue discs, on the same ns-3
// dumbbell (ns3/examples/dumbbell.h): 4 CUBIC flows, 100 Mbit/s, 40 ms base RTT, 5 s.
//
// pfifo, pfifo_fast, codel and fq_codel behave as ns-3's Fifo, PfifoFast, CoDel and FqCoDel
// queue discs to the packet: the same drops, the same bytes delivered per flow. tbf counts what Linux counts,
// the Ethernet header included (14 bytes on each 1500-byte IP packet), ns-3's TbfQueueDisc the
// IP packet alone: bpfq's tbf at a rate delivers 1500/1514 of what ns-3's does.
#include <gtest/gtest.h>

#include <string>

#include <bpfq/ns3/bpf-queue-disc.h>

#include "dumbbell.h"

namespace {

using namespace ns3;

dumbbell::Scenario scenario() {
  dumbbell::Scenario s;
  s.flows = 4;
  s.duration = Seconds(5);
  return s;
}

// The same consistency ns-3 asserts in debug builds, checked here in every build.
void expect_ns3_conservation(const dumbbell::Result& r) {
  const QueueDisc::Stats& s = r.stats;
  EXPECT_EQ(s.nTotalReceivedPackets, s.nTotalEnqueuedPackets + s.nTotalDroppedPacketsBeforeEnqueue);
  EXPECT_EQ(s.nTotalEnqueuedPackets, s.nTotalDequeuedPackets + r.packetsAtEnd);
  EXPECT_EQ(s.nTotalDequeuedPackets, s.nTotalSentPackets + s.nTotalDroppedPacketsAfterDequeue);
}

struct BpfRun {
  dumbbell::Result result;
  bool conserved = false;
  uint64_t faults = 0;
  std::string shown;
};

BpfRun run_bpf(const std::string& program, const std::string& params, bool unverified = false) {
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::BpfQueueDisc", "Program", StringValue(program), "Parameters", StringValue(params),
                       "Unverified", BooleanValue(unverified));
  BpfRun run;
  run.result = dumbbell::Run(scenario(), tch, [&](Ptr<QueueDisc> q) {
    Ptr<BpfQueueDisc> bpf = DynamicCast<BpfQueueDisc>(q);
    run.conserved = bpf->Conserved();
    run.faults = bpf->GetProgramFaults();
    run.shown = bpf->ShowStats();
  });
  expect_ns3_conservation(run.result);
  EXPECT_TRUE(run.conserved) << run.shown;
  return run;
}

dumbbell::Result run_ns3(TrafficControlHelper tch) {
  dumbbell::Result r = dumbbell::Run(scenario(), tch);
  expect_ns3_conservation(r);
  return r;
}

// Identical: every flow got the same bytes, the same packets were dropped.
void expect_identical(const dumbbell::Result& bpf, const dumbbell::Result& ns3) {
  EXPECT_EQ(bpf.flowMbps, ns3.flowMbps);
  EXPECT_EQ(bpf.stats.nTotalDroppedPackets, ns3.stats.nTotalDroppedPackets);
  EXPECT_EQ(bpf.stats.nTotalDroppedPacketsBeforeEnqueue, ns3.stats.nTotalDroppedPacketsBeforeEnqueue);
  EXPECT_EQ(bpf.stats.nTotalSentPackets, ns3.stats.nTotalSentPackets);
  EXPECT_GT(ns3.stats.nTotalDroppedPackets, 0u) << "a scenario without drops compares nothing";
  EXPECT_GT(bpf.totalMbps, 85.0);
}

TEST(Ns3Dumbbell, PfifoMatchesFifoQueueDisc) {
  const BpfRun bpf = run_bpf("pfifo", "limit 1000");
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::FifoQueueDisc", "MaxSize", StringValue("1000p"));
  expect_identical(bpf.result, run_ns3(tch));
}

TEST(Ns3Dumbbell, PfifoFastMatchesPfifoFastQueueDisc) {
  const BpfRun bpf = run_bpf("pfifo_fast", "");
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::PfifoFastQueueDisc", "MaxSize", StringValue("1000p"));
  expect_identical(bpf.result, run_ns3(tch));
}

TEST(Ns3Dumbbell, FqCodelMatchesFqCoDelQueueDisc) {
  const BpfRun bpf = run_bpf("fq_codel", "noecn");
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::FqCoDelQueueDisc");
  const dumbbell::Result ns3 = run_ns3(tch);
  expect_identical(bpf.result, ns3);
  // ns-3 names its CoDel drops; bpfq's fq_codel drops by releasing the packet (bpf_kfree_skb).
  EXPECT_EQ(bpf.result.stats.GetNDroppedPackets("bpfq: released_by_program"), ns3.stats.nTotalDroppedPacketsAfterDequeue);
}

// Linux 6.16's struct_ops fq_codel (progs/struct_ops/fq_codel.bpf.c), run by the same
// BpfQueueDisc: packet for packet what ns-3's FqCoDelQueueDisc does, as the seed's twin does.
TEST(Ns3Dumbbell, StructOpsFqCodelMatchesFqCoDelQueueDisc) {
  const BpfRun bpf = run_bpf(std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/bpfq/fq_codel.bpf.o", "");
  EXPECT_EQ(bpf.faults, 0u) << bpf.shown;
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::FqCoDelQueueDisc");
  expect_identical(bpf.result, run_ns3(tch));
}

TEST(Ns3Dumbbell, CodelMatchesCoDelQueueDisc) {
  const BpfRun bpf = run_bpf("codel", "limit 1000");
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::CoDelQueueDisc", "MaxSize", StringValue("1000p"));
  expect_identical(bpf.result, run_ns3(tch));
}

TEST(Ns3Dumbbell, TbfMatchesTbfQueueDiscWithinTheEthernetHeader) {
  const BpfRun bpf = run_bpf("tbf", "rate 50mbit burst 125000 limit 1514000");
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::TbfQueueDisc", "Rate", StringValue("50Mbps"), "Burst", UintegerValue(125000),
                       "MaxSize", StringValue("1000p"));
  const dumbbell::Result ns3 = run_ns3(tch);
  EXPECT_NEAR(bpf.result.totalMbps / ns3.totalMbps, 1.0, 0.03)
      << "bpfq " << bpf.result.totalMbps << " Mbit/s, ns-3 " << ns3.totalMbps;
  EXPECT_LT(bpf.result.totalMbps, ns3.totalMbps) << "bpfq's tbf also pays for the Ethernet header";
  EXPECT_GT(bpf.result.totalMbps, 40.0);
}

TEST(Ns3Dumbbell, AFaultingProgramKeepsTheSimulationRunningAndIsCounted) {
  const BpfRun bpf = run_bpf(std::string(BPFQ_BINARY_DIR) + "/progs/tests/engine_fault_every.bpf.o", "every 1000",
                             /*unverified=*/true);
  EXPECT_GT(bpf.faults, 10u);
  EXPECT_EQ(bpf.result.stats.GetNDroppedPackets("bpfq: program_fault"), bpf.faults);
  EXPECT_GT(bpf.result.totalMbps, 50.0) << "TCP recovers from each lost packet";
}

}  // namespace
