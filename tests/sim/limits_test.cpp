// Bad scenarios (issue 11): values that overflowed, were cut to fit, hung a run or exhausted
// memory are errors naming the field, the value and the allowed range.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>
#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "support/error_of.hpp"

namespace bpfq::io::sim {
namespace {

using bpfq::test::error_of;

Error file_error(const std::string& text) {
  return error_of([&] { parse_scenario(text, "bad.toml"); });
}

void expect_file_error(const std::string& text, const std::string& where, const std::string& reason) {
  const Error e = file_error(text);
  EXPECT_EQ(e.where(), where) << text;
  EXPECT_EQ(e.reason(), reason) << text;
}

Error validate_error(const Scenario& s) {
  return error_of([&] { s.validate(); });
}

Scenario with_ping() {
  Scenario s;
  s.pings.push_back(PingSpec{});
  return s;
}

TEST(SimLimits, DatagramSizesNearTwoToThe32DoNotWrapPastTheMtuCheck) {
  // 4294967270 + 28 header bytes wrapped to 2 and passed; the frame was then built past its buffer.
  Scenario udp = with_ping();
  udp.udp.push_back(UdpFlowSpec{});
  udp.udp[0].payload_bytes = 4294967270u;
  EXPECT_EQ(validate_error(udp).reason(), "udp[0].size 4294967270 exceeds the MTU: at most 1472 bytes (mtu - 28 header bytes)");
  Scenario ping;
  ping.pings.push_back(PingSpec{});
  ping.pings[0].payload_bytes = 4294967290u;
  ping.pings[0].ipv6 = true;
  EXPECT_EQ(validate_error(ping).reason(), "ping[0].size 4294967290 exceeds the MTU: at most 1452 bytes (mtu - 48 header bytes)");
  // The Simulation refuses it too, before any frame exists.
  EXPECT_EQ(error_of([&] { Simulation sim(udp); }).reason(), validate_error(udp).reason());
  // In a file the value is refused where it is written, instead of being cut to 32 bits.
  expect_file_error("[[udp]]\nsize = 4294967396\n", "bad.toml:2", "key 'udp[0].size': 4294967396 is out of range (at most 2034 bytes)");
  expect_file_error("[[ping]]\n\nsize = 4294967300\n", "bad.toml:3", "key 'ping[0].size': 4294967300 is out of range (at most 2034 bytes)");
}

TEST(SimLimits, DeepNestingIsRefusedBeforeParsingAndNamesTheLine) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  expect_file_error("[[ping]]\n\nx = " + deep + "\n", "bad.toml:3", "values nested more than 32 deep (arrays and inline tables)");
  std::string braces = "[[ping]]\ny = ";
  for (int i = 0; i < 40; ++i) braces += "{a = ";
  braces += "1" + std::string(40, '}') + "\n";
  expect_file_error(braces, "bad.toml:2", "values nested more than 32 deep (arrays and inline tables)");
  // 32 levels are still toml11's to judge (here: an unknown key, so the nesting was accepted).
  expect_file_error("[[ping]]\nx = " + std::string(32, '[') + std::string(32, ']') + "\n", "bad.toml:2", "key 'ping[0].x': unknown key");
  // Brackets in strings and comments are not nesting.
  const std::string many = std::string(100, '[') + std::string(100, '{');
  const Scenario s = parse_scenario("name = \"" + many + "\" # " + many + "\n" + "pcap_output = '" + many + "'\n" +
                                        "[[ping]]\nname = \"\"\"\n" + many + "\\\"\"\"\"\n",
                                    "ok.toml");
  EXPECT_EQ(s.name, many);
  EXPECT_EQ(s.pcap_output, many);
  EXPECT_EQ(s.pings.at(0).name, many + "\"");
}

TEST(SimLimits, InvalidUtf8IsRefusedBeforeToml11SeesIt) {
  // toml11 3.7 read past its buffer reporting this byte in a literal string (found by the fuzz test).
  expect_file_error("[[ping]]\nname = '\xc3\x28'\n", "bad.toml:2", "not UTF-8: byte 0xc3 starts no valid character");
  expect_file_error("[[ping]]\n\n# \xed\xa0\x80 a surrogate\n", "bad.toml:3", "not UTF-8: byte 0xed starts no valid character");
  EXPECT_EQ(parse_scenario("[[ping]]\nname = '\xc3\xa9\xf0\x9f\x93\xa1'\n", "ok.toml").pings.at(0).name, "\xc3\xa9\xf0\x9f\x93\xa1");
}

TEST(SimLimits, NumbersBeyondTheirRangeAreErrorsNotHangsOrTruncations) {
  expect_file_error("duration = 1e300\n[[ping]]\n", "bad.toml:1", "key 'duration': 1e+300 is out of range (at most 86400s)");
  expect_file_error("[[ping]]\n[link]\nrate = 1e300\n", "bad.toml:3", "key 'link.rate': 1e+300 is out of range (at most 1000gbit)");
  expect_file_error("[[udp]]\nrate = \"2000gbit\"\n", "bad.toml:2", "key 'udp[0].rate': \"2000gbit\" is out of range (at most 1000gbit)");
  expect_file_error("[[short_flows]]\nrate = 1e-300\n", "bad.toml", "short_flows[0].rate 1e-300 is out of range (1e-06 .. 1e+06)");
  expect_file_error("[[ping]]\n[link]\nmtu = 4294968796\n", "bad.toml:3", "key 'link.mtu': 4294968796 is out of range (at most 2034 bytes)");
  expect_file_error("[[ping]]\n[link]\nmtu = 2035\n", "bad.toml:3", "key 'link.mtu': 2035 is out of range (at most 2034 bytes)");
  expect_file_error("pool_packets = 4294967360\n[[ping]]\n", "bad.toml:1", "key 'pool_packets': 4294967360 is out of range (at most 262144)");
  expect_file_error("[[udp]]\ndscp = 64\n", "bad.toml:2", "key 'udp[0].dscp': 64 is out of range (at most 63)");
  expect_file_error("[[tcp]]\nbytes = \"2000gb\"\n", "bad.toml:2", "key 'tcp[0].bytes': \"2000gb\" is out of range (at most 1000000000000 bytes)");
  expect_file_error("[[ping]]\ninterval = nan\n", "bad.toml:2", "key 'ping[0].interval': not a time");
  expect_file_error("[[pcap]]\nfile = \"x.pcap\"\nspeed = inf\n", "bad.toml:3", "key 'pcap[0].speed': expected a finite number");
  expect_file_error("[[short_flows]]\nsize = { dist = \"pareto\", shape = nan }\n", "bad.toml:2",
                    "key 'short_flows[0].size.shape': expected a finite number");
  expect_file_error("[[ping]]\n[link]\nmtu = 10\n", "bad.toml", "mtu 10 is out of range (68 .. 2034)");
  expect_file_error("[[ping]]\nstart = \"86401s\"\n", "bad.toml:2", "key 'ping[0].start': \"86401s\" is out of range (at most 86400s)");
  // What the CLI's --duration or a program can set is checked by validate().
  Scenario s = with_ping();
  s.duration_ns = UINT64_MAX;
  EXPECT_EQ(validate_error(s).reason(), "duration 18446744073709551615ns is out of range (1ns .. 86400s)");
  s = with_ping();
  s.rate_bps = 999;
  EXPECT_EQ(validate_error(s).reason(), "link rate 999bit is out of range (1kbit .. 1000gbit)");
  s = with_ping();
  s.pool_packets = 63;
  EXPECT_EQ(validate_error(s).reason(), "pool_packets 63 is out of range (64 .. 262144)");
  s = with_ping();
  s.udp.push_back(UdpFlowSpec{});
  s.udp[0].dscp = 64;
  EXPECT_EQ(validate_error(s).reason(), "udp[0].dscp 64 is out of range (0 .. 63)");
  s = with_ping();
  s.pcap_replays.push_back(PcapReplaySpec{"r", "x.pcap", 0, 1e-9});
  EXPECT_EQ(validate_error(s).reason(), "pcap[0].speed 1e-09 is out of range (1e-06 .. 1e+06)");
}

TEST(SimLimits, FlowCountsSamplesAndShortFlowsHaveDocumentedLimits) {
  // Refused before a billion flow specs are allocated.
  expect_file_error("[[tcp]]\ncount = 1000000000\n", "bad.toml:2", "key 'tcp[0].count': 1000000000 is out of range (at most 4096)");
  expect_file_error("[[tcp]]\ncount = 4000\n[[tcp]]\ncount = 100\n", "bad.toml:4",
                    "key 'tcp[1].count': 4100 tcp flows are over the limit of 4096 flows in a scenario");
  Scenario s;
  s.pings.resize(kMaxScenarioFlows + 1);
  EXPECT_EQ(validate_error(s).reason(), "flows (tcp, udp, ping and pcap): 4097 is over the limit of 4096");
  s.pings.resize(kMaxScenarioFlows);
  EXPECT_NO_THROW(s.validate());
  expect_file_error("sample_interval = \"1ns\"\n[[ping]]\n", "bad.toml",
                    "sample_interval 1ns gives 30000000000 samples over 30s, over the limit of 1000000 (duration / sample_interval)");
  expect_file_error("sample_interval = \"1us\"\n[[ping]]\n", "bad.toml",
                    "sample_interval 1us gives 30000000 samples over 30s, over the limit of 1000000 (duration / sample_interval)");
  expect_file_error("duration = \"1000s\"\n[[tcp]]\ncount = 4000\n", "bad.toml",
                    "sample_interval 100ms gives 10000 samples x 4005 columns, over the limit of 16000000 time-series values");
  expect_file_error("[[short_flows]]\nrate = 1e6\n", "bad.toml",
                    "short_flows expect 3e+07 arrivals (rate x active time), over the limit of 100000");
  // Within the limits: a short-flow group over part of the run.
  EXPECT_NO_THROW(parse_scenario("[[short_flows]]\nrate = 5000\nstart = \"10s\"\nstop = \"30s\"\n", "ok.toml"));
  expect_file_error("[[short_flows]]\nrate = 5001\nstart = \"10s\"\nstop = \"30s\"\n", "bad.toml",
                    "short_flows expect 100020 arrivals (rate x active time), over the limit of 100000");
}

TEST(SimLimits, EmptyFilesFilesWithoutTrafficAndFoldersAreErrors) {
  expect_file_error("", "bad.toml", "the scenario file is empty");
  expect_file_error(" \n\t\n", "bad.toml", "the scenario file is empty");
  const Error none = file_error("# nothing but a comment\nname = \"idle\"\n");
  EXPECT_EQ(none.reason(), "the scenario has no traffic");
  EXPECT_EQ(none.hint(), "add a [[tcp]], [[udp]], [[ping]], [[short_flows]] or [[pcap]] table, or preset = \"bufferbloat\"");
  const std::string dir = ::testing::TempDir() + "bpfq-limits-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const Error folder = error_of([&] { load_scenario_file(dir); });
  EXPECT_EQ(folder.where(), dir);
  EXPECT_EQ(folder.reason(), "the scenario path is a folder, not a file");
  EXPECT_EQ(error_of([] { load_scenario_file("/dev/zero"); }).reason(), "the scenario path is not a regular file");
  const std::string empty = dir + "/empty.toml";
  std::ofstream(empty).close();
  EXPECT_EQ(error_of([&] { load_scenario_file(empty); }).reason(), "the scenario file is empty");
  const std::string big = dir + "/big.toml";
  std::ofstream(big) << "[[ping]]\n" << std::string(kMaxScenarioFileBytes, '#') << "\n";
  EXPECT_EQ(error_of([&] { load_scenario_file(big); }).reason(), "the scenario file has 1048586 bytes, over the limit of 1048576");
  std::filesystem::remove_all(dir);
}

TEST(SimLimits, AFailedCaptureWriteIsAnErrorNamingTheFile) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  Scenario s = preset("bufferbloat");
  s.duration_ns = kSecond;
  s.pcap_output = "/dev/full";
  Simulation sim(s);
  sched::PfifoQdisc q(100);
  const Error e = error_of([&] { sim.run(q); });
  EXPECT_EQ(e.where(), "/dev/full");
  EXPECT_EQ(e.reason(), "cannot write the capture: No space left on device");
  EXPECT_EQ(sim.pool().in_use(), 0u) << "the run drained before it reported";
}

}  // namespace
}  // namespace bpfq::io::sim
