// Scenario files: the TOML format, units, presets and errors that name file, line and key.
#include <gtest/gtest.h>

#include <fstream>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>

namespace bpfq::io::sim {
namespace {

TEST(SimScenarioFile, ParsesEverySection) {
  Scenario s = parse_scenario(R"(
name = "lab"
duration = "12s"
seed = 7
sample_interval = "50ms"
[link]
rate = "20mbit"
rtt = "25ms"
mtu = 1400
[[tcp]]
cc = "newreno"
bytes = "1MB"
start = "1.5s"
ecn = true
sack = false
count = 2
name = "file"
[[tcp]]
bytes = "bulk"
stop = 10
[[udp]]
pattern = "onoff"
rate = "64kbit"
size = 160
on = "2s"
off = "500ms"
dscp = 46
[[ping]]
interval = "10ms"
[[short_flows]]
rate = 12.5
sack = false
size = { dist = "pareto", mean = "100KB", shape = 1.5, max = "10MB" }
)", "lab.toml");
  EXPECT_EQ(s.name, "lab");
  EXPECT_EQ(s.duration_ns, 12 * kSecond);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.sample_interval_ns, 50 * kMillisecond);
  EXPECT_EQ(s.rate_bps, 20'000'000u);
  EXPECT_EQ(s.rtt_ns, 25 * kMillisecond);
  EXPECT_EQ(s.mtu, 1400u);
  ASSERT_EQ(s.tcp.size(), 3u);
  EXPECT_EQ(s.tcp[0].name, "file0");
  EXPECT_EQ(s.tcp[1].name, "file1");
  EXPECT_EQ(s.tcp[0].cc, CongestionControl::NewReno);
  EXPECT_EQ(s.tcp[0].bytes, 1'000'000u);
  EXPECT_EQ(s.tcp[0].start_ns, 1'500'000'000u);
  EXPECT_TRUE(s.tcp[0].ecn);
  EXPECT_FALSE(s.tcp[0].sack);
  EXPECT_FALSE(s.tcp[1].sack);
  EXPECT_TRUE(s.tcp[2].sack);  // on unless turned off
  EXPECT_EQ(s.tcp[2].cc, CongestionControl::Cubic);
  EXPECT_EQ(s.tcp[2].bytes, 0u);
  EXPECT_EQ(s.tcp[2].stop_ns, 10 * kSecond);
  ASSERT_EQ(s.udp.size(), 1u);
  EXPECT_EQ(s.udp[0].pattern, UdpPattern::OnOff);
  EXPECT_EQ(s.udp[0].rate_bps, 64'000u);
  EXPECT_EQ(s.udp[0].payload_bytes, 160u);
  EXPECT_EQ(s.udp[0].on_ns, 2 * kSecond);
  EXPECT_EQ(s.udp[0].off_ns, 500 * kMillisecond);
  EXPECT_EQ(s.udp[0].dscp, 46);
  ASSERT_EQ(s.pings.size(), 1u);
  EXPECT_EQ(s.pings[0].interval_ns, 10 * kMillisecond);
  ASSERT_EQ(s.short_flows.size(), 1u);
  EXPECT_DOUBLE_EQ(s.short_flows[0].arrivals_per_s, 12.5);
  EXPECT_FALSE(s.short_flows[0].sack);
  EXPECT_EQ(s.short_flows[0].size.kind, SizeDistribution::Kind::Pareto);
  EXPECT_EQ(s.short_flows[0].size.mean_bytes, 100'000u);
  EXPECT_DOUBLE_EQ(s.short_flows[0].size.shape, 1.5);
  EXPECT_EQ(s.short_flows[0].size.max_bytes, 10'000'000u);
}

TEST(SimScenarioFile, PresetIsTheStartingPoint) {
  Scenario s = parse_scenario("preset = \"bufferbloat\"\nduration = \"5s\"\n[link]\nrate = \"50mbit\"\n", "p.toml");
  EXPECT_EQ(s.name, "bufferbloat");
  EXPECT_EQ(s.tcp.size(), 4u);
  EXPECT_EQ(s.pings.size(), 1u);
  EXPECT_EQ(s.duration_ns, 5 * kSecond);
  EXPECT_EQ(s.rate_bps, 50'000'000u);
  EXPECT_EQ(s.rtt_ns, 40 * kMillisecond);
  // A flow list in the file replaces the preset's.
  Scenario t = parse_scenario("preset = \"bufferbloat\"\n[[tcp]]\ncc = \"newreno\"\n", "p.toml");
  ASSERT_EQ(t.tcp.size(), 1u);
  EXPECT_EQ(t.tcp[0].cc, CongestionControl::NewReno);
}

void expect_error(const std::string& text, const std::string& where, const std::string& reason) {
  try {
    parse_scenario(text, "bad.toml");
    ADD_FAILURE() << "no error for: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), where) << text;
    EXPECT_EQ(e.reason(), reason) << text;
  }
}

TEST(SimScenarioFile, ErrorsNameFileLineAndKey) {
  expect_error("seed = 1\n[link]\nrate = \"10 parsecs\"\n", "bad.toml:3", "key 'link.rate': unknown unit 'parsecs' for a rate");
  expect_error("[link]\nrtt = true\n", "bad.toml:2", "key 'link.rtt': expected a time");
  expect_error("duration = \"5s\"\nduraton = \"6s\"\n", "bad.toml:2", "key 'duraton': unknown key");
  expect_error("[[tcp]]\n\ncc = \"vegas\"\n", "bad.toml:3", "key 'tcp[0].cc': unknown congestion control");
  expect_error("[[tcp]]\n[[tcp]]\nbyts = 5\n", "bad.toml:3", "key 'tcp[1].byts': unknown key");
  expect_error("[[udp]]\npattern = \"burst\"\n", "bad.toml:2", "key 'udp[0].pattern': unknown pattern");
  expect_error("[[short_flows]]\nsize = { dist = \"zipf\" }\n", "bad.toml:2",
               "key 'short_flows[0].size.dist': unknown distribution");
  expect_error("preset = \"huge\"\n", "bad.toml:1", "key 'preset': unknown scenario preset 'huge'");
  expect_error("[link]\nrate = -5\n", "bad.toml:2", "key 'link.rate': must not be negative");
  expect_error("[[udp]]\nsize = 1600\n", "bad.toml", "udp[0].size 1600 exceeds the MTU: at most 1472 bytes (mtu - 28 header bytes)");
}

TEST(SimScenarioFile, SyntaxErrorsCarryTheLine) {
  try {
    parse_scenario("seed = 1\nname = \"unterminated\n", "syntax.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "syntax.toml:2");
    EXPECT_EQ(e.reason().rfind("TOML syntax error: ", 0), 0u) << e.reason();
  }
}

TEST(SimScenarioFile, LoadsFromDiskAndReportsAMissingFile) {
  std::string path = ::testing::TempDir() + "/bpfq_sim_scenario.toml";
  {
    std::ofstream out(path);
    out << "name = \"disk\"\n[[ping]]\ninterval = \"1s\"\n";
  }
  Scenario s = load_scenario_file(path);
  EXPECT_EQ(s.name, "disk");
  EXPECT_EQ(s.pings.at(0).interval_ns, kSecond);
  try {
    load_scenario_file(path + ".missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), path + ".missing");
    EXPECT_EQ(e.reason(), "cannot open the scenario file");
  }
}

}  // namespace
}  // namespace bpfq::io::sim
