// The TCP model over real qdiscs: utilisation, standing queues, fairness, loss recovery, ECN.
#include <gtest/gtest.h>

#include <vector>

#include "sim_test_util.hpp"

namespace bpfq::io::sim::test {
namespace {

TEST(SimTcp, SingleFlowFillsTheLinkAndItsRttIncludesTheStandingQueue) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 20 * kSecond);
  s.tcp.push_back(tcp_flow("bulk", CongestionControl::Cubic));
  s.pings.push_back(PingSpec{});
  Report r = run_pfifo(s, 1000);
  ASSERT_EQ(r.flows.size(), 2u);
  const FlowReport& tcp = r.flows[0];
  const FlowReport& ping = r.flows[1];
  EXPECT_GT(r.link.utilisation, 0.9);
  EXPECT_LE(r.link.utilisation, 1.0);
  EXPECT_GT(tcp.goodput_bps, 0.7 * 10e6);
  // Bufferbloat: a 1000-packet FIFO at 10 Mbit/s holds up to 1.2 s of data, and CUBIC fills it.
  // CUBIC (after HyStart) grows into it within seconds.
  EXPECT_GT(ping.rtt.p50_ns, 5 * s.rtt_ns);
  EXPECT_GT(ping.rtt.p90_ns, 20 * s.rtt_ns);
  EXPECT_GT(tcp.rtt.p90_ns, 20 * s.rtt_ns);
  EXPECT_GT(tcp.queue_delay.p50_ns, 200 * kMillisecond);
  // The minimum RTT is the base RTT plus serialisation of one full frame.
  EXPECT_GE(tcp.rtt.min_ns, s.rtt_ns + 1514 * 800);
  EXPECT_EQ(tcp.kind, "tcp");
  EXPECT_EQ(tcp.cc, "cubic");
  EXPECT_EQ(r.qdisc.kind, "pfifo");
  EXPECT_TRUE(r.qdisc.conserved);
}

TEST(SimTcp, IdlePingSeesExactlyTheBaseRttPlusSerialisation) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 2 * kSecond);
  s.pings.push_back(PingSpec{});
  Report r = run_pfifo(s, 1000);
  const FlowReport& ping = r.flows[0];
  EXPECT_EQ(ping.rtt.count, 20u);  // one every 100 ms for 2 s
  // 98-byte echo request (14 + 20 + 8 + 56) at 10 Mbit/s takes 78.4 us; replies are not queued.
  EXPECT_EQ(ping.rtt.min_ns, 40 * kMillisecond + 78'400);
  EXPECT_EQ(ping.rtt.max_ns, 40 * kMillisecond + 78'400);
  EXPECT_EQ(ping.queue_delay.max_ns, 0u);
  EXPECT_EQ(ping.drops, 0u);
}

void expect_fair_share(CongestionControl cc) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 120 * kSecond);
  s.tcp.push_back(tcp_flow("a", cc));
  s.tcp.push_back(tcp_flow("b", cc, 0, 2 * kSecond));
  Report r = run_pfifo(s, 100);
  EXPECT_GT(r.jain_fairness, 0.9) << report_to_json(r, 2, false);
  EXPECT_GT(r.link.utilisation, 0.9);
  EXPECT_GT(r.flows[0].fast_retransmits, 0u);
  EXPECT_GT(r.flows[1].fast_retransmits, 0u);
}

TEST(SimTcp, TwoCubicFlowsShareFairly) { expect_fair_share(CongestionControl::Cubic); }
TEST(SimTcp, TwoNewRenoFlowsShareFairly) { expect_fair_share(CongestionControl::NewReno); }

TEST(SimTcp, FiniteFlowRecoversFromQueueOverflowAndCompletes) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 20 * kSecond);
  s.tcp.push_back(tcp_flow("file", CongestionControl::NewReno, 2'000'000));
  Report r = run_pfifo(s, 10);
  const FlowReport& f = r.flows[0];
  EXPECT_TRUE(f.completed);
  EXPECT_EQ(f.bytes_delivered, 2'000'000u);
  ASSERT_TRUE(f.fct_ns.has_value());
  // At least the serialisation of 2 MB at 10 Mbit/s plus one RTT.
  EXPECT_GT(*f.fct_ns, 1600 * kMillisecond + 40 * kMillisecond);
  EXPECT_EQ(f.end_ns, f.start_ns + *f.fct_ns);
  EXPECT_GT(f.drops, 0u);
  EXPECT_GT(f.retransmits, 0u);
  EXPECT_GE(f.retransmits, f.drops) << "every lost segment is sent again";
  EXPECT_EQ(f.drops, r.qdisc.stats.drops(sched::DropReason::QueueFull));
}

TEST(SimTcp, TailLossOfAWholeWindowIsRecoveredByTheRto) {
  // The first 10 packets (the initial window) are all lost: no duplicate ACK can come back,
  // only the retransmission timer recovers them (initial RTO 1 s, RFC 6298).
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 10 * kSecond);
  s.tcp.push_back(tcp_flow("file", CongestionControl::Cubic, 100'000));
  Simulation sim(s);
  DropRangeFifo q(0, 10);
  Report r = sim.run(q);
  const FlowReport& f = r.flows[0];
  EXPECT_TRUE(f.completed);
  EXPECT_EQ(f.bytes_delivered, 100'000u);
  EXPECT_EQ(f.timeouts, 1u);
  EXPECT_EQ(f.drops, 10u);
  EXPECT_GE(*f.fct_ns, 1 * kSecond);
  EXPECT_EQ(f.fast_retransmits, 0u);
}

// When segments 20..24 (the 20th..24th packets offered; the IPv4 id is the segment number)
// were offered again: the retransmission times, in order of sending.
std::vector<uint64_t> retransmission_times(const DropRangeFifo& q) {
  std::vector<uint64_t> times;
  for (size_t i = 25; i < q.offers.size(); ++i)
    if (q.offers[i].ip_id >= 20 && q.offers[i].ip_id < 25) times.push_back(q.offers[i].ns);
  return times;
}

TEST(SimTcp, MultipleLossesInOneWindowUseNewRenoPartialAcks) {
  // Packets 20..24 lost in one window: one fast retransmit, the rest repaired by partial ACKs,
  // no timeout.
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 10 * kSecond);
  TcpFlowSpec spec = tcp_flow("file", CongestionControl::NewReno, 300'000);
  spec.sack = false;
  s.tcp.push_back(spec);
  Simulation sim(s);
  DropRangeFifo q(20, 5);
  Report r = sim.run(q);
  const FlowReport& f = r.flows[0];
  EXPECT_TRUE(f.completed);
  EXPECT_EQ(f.bytes_delivered, 300'000u);
  EXPECT_EQ(f.drops, 5u);
  EXPECT_EQ(f.fast_retransmits, 1u);
  EXPECT_EQ(f.timeouts, 0u);
  EXPECT_EQ(f.retransmits, 5u);
  // A hole per round trip: each partial ACK reveals the next one.
  std::vector<uint64_t> times = retransmission_times(q);
  ASSERT_EQ(times.size(), 5u);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], s.rtt_ns);
}

Report run_with_losses_20_to_24(const TcpFlowSpec& spec, std::vector<uint64_t>& retransmitted_ns) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 10 * kSecond);
  s.tcp.push_back(spec);
  Simulation sim(s);
  DropRangeFifo q(20, 5);
  Report r = sim.run(q);
  retransmitted_ns = retransmission_times(q);
  return r;
}

void expect_sack_repairs_every_hole_in_one_round_trip(CongestionControl cc) {
  // The same five losses with SACK (RFC 6675): one fast retransmit, and the scoreboard shows
  // the other four holes at once; they are resent as the pipe drains below the halved
  // window, all within about one RTT (the ACK clock of the window that follows the losses).
  constexpr uint64_t kRtt = 40 * kMillisecond;
  std::vector<uint64_t> times;
  Report r = run_with_losses_20_to_24(tcp_flow("file", cc, 300'000), times);
  const FlowReport& f = r.flows[0];
  EXPECT_TRUE(f.completed);
  EXPECT_EQ(f.bytes_delivered, 300'000u);
  EXPECT_EQ(f.drops, 5u);
  EXPECT_EQ(f.fast_retransmits, 1u);
  EXPECT_EQ(f.timeouts, 0u);
  EXPECT_EQ(f.retransmits, 5u);
  ASSERT_EQ(times.size(), 5u);
  EXPECT_LT(times.back() - times.front(), 5 * kRtt / 4);
  // Without SACK the same losses take a round trip per hole, and the transfer ends later
  // (not by much: NewReno's inflated window keeps new data flowing meanwhile).
  TcpFlowSpec no_sack = tcp_flow("file", cc, 300'000);
  no_sack.sack = false;
  std::vector<uint64_t> newreno_times;
  Report newreno = run_with_losses_20_to_24(no_sack, newreno_times);
  ASSERT_EQ(newreno_times.size(), 5u);
  EXPECT_GE(newreno_times.back() - newreno_times.front(), 4 * kRtt);
  ASSERT_TRUE(f.fct_ns.has_value() && newreno.flows[0].fct_ns.has_value());
  EXPECT_LT(*f.fct_ns, *newreno.flows[0].fct_ns);
}

TEST(SimTcp, SackRepairsSeveralLossesInOneWindowWithinOneRoundTripNewReno) {
  expect_sack_repairs_every_hole_in_one_round_trip(CongestionControl::NewReno);
}
TEST(SimTcp, SackRepairsSeveralLossesInOneWindowWithinOneRoundTripCubic) {
  expect_sack_repairs_every_hole_in_one_round_trip(CongestionControl::Cubic);
}

double tcp_goodput_bps(const Report& r) {
  double sum = 0;
  for (const FlowReport& f : r.flows)
    if (f.kind == "tcp") sum += f.goodput_bps;
  return sum;
}

TEST(SimTcp, BufferbloatOvershootIsRepairedBySackAndGoodputStaysNearTheLinkRate) {
  // 4 CUBIC flows overshoot the 1000-packet FIFO in slow start, each losing ~100 segments in
  // one window. With SACK the holes are resent within a round trip or two.
  Scenario s = preset("bufferbloat");
  Report r = run_pfifo(s, 1000);
  ASSERT_EQ(r.flows.size(), 5u);
  EXPECT_GT(r.link.utilisation, 0.95);
  EXPECT_GE(tcp_goodput_bps(r), 0.85 * static_cast<double>(s.rate_bps)) << report_to_json(r, 2, false);
  uint64_t drops = 0, retransmits = 0;
  for (const FlowReport& f : r.flows) {
    if (f.kind != "tcp") continue;
    EXPECT_GT(f.drops, 0u);
    EXPECT_GT(f.fast_retransmits, 0u);
    drops += f.drops;
    retransmits += f.retransmits;
  }
  EXPECT_LT(retransmits, 2 * drops) << "SACKed segments are not sent again";

  // sack = false: NewReno recovery, a hole per (1 s) round trip, most of the run in recovery.
  for (TcpFlowSpec& f : s.tcp) f.sack = false;
  Report newreno = run_pfifo(s, 1000);
  EXPECT_GT(newreno.link.utilisation, 0.95);
  EXPECT_LT(tcp_goodput_bps(newreno), 0.5 * static_cast<double>(s.rate_bps));
}

TEST(SimTcp, EcnMarksReduceTheWindowWithoutLoss) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 20 * kSecond);
  TcpFlowSpec f = tcp_flow("ecn", CongestionControl::Cubic);
  f.ecn = true;
  s.tcp.push_back(f);
  Simulation sim(s);
  MarkingFifo q(20, 1000);
  Report r = sim.run(q);
  const FlowReport& flow = r.flows[0];
  EXPECT_GT(q.marked, 0u);
  EXPECT_EQ(flow.ecn_marks, q.marked);  // every mark reaches the receiver
  EXPECT_GT(flow.ecn_reductions, 0u);
  EXPECT_EQ(flow.drops, 0u);
  EXPECT_EQ(flow.retransmits, 0u);
  EXPECT_EQ(r.qdisc.stats.dropped, 0u);
  // The window stays near BDP + threshold instead of filling the 1000-packet queue.
  EXPECT_LT(r.qdisc.stats.qlen, 200u);
  EXPECT_LT(flow.queue_delay.max_ns, 200 * kMillisecond);
  EXPECT_GT(r.link.utilisation, 0.85);
}

TEST(SimTcp, NotEcnCapableFlowIsNeverMarked) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 5 * kSecond);
  s.tcp.push_back(tcp_flow("plain", CongestionControl::Cubic));
  Simulation sim(s);
  MarkingFifo q(20, 60);
  Report r = sim.run(q);
  EXPECT_EQ(q.marked, 0u);
  EXPECT_EQ(r.flows[0].ecn_marks, 0u);
  EXPECT_EQ(r.flows[0].ecn_reductions, 0u);
  EXPECT_GT(r.flows[0].drops, 0u);
}

TEST(SimTcp, BulkFlowStopsWritingAtItsStopTime) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, 10 * kSecond);
  TcpFlowSpec f = tcp_flow("bulk", CongestionControl::Cubic);
  f.stop_ns = 3 * kSecond;
  s.tcp.push_back(f);
  Report r = run_pfifo(s, 100);
  EXPECT_EQ(r.flows[0].end_ns, 3 * kSecond);
  // Nothing is sent in the last seconds: the link's throughput series drops to zero.
  ASSERT_EQ(r.series.link_bps.size(), 100u);
  EXPECT_EQ(r.series.link_bps.back(), 0.0);
  EXPECT_GT(r.series.link_bps[20], 9e6);
}

}  // namespace
}  // namespace bpfq::io::sim::test
