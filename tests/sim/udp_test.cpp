// UDP sources, the bottleneck's capacity and the qdisc contract as the link drives it.
#include <gtest/gtest.h>

#include "sim_test_util.hpp"

namespace bpfq::io::sim::test {
namespace {

UdpFlowSpec udp_flow(UdpPattern pattern, uint64_t rate_bps, uint32_t payload = 958) {
  UdpFlowSpec f;
  f.pattern = pattern;
  f.rate_bps = rate_bps;
  f.payload_bytes = payload;  // 958 + 42 = 1000-byte frames
  return f;
}

TEST(SimUdp, CbrAboveTheLinkRateDropsOfferedMinusCapacity) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, 10 * kSecond);
  s.udp.push_back(udp_flow(UdpPattern::Cbr, 16'000'000));
  Report r = run_pfifo(s, 100);
  const FlowReport& f = r.flows[0];
  // 16 Mbit/s of 1000-byte frames = 2000 packets/s offered; 10 Mbit/s carries 1250.
  EXPECT_EQ(f.packets_sent, 20000u);
  uint64_t capacity = 12500;
  uint64_t expected_drops = f.packets_sent - capacity;
  EXPECT_GE(f.drops + 100 + 1, expected_drops);  // within one queue's worth (and the frame on the wire)
  EXPECT_LE(f.drops, expected_drops);
  EXPECT_EQ(f.drops, r.qdisc.stats.tc_dropped());
  EXPECT_EQ(r.link.packets_sent + 1, f.packets_sent - f.drops - r.qdisc.stats.qlen);  // one on the wire
  EXPECT_NEAR(r.link.utilisation, 1.0, 0.001);
  EXPECT_NEAR(f.goodput_bps, 10e6 * 958 / 1000, 10e6 * 0.01);
  // The queue is full, so the one-way delay is the base half RTT plus ~100 packets of 0.8 ms.
  EXPECT_GT(f.one_way_delay.p50_ns, 10 * kMillisecond + 79 * kMillisecond);
  EXPECT_LT(f.one_way_delay.max_ns, 10 * kMillisecond + 82 * kMillisecond);
}

TEST(SimUdp, CbrBelowTheLinkRateIsNeverDroppedOrQueued) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, 5 * kSecond);
  s.udp.push_back(udp_flow(UdpPattern::Cbr, 5'000'000));
  Report r = run_pfifo(s, 100);
  const FlowReport& f = r.flows[0];
  EXPECT_EQ(f.packets_sent, 3125u);  // 625 packets/s
  EXPECT_EQ(f.drops, 0u);
  EXPECT_EQ(f.queue_delay.max_ns, 0u);
  EXPECT_EQ(f.one_way_delay.min_ns, 10 * kMillisecond + 800'000);
  EXPECT_EQ(f.one_way_delay.max_ns, 10 * kMillisecond + 800'000);
}

TEST(SimUdp, PoissonSourceOffersItsMeanRate) {
  Scenario s = one_link(100'000'000, 20 * kMillisecond, 20 * kSecond);
  s.udp.push_back(udp_flow(UdpPattern::Poisson, 8'000'000));  // 1000 packets/s on average
  Report r = run_pfifo(s, 1000);
  const FlowReport& f = r.flows[0];
  EXPECT_NEAR(static_cast<double>(f.packets_sent), 20000.0, 20000.0 * 0.03);
  // Random arrivals meet each other: some wait in the queue, unlike CBR.
  EXPECT_GT(f.queue_delay.max_ns, 0u);
}

TEST(SimUdp, OnOffSourceSendsAtPeakRateOnlyWhileOn) {
  Scenario s = one_link(100'000'000, 20 * kMillisecond, 60 * kSecond);
  UdpFlowSpec f = udp_flow(UdpPattern::OnOff, 8'000'000);
  f.on_ns = 500 * kMillisecond;
  f.off_ns = 500 * kMillisecond;
  s.udp.push_back(f);
  Report r = run_pfifo(s, 1000);
  // Half the time on at 1000 packets/s.
  EXPECT_NEAR(static_cast<double>(r.flows[0].packets_sent), 30000.0, 30000.0 * 0.15);
  // Some 100 ms intervals carry nothing, others the full peak rate.
  size_t silent = 0, peak = 0;
  for (const auto& row : r.series.flow_bps) {
    if (row[0] == 0) ++silent;
    if (row[0] > 7.5e6) ++peak;
  }
  EXPECT_GT(silent, 100u);
  EXPECT_GT(peak, 100u);
}

TEST(SimLink, ThrottledQdiscIsWokenByTheWatchdog) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, 10 * kSecond);
  s.udp.push_back(udp_flow(UdpPattern::Cbr, 8'000'000));
  Simulation sim(s);
  PacedFifo q(4'000'000);
  Report r = sim.run(q);
  EXPECT_GT(q.throttled, 0u);
  EXPECT_NEAR(r.link.utilisation, 0.4, 0.005);  // paced at 4 of 10 Mbit/s
  EXPECT_TRUE(r.qdisc.conserved);
  EXPECT_GT(r.qdisc.stats.overlimits, 0u);
  EXPECT_EQ(q.stats().overlimits, q.throttled);  // the drain at the end is throttled too
  EXPECT_GT(r.flows[0].drops, 0u);
  EXPECT_EQ(sim.pool().in_use(), 0u);
}

TEST(SimLink, QdiscStatsConservePacketsAcrossAMixedRun) {
  Scenario s = preset("mixed");
  s.duration_ns = 10 * kSecond;
  Simulation sim(s);
  sched::PfifoQdisc q(50);
  Report r = sim.run(q);
  const sched::QdiscStats& st = r.qdisc.stats;
  EXPECT_TRUE(r.qdisc.conserved);
  EXPECT_EQ(st.enqueued_packets, st.sent_packets + st.dropped + st.qlen);
  EXPECT_LE(st.sent_packets - r.link.packets_sent, 1u);  // at most one frame still on the wire
  uint64_t flow_drops = 0, flow_sent = 0;
  for (const FlowReport& f : r.flows) {
    flow_drops += f.drops;
    flow_sent += f.packets_sent;
  }
  for (const ShortFlowsReport& g : r.short_flows) flow_drops += g.drops;
  EXPECT_EQ(flow_drops, st.dropped);
  EXPECT_LE(flow_sent, st.enqueued_packets);
  ASSERT_EQ(r.short_flows.size(), 1u);
  EXPECT_GT(r.short_flows[0].started, 50u);
  EXPECT_GT(r.short_flows[0].completed, 0u);
  EXPECT_GT(r.short_flows[0].fct.p50_ns, 30 * kMillisecond);
  EXPECT_EQ(r.qdisc.tc, st.to_tc_string());
  EXPECT_EQ(sim.pool().in_use(), 0u);
}

TEST(SimLink, IncastPresetCompletesEverySender) {
  Report r = run_pfifo(preset("incast"), 1000);
  ASSERT_EQ(r.flows.size(), 32u);
  for (const FlowReport& f : r.flows) {
    EXPECT_TRUE(f.completed) << f.name;
    EXPECT_EQ(f.bytes_delivered, 64u * 1024);
  }
}

}  // namespace
}  // namespace bpfq::io::sim::test
