// IPv6 traffic: real IPv6 frames (TCP, UDP, ICMPv6 echo), ECN in the traffic class, the flow
// dissector's view of them, and the scenario file's `ip` and `ipv6` keys.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>
#include <bpfq/sched/flow_dissector.hpp>
#include <bpfq/sched/flow_hash.hpp>

#include "../../src/io/sim/sim_frame.hpp"
#include "sim_test_util.hpp"
#include "support/error_of.hpp"

namespace bpfq::io::sim::test {
namespace {

std::vector<std::vector<uint8_t>> departed_frames(const Scenario& s, sched::Qdisc& q, Report& report) {
  std::vector<std::vector<uint8_t>> frames;
  Simulation sim(s);
  sim.set_frame_tap({[&](uint64_t, std::span<const uint8_t> f) { frames.emplace_back(f.begin(), f.end()); }, {}});
  report = sim.run(q);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(sim.pool().in_use(), 0u);
  return frames;
}

TEST(SimIpv6, FramesCarryIpv6AddressesAndTheEcnInTheTrafficClass) {
  sched::FrameSpec spec = frame_spec(5, true, sched::L4::Tcp, true);
  spec.tcp_seq = 1234;
  spec.payload_len = 1440;
  spec.ecn = 2;
  std::vector<uint8_t> frame = sched::build_frame(spec);
  ASSERT_EQ(frame.size(), 14u + 40 + 20 + 1440);
  EXPECT_EQ(frame[12], 0x86);
  EXPECT_EQ(frame[13], 0xdd);
  const std::vector<uint8_t> src(frame.begin() + 22, frame.begin() + 38);
  const std::vector<uint8_t> dst(frame.begin() + 38, frame.begin() + 54);
  EXPECT_EQ(src, (std::vector<uint8_t>{0xfd, 0, 0, 0, 0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0, 0, 5}));  // fd00:0:0:64::5
  EXPECT_EQ(dst, (std::vector<uint8_t>{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));     // fd00::2
  FrameInfo info = read_frame(frame);
  ASSERT_TRUE(info.valid);
  EXPECT_TRUE(info.ipv6);
  EXPECT_TRUE(info.forward);
  EXPECT_EQ(info.flow, 5u);
  EXPECT_EQ(info.proto, kIpProtoTcp);
  EXPECT_EQ(info.ecn, 2);
  EXPECT_EQ(info.seq, 1234u);
  EXPECT_EQ(info.payload_len, 1440u);
  // CE as a qdisc marks it: the receiver sees it in the traffic class.
  ASSERT_TRUE(sched::ecn_set_ce(frame));
  EXPECT_EQ(read_frame(frame).ecn, 3);

  sched::FrameSpec reply = frame_spec(5, false, sched::L4::Icmp, true);
  reply.icmp_type = kEchoReply6;
  reply.icmp_seq = 9;
  info = read_frame(sched::build_frame(reply));
  ASSERT_TRUE(info.valid);
  EXPECT_FALSE(info.forward);
  EXPECT_EQ(info.proto, kIpProtoIcmpv6);
  EXPECT_EQ(info.icmp_type, kEchoReply6);
  EXPECT_EQ(info.icmp_seq, 9);
}

TEST(SimIpv6, TcpFlowFillsTheBottleneckWithALargeFifo) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 30 * kSecond);
  TcpFlowSpec f = tcp_flow("v6", CongestionControl::Cubic);
  f.ipv6 = true;
  s.tcp.push_back(f);
  sched::PfifoQdisc q(10'000);
  Report r;
  std::vector<std::vector<uint8_t>> frames = departed_frames(s, q, r);
  ASSERT_EQ(r.flows.size(), 1u);
  // The link carries frames; at most 1440 of every 1514 bytes are goodput over IPv6 (95.1 %).
  EXPECT_GE(r.link.utilisation, 0.99);
  const double ceiling = static_cast<double>(s.rate_bps) * 1440 / 1514;
  EXPECT_GE(r.flows[0].goodput_bps, 0.99 * ceiling) << "only slow start is below the ceiling\n"
                                                    << report_to_json(r, 2, false);
  EXPECT_EQ(r.flows[0].drops, 0u);
  // Every frame is IPv6 carrying TCP; full segments are MTU-sized: MSS = 1500 - 60.
  size_t full = 0;
  for (const auto& frame : frames) {
    ASSERT_EQ(sched::load_be16(&frame[12]), 0x86dd);
    ASSERT_EQ(frame[14 + 6], kIpProtoTcp);
    ASSERT_LE(frame.size(), 1514u);
    full += frame.size() == 1514;
  }
  EXPECT_GT(full, frames.size() * 9 / 10);
}

TEST(SimIpv6, PingUsesIcmpv6EchoAndMeasuresTheBaseRtt) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, kSecond);
  PingSpec p;
  p.ipv6 = true;
  s.pings.push_back(p);
  sched::PfifoQdisc q(100);
  Report r;
  std::vector<std::vector<uint8_t>> frames = departed_frames(s, q, r);
  ASSERT_EQ(frames.size(), 10u);  // one every 100 ms
  for (const auto& frame : frames) {
    ASSERT_EQ(frame.size(), 14u + 40 + 8 + 56);
    EXPECT_EQ(frame[14 + 6], kIpProtoIcmpv6);
    EXPECT_EQ(frame[54], kEchoRequest6);
  }
  const FlowReport& ping = r.flows.at(0);
  EXPECT_EQ(ping.kind, "ping");
  EXPECT_EQ(ping.rtt.count, 10u);
  // rtt + serialisation of the 118-byte request (the reply path is uncongested).
  const uint64_t expected = 40 * kMillisecond + (118 * 8 * 1'000'000'000ull + 5'000'000) / 10'000'000;
  EXPECT_EQ(ping.rtt.min_ns, expected);
  EXPECT_EQ(ping.rtt.max_ns, expected);
}

TEST(SimIpv6, UdpRateCountsTheLongerIpv6Headers) {
  Scenario s = one_link(10'000'000, 10 * kMillisecond, kSecond);
  UdpFlowSpec u;
  u.ipv6 = true;
  u.payload_bytes = 938;                // + 62 header bytes = 1000-byte frames
  u.rate_bps = 800'000;                 // 100 frames/s, one every 10 ms
  s.udp.push_back(u);
  sched::PfifoQdisc q(100);
  Report r;
  std::vector<std::vector<uint8_t>> frames = departed_frames(s, q, r);
  EXPECT_EQ(r.flows.at(0).packets_sent, 100u);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].size(), 1000u);
  EXPECT_EQ(frames[0][14 + 6], kIpProtoUdp);
}

TEST(SimIpv6, EcnMarksInTheTrafficClassReachTheSenderAsEce) {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 10 * kSecond);
  TcpFlowSpec f = tcp_flow("v6ecn", CongestionControl::Cubic);
  f.ipv6 = true;
  f.ecn = true;
  s.tcp.push_back(f);
  Simulation sim(s);
  MarkingFifo q(20, 1000);
  Report r = sim.run(q);
  const FlowReport& flow = r.flows.at(0);
  EXPECT_GT(q.marked, 0u);
  EXPECT_GT(flow.ecn_marks, 0u);
  EXPECT_LE(flow.ecn_marks, q.marked);  // the last ones may still be queued or in flight
  EXPECT_GT(flow.ecn_reductions, 0u);
  EXPECT_EQ(flow.drops, 0u) << "the window stays below the tail-drop limit";
}

TEST(SimIpv6, FlowDissectorHashesEachIpv6FlowDistinctly) {
  // Eight IPv6 UDP flows: the dissector reads IPv6 keys, each flow hashes to one value of its
  // own, and the hash ignores the payload.
  Scenario s = one_link(100'000'000, 10 * kMillisecond, kSecond / 10);
  for (int i = 0; i < 8; ++i) {
    UdpFlowSpec u;
    u.name = "u" + std::to_string(i);
    u.ipv6 = true;
    u.payload_bytes = 100 + 10 * i;
    u.rate_bps = 1'000'000;
    s.udp.push_back(u);
  }
  sched::PfifoQdisc q(1000);
  Report r;
  std::vector<std::vector<uint8_t>> frames = departed_frames(s, q, r);
  const sched::FlowHashKey key = sched::FlowHashKey::from_perturbation(s.seed);
  std::map<uint32_t, std::set<uint32_t>> hashes_of_flow;
  for (const auto& frame : frames) {
    sched::FlowKeys keys = sched::dissect(frame);
    ASSERT_EQ(keys.status, sched::DissectStatus::Ok);
    ASSERT_EQ(keys.addr_type, sched::AddrType::Ipv6);
    ASSERT_EQ(keys.ip_proto, kIpProtoUdp);
    ASSERT_EQ(keys.dport, 5202);
    const uint32_t flow = sched::load_be32(keys.src.data() + 12);
    EXPECT_EQ(keys.sport, 10000 + flow);
    hashes_of_flow[flow].insert(sched::flow_hash(keys, key));
  }
  ASSERT_EQ(hashes_of_flow.size(), 8u);
  std::set<uint32_t> distinct;
  for (const auto& [flow, hashes] : hashes_of_flow) {
    ASSERT_EQ(hashes.size(), 1u) << "flow " << flow;
    distinct.insert(*hashes.begin());
  }
  EXPECT_EQ(distinct.size(), 8u);
}

TEST(SimIpv6, ScenarioFileIpSixMakesEveryFlowIpv6UnlessOneSaysOtherwise) {
  Scenario preset6 = parse_scenario("preset = \"bufferbloat\"\nip = 6\n", "a.toml");
  for (const TcpFlowSpec& f : preset6.tcp) EXPECT_TRUE(f.ipv6);
  EXPECT_TRUE(preset6.pings.at(0).ipv6);

  Scenario mixed = parse_scenario(R"(
ip = 6
[[tcp]]
count = 2
[[tcp]]
ipv6 = false
[[udp]]
[[ping]]
)",
                                  "b.toml");
  ASSERT_EQ(mixed.tcp.size(), 3u);
  EXPECT_TRUE(mixed.tcp[0].ipv6);
  EXPECT_TRUE(mixed.tcp[1].ipv6);
  EXPECT_FALSE(mixed.tcp[2].ipv6);
  EXPECT_TRUE(mixed.udp.at(0).ipv6);
  EXPECT_TRUE(mixed.pings.at(0).ipv6);

  Scenario per_flow = parse_scenario("[[ping]]\nipv6 = true\n[[udp]]\n", "c.toml");
  EXPECT_TRUE(per_flow.pings.at(0).ipv6);
  EXPECT_FALSE(per_flow.udp.at(0).ipv6);

  const Error bad_ip = bpfq::test::error_of([] { parse_scenario("ip = 5\n", "d.toml"); });
  EXPECT_EQ(bad_ip.where(), "d.toml:1");
  EXPECT_EQ(bad_ip.reason(), "key 'ip': expected 4 or 6");
  // An IPv6 datagram has 20 more header bytes to fit in the MTU.
  EXPECT_EQ(bpfq::test::error_of([] {
              parse_scenario("[link]\nmtu = 1000\n[[udp]]\nipv6 = true\nsize = 960\n", "e.toml");
            }).reason(),
            "udp[0].size 960 exceeds the MTU: at most 952 bytes (mtu - 48 header bytes)");
}

}  // namespace
}  // namespace bpfq::io::sim::test
