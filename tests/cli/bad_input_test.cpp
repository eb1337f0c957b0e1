// Bad input at the command line (issue 11): each case once crashed, hung, aborted or silently
// did something else; now it is one `bpfq: error:` line naming what is wrong, and exit code 1.
// Every run has a time limit, so a hang fails the test instead of stalling the suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/run_bpfq.hpp"

namespace bpfq::test {
namespace {

Outcome sim_with(const std::string& name, const std::string& toml, const std::string& more = "") {
  return run_bpfq("sim --scenario " + write_temp(name, toml) + " --compare pfifo" + more);
}

// Exit code 1 and a `bpfq: error:` line holding message (scenario files are named by their full
// path), one line unless the command lists problems (`prog check`), without a sanitizer report
// or an abort.
void expect_error(const Outcome& o, const std::string& message, bool one_line = true) {
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_EQ(o.output.rfind("bpfq: error: ", 0), 0u) << o.output;
  EXPECT_TRUE(contains(o.output, message)) << o.output;
  if (one_line) {
    EXPECT_EQ(o.output.find('\n'), o.output.size() - 1) << o.output;
  }
  EXPECT_FALSE(contains(o.output, "Sanitizer")) << o.output;
  EXPECT_FALSE(contains(o.output, "terminate called")) << o.output;
}

TEST(CliBadInput, DatagramSizesNearTwoToThe32AreRefused) {
  expect_error(sim_with("udp_size.toml", "[[udp]]\nsize = 4294967270\n"),
               "udp_size.toml:2: key 'udp[0].size': 4294967270 is out of range (at most 2034 bytes)");
  expect_error(sim_with("ping_size.toml", "[[ping]]\nsize = 4294967290\n"),
               "ping_size.toml:2: key 'ping[0].size': 4294967290 is out of range (at most 2034 bytes)");
  expect_error(sim_with("udp_mtu.toml", "[[udp]]\nsize = 1473\n"),
               "udp_mtu.toml: udp[0].size 1473 exceeds the MTU: at most 1472 bytes (mtu - 28 header bytes)");
}

TEST(CliBadInput, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  expect_error(sim_with("deep.toml", "[[ping]]\nx = " + deep + "\n"),
               "deep.toml:2: values nested more than 32 deep (arrays and inline tables) (hint: a scenario needs at most 2 levels)");
}

TEST(CliBadInput, FoldersDevicesAndHugeFilesAreNotObjects) {
  const std::string dir = std::filesystem::path(write_temp("x.txt", "")).parent_path().string();
  expect_error(run_bpfq("prog show " + dir), dir + ": is a folder, not an object file");
  expect_error(run_bpfq("prog check /dev/zero"), "/dev/zero: is not a regular file (a device, pipe or socket)", false);
  expect_error(run_bpfq("prog check " + dir), dir + ": is a folder, not an object file", false);
  expect_error(run_bpfq("sim --duration 1 -q 'bpf obj /dev/zero'"), "/dev/zero: is not a regular file");
}

TEST(CliBadInput, OutOfRangeNumbersAreErrorsNamingFieldValueAndRange) {
  expect_error(sim_with("duration.toml", "duration = 1e300\n[[ping]]\n"),
               "duration.toml:1: key 'duration': 1e+300 is out of range (at most 86400s)");
  expect_error(sim_with("rate.toml", "[[ping]]\n[link]\nrate = 1e300\n"),
               "rate.toml:3: key 'link.rate': 1e+300 is out of range (at most 1000gbit)");
  expect_error(sim_with("short.toml", "[[short_flows]]\nrate = 1e-300\n"),
               "short.toml: short_flows[0].rate 1e-300 is out of range (1e-06 .. 1e+06)");
  expect_error(sim_with("mtu.toml", "[[ping]]\n[link]\nmtu = 4294968796\n"),
               "mtu.toml:3: key 'link.mtu': 4294968796 is out of range (at most 2034 bytes)");
  expect_error(sim_with("pool.toml", "pool_packets = 4294967360\n[[ping]]\n"),
               "pool.toml:1: key 'pool_packets': 4294967360 is out of range (at most 262144)");
  expect_error(sim_with("dscp.toml", "[[udp]]\ndscp = 64\n"), "dscp.toml:2: key 'udp[0].dscp': 64 is out of range (at most 63)");
  expect_error(sim_with("size.toml", "[[udp]]\nsize = 4294967396\n"),
               "size.toml:2: key 'udp[0].size': 4294967396 is out of range (at most 2034 bytes)");
}

TEST(CliBadInput, WhatWouldExhaustMemoryIsAnErrorNamingTheLimit) {
  expect_error(sim_with("count.toml", "[[tcp]]\ncount = 1000000000\n"),
               "count.toml:2: key 'tcp[0].count': 1000000000 is out of range (at most 4096)");
  expect_error(sim_with("samples.toml", "sample_interval = \"1ns\"\n[[ping]]\n"),
               "samples.toml: sample_interval 1ns gives 30000000000 samples over 30s, over the limit of 1000000");
  expect_error(sim_with("series.toml", "duration = \"1000s\"\n[[tcp]]\ncount = 4000\n"),
               "series.toml: sample_interval 100ms gives 10000 samples x 4005 columns, over the limit of 16000000");
  expect_error(sim_with("arrivals.toml", "[[short_flows]]\nrate = 1e6\n"),
               "arrivals.toml: short_flows expect 3e+07 arrivals (rate x active time), over the limit of 100000");
}

TEST(CliBadInput, ScenariosThatCannotDoTheirJobAreErrors) {
  const std::string dir = std::filesystem::path(write_temp("y.txt", "")).parent_path().string();
  expect_error(run_bpfq("sim --scenario " + dir), dir + ": the scenario path is a folder, not a file");
  expect_error(sim_with("empty.toml", ""), "empty.toml: the scenario file is empty (hint: add a [[tcp]], [[udp]], [[ping]], "
                                           "[[short_flows]] or [[pcap]] table, or preset = \"bufferbloat\")");
  expect_error(sim_with("idle.toml", "name = \"idle\"\nduration = \"1s\"\n"), "idle.toml: the scenario has no traffic");
}

TEST(CliBadInput, AFullDiskForTheCaptureIsAnError) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  expect_error(run_bpfq("sim --duration 1 --pcap /dev/full -q pfifo"),
               "/dev/full: cannot write the capture: No space left on device");
}

}  // namespace
}  // namespace bpfq::test
