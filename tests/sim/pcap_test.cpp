// Captures: the bottleneck's output written as pcap (read back with libpcap), and replay of a
// capture's frames through the bottleneck.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "pcap_test_io.hpp"
#include "support/error_of.hpp"
#include "sim_test_util.hpp"

namespace bpfq::io::sim::test {
namespace {

std::string temp_path(const std::string& name) { return testing::TempDir() + "bpfq_sim_" + name; }

uint64_t serialisation_ns(uint64_t bytes, uint64_t rate_bps) { return (bytes * 8 * 1'000'000'000 + rate_bps / 2) / rate_bps; }

struct Departure {
  uint64_t ns;
  std::vector<uint8_t> bytes;
};
struct Arrival {
  uint64_t ns;
  uint32_t flow;
  std::vector<uint8_t> bytes;
};

// Runs scenario over a pfifo of limit, recording what departs and arrives.
Report run_tapped(const Scenario& s, uint32_t limit, std::vector<Departure>* departed, std::vector<Arrival>* arrived) {
  Simulation sim(s);
  FrameTap tap;
  if (departed) tap.departed = [&](uint64_t t, std::span<const uint8_t> f) { departed->push_back({t, {f.begin(), f.end()}}); };
  if (arrived)
    tap.arrived = [&](uint64_t t, uint32_t flow, std::span<const uint8_t> f) { arrived->push_back({t, flow, {f.begin(), f.end()}}); };
  sim.set_frame_tap(tap);
  sched::PfifoQdisc q(limit);
  Report r = sim.run(q);
  EXPECT_TRUE(q.stats().conserved());
  EXPECT_EQ(sim.pool().in_use(), 0u);
  return r;
}

// A UDP frame between two hosts no simulated flow uses, payload filled with its index.
std::vector<uint8_t> foreign_frame(uint32_t index, uint32_t payload) {
  sched::FrameSpec spec;
  spec.src_ip = sched::ipv4_address("192.168.1.10");
  spec.dst_ip = sched::ipv4_address("192.168.1.20");
  spec.sport = static_cast<uint16_t>(4000 + index);
  spec.payload_len = payload;
  spec.ip_id = static_cast<uint16_t>(index);
  return sched::build_frame(spec);
}

TEST(SimPcap, OutputHoldsEveryFrameTheBottleneckSentAtItsDepartureTime) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, 2 * kSecond);
  s.tcp.push_back(tcp_flow("bulk", CongestionControl::Cubic));
  s.pings.push_back(PingSpec{});
  s.pcap_output = temp_path("output.pcap");
  std::vector<Departure> departed;
  Report r = run_tapped(s, 1000, &departed, nullptr);

  PcapContents file = read_pcap(s.pcap_output);
  EXPECT_EQ(file.linktype, kLinktypeEthernetForTest);
  EXPECT_TRUE(file.nanosecond);
  ASSERT_GT(r.link.packets_sent, 1000u);
  ASSERT_EQ(file.records.size(), r.link.packets_sent);
  ASSERT_EQ(departed.size(), r.link.packets_sent);
  uint64_t bytes = 0;
  for (size_t i = 0; i < file.records.size(); ++i) {
    const PcapRecord& rec = file.records[i];
    ASSERT_EQ(rec.ts_ns, departed[i].ns) << "frame " << i;
    ASSERT_EQ(rec.len, rec.bytes.size()) << "frame " << i;
    ASSERT_EQ(rec.bytes, departed[i].bytes) << "frame " << i;
    if (i > 0) {  // one frame on the wire at a time
      ASSERT_GE(rec.ts_ns, file.records[i - 1].ts_ns + serialisation_ns(file.records[i - 1].len, s.rate_bps)) << i;
    }
    bytes += rec.len;
  }
  EXPECT_EQ(bytes, r.link.bytes_sent);
  // The flow's first segment leaves at once, the next one right behind it (a full-size frame).
  EXPECT_EQ(file.records[0].ts_ns, 0u);
  EXPECT_EQ(file.records[0].len, 1514u);
  EXPECT_EQ(file.records[1].ts_ns, serialisation_ns(1514, s.rate_bps));
  std::remove(s.pcap_output.c_str());
}

TEST(SimPcap, OutputToAnUnwritablePathIsAnErrorNamingIt) {
  Scenario s = one_link(10'000'000, 20 * kMillisecond, kSecond);
  s.pings.push_back(PingSpec{});
  s.pcap_output = "/nonexistent-dir/out.pcap";
  Simulation sim(s);
  sched::PfifoQdisc q(100);
  const Error e = bpfq::test::error_of([&] { sim.run(q); });
  EXPECT_EQ(e.where(), "/nonexistent-dir/out.pcap");
  EXPECT_NE(e.reason().find("cannot write the capture"), std::string::npos) << e.reason();
}

TEST(SimPcap, ReplayDeliversEveryEthernetFrameWithItsBytesAtItsScaledTime) {
  // 20 UDP frames 1 ms apart, an ARP frame, a frame the snaplen cut and one above the MTU.
  const uint64_t base = 1'000'000'000'000'123ull;  // a real capture's epoch time
  std::vector<PcapRecord> records;
  std::vector<std::vector<uint8_t>> expected;
  for (uint32_t i = 0; i < 20; ++i) {
    records.push_back({base + i * kMillisecond, 0, foreign_frame(i, 100 + i)});
    expected.push_back(records.back().bytes);
    if (i == 5) records.push_back({base + i * kMillisecond + 10, 200, foreign_frame(99, 100)});  // caplen 142 < len 200
    if (i == 9) records.push_back({base + i * kMillisecond + 10, 0, foreign_frame(98, 1500)});   // 1542 bytes > 1514 + 8
  }
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  records.push_back({base + 20 * kMillisecond, 0, arp});
  expected.push_back(arp);
  const std::string path = temp_path("replay.pcap");
  write_pcap(path, kLinktypeEthernetForTest, true, records);

  Scenario s = one_link(10'000'000, 10 * kMillisecond, kSecond);
  s.pcap_replays.push_back({"trace", path, 100 * kMillisecond, 2.0});
  std::vector<Arrival> arrived;
  Report r = run_tapped(s, 1000, nullptr, &arrived);
  ASSERT_EQ(r.flows.size(), 1u);
  const FlowReport& f = r.flows[0];
  EXPECT_EQ(f.kind, "pcap");
  EXPECT_EQ(f.name, "trace");
  EXPECT_EQ(f.frames_skipped, 2u);
  EXPECT_EQ(f.packets_sent, 21u);
  EXPECT_EQ(f.packets_delivered, 21u);
  EXPECT_EQ(f.drops, 0u);
  EXPECT_EQ(f.start_ns, 100 * kMillisecond);
  EXPECT_EQ(f.end_ns, 110 * kMillisecond);  // 20 ms of capture at speed 2
  ASSERT_EQ(arrived.size(), 21u);
  uint64_t bytes = 0;
  for (size_t i = 0; i < arrived.size(); ++i) {
    // Sent at start + (ts - first ts) / 2 onto an idle link, then serialised and propagated.
    const uint64_t sent = 100 * kMillisecond + i * kMillisecond / 2;
    EXPECT_EQ(arrived[i].ns, sent + serialisation_ns(expected[i].size(), s.rate_bps) + 5 * kMillisecond) << i;
    EXPECT_EQ(arrived[i].flow, 0u);
    EXPECT_EQ(arrived[i].bytes, expected[i]) << i;
    bytes += expected[i].size();
  }
  EXPECT_EQ(f.bytes_delivered, bytes);
  std::remove(path.c_str());
}

TEST(SimPcap, ReplayedBurstIsDroppedByTheQueueAndCountedExactly) {
  // 50 frames with one timestamp into a 10-packet FIFO: one goes onto the wire at once, ten
  // wait, the other 39 are tail-dropped.
  std::vector<PcapRecord> records;
  for (uint32_t i = 0; i < 50; ++i) records.push_back({5 * kSecond, 0, foreign_frame(i, 1000)});
  const std::string path = temp_path("burst.pcap");
  write_pcap(path, kLinktypeEthernetForTest, false, records);

  Scenario s = one_link(10'000'000, 10 * kMillisecond, kSecond);
  s.pcap_replays.push_back({"burst", path, 0, 1.0});
  std::vector<Arrival> arrived;
  Report r = run_tapped(s, 10, nullptr, &arrived);
  const FlowReport& f = r.flows.at(0);
  EXPECT_EQ(f.packets_sent, 50u);
  EXPECT_EQ(f.drops, 39u);
  EXPECT_EQ(f.packets_delivered, 11u);
  EXPECT_EQ(r.qdisc.stats.tc_dropped(), 39u);
  ASSERT_EQ(arrived.size(), 11u);
  for (size_t i = 0; i < arrived.size(); ++i) EXPECT_EQ(arrived[i].bytes, records[i].bytes) << i;
  std::remove(path.c_str());
}

TEST(SimPcap, ReplayOfTheSimulatorsOwnCaptureReproducesItsDepartures) {
  // The frames name simulated flows in their bytes; replayed, they belong to the replay.
  Scenario a = one_link(10'000'000, 20 * kMillisecond, kSecond);
  a.tcp.push_back(tcp_flow("bulk", CongestionControl::Cubic));
  a.pcap_output = temp_path("own.pcap");
  std::vector<Departure> original;
  Report ra = run_tapped(a, 1000, &original, nullptr);

  Scenario b = one_link(10'000'000, 20 * kMillisecond, kSecond);
  b.pcap_replays.push_back({"again", a.pcap_output, 0, 1.0});
  std::vector<Departure> replayed;
  Report rb = run_tapped(b, 1000, &replayed, nullptr);
  ASSERT_EQ(rb.flows.size(), 1u);
  EXPECT_EQ(rb.flows[0].packets_sent, ra.link.packets_sent);
  EXPECT_EQ(rb.flows[0].drops, 0u);
  ASSERT_EQ(replayed.size(), original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    ASSERT_EQ(replayed[i].ns, original[i].ns) << i;
    ASSERT_EQ(replayed[i].bytes, original[i].bytes) << i;
  }
  std::remove(a.pcap_output.c_str());
}

TEST(SimPcap, ReplayOfANonEthernetCaptureSkipsEveryFrame) {
  const std::vector<uint8_t> frame = foreign_frame(0, 10);
  std::vector<uint8_t> sll(16, 0);  // a cooked header in place of Ethernet's
  sll[14] = 0x08;
  sll.insert(sll.end(), frame.begin() + 14, frame.end());
  const std::string path = temp_path("cooked.pcap");
  write_pcap(path, kLinktypeLinuxSllForTest, true, {{0, 0, sll}, {kMillisecond, 0, sll}, {2 * kMillisecond, 0, sll}});
  Scenario s = one_link(10'000'000, 10 * kMillisecond, kSecond);
  s.pcap_replays.push_back({"cooked", path, 0, 1.0});
  Report r = run_tapped(s, 100, nullptr, nullptr);
  EXPECT_EQ(r.flows.at(0).frames_skipped, 3u);
  EXPECT_EQ(r.flows.at(0).packets_sent, 0u);
  EXPECT_EQ(r.link.packets_sent, 0u);
  std::remove(path.c_str());
}

TEST(SimPcap, ReplayOfAMissingFileIsAnErrorNamingIt) {
  Scenario s = one_link(10'000'000, 10 * kMillisecond, kSecond);
  s.pcap_replays.push_back({"gone", "/nonexistent/trace.pcap", 0, 1.0});
  Simulation sim(s);
  sched::PfifoQdisc q(100);
  const Error e = bpfq::test::error_of([&] { sim.run(q); });
  EXPECT_EQ(e.where(), "/nonexistent/trace.pcap");
  EXPECT_NE(e.reason().find("cannot read the capture"), std::string::npos) << e.reason();
}

TEST(SimPcap, ScenarioFileNamesCapturesRelativeToItsFolder) {
  Scenario s = parse_scenario(R"(
pcap_output = "out.pcap"
[[pcap]]
file = "traces/a.pcap"
start = "2s"
speed = 0.5
[[pcap]]
name = "abs"
file = "/data/b.pcapng"
)",
                              "/lab/exp/scenario.toml");
  EXPECT_EQ(s.pcap_output, "out.pcap");
  ASSERT_EQ(s.pcap_replays.size(), 2u);
  EXPECT_EQ(s.pcap_replays[0].name, "pcap");
  EXPECT_EQ(s.pcap_replays[0].file, "/lab/exp/traces/a.pcap");
  EXPECT_EQ(s.pcap_replays[0].start_ns, 2 * kSecond);
  EXPECT_EQ(s.pcap_replays[0].speed, 0.5);
  EXPECT_EQ(s.pcap_replays[1].name, "abs");
  EXPECT_EQ(s.pcap_replays[1].file, "/data/b.pcapng");

  try {
    parse_scenario("[[pcap]]\nfile = \"a.pcap\"\nspeed = 0\n", "lab.toml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "lab.toml:3");
    EXPECT_EQ(e.reason(), "key 'pcap[0].speed': must be positive");
  }
  try {
    parse_scenario("[[pcap]]\nstart = \"1s\"\n", "lab.toml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "key 'pcap[0].file': missing");
  }
}

}  // namespace
}  // namespace bpfq::io::sim::test
