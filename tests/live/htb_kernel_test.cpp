// bpfq's htb (progs/htb.bpf.c) against the kernel's own sch_htb on the same testbed and the same
// traffic: a 60 Mbit/s parent, a 30 Mbit/s class for port 5301 and a 10 Mbit/s default class,
// both allowed to borrow up to 60 Mbit/s with 64 kB bursts (a GSO bundle's worth: a shaper's
// timer then matters little), each saturated by two CUBIC flows. The kernel run
// bridges ra and rb in R and puts sch_htb with a u32 filter on rb; the bpfq run is `bpfq live`
// with the same tree in bpfq's tc syntax. Each class's goodput must match the kernel's, and
// both must split the 20 Mbit/s of excess by the classes' quanta (DRR: 200000 and 125000
// bytes, from rate / r2q). Skipped by name where root or the tools are missing.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "live/live_topology.hpp"

namespace bpfq::test {
namespace {

const std::string kBpfq = std::string(BPFQ_BINARY_DIR) + "/bpfq";
constexpr int kSeconds = 10;

struct ClassRates {
  double fast = 0;  // class 1:10 (port 5301), Mbit/s of goodput
  double slow = 0;  // class 1:20 (default, port 5302)
  std::string why;  // set if the run failed
};

// Two iperf3 runs at once, one per class; goodput as the servers received it.
ClassRates measure(Testbed& bed) {
  ClassRates r;
  NetnsProcess& s1 = bed.start("b", {"iperf3", "-s", "-1", "-p", "5301"}, "s1.out");
  NetnsProcess& s2 = bed.start("b", {"iperf3", "-s", "-1", "-p", "5302"}, "s2.out");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto client = [&](const char* port, const char* out) -> NetnsProcess& {
    return bed.start("a", {"iperf3", "-c", Testbed::kAddressB, "-p", port, "-P", "2", "-t", std::to_string(kSeconds), "-O", "2",
                           "-C", "cubic", "-J"},
                     out);
  };
  NetnsProcess& c1 = client("5301", "c1.json");
  NetnsProcess& c2 = client("5302", "c2.json");
  for (NetnsProcess* c : {&c1, &c2})
    if (c->wait(std::chrono::seconds(kSeconds + 30)) != 0) r.why += "iperf3 failed: " + c->output().substr(0, 500);
  s1.wait(std::chrono::seconds(5));
  s2.wait(std::chrono::seconds(5));
  if (!r.why.empty()) return r;
  auto mbps = [](const std::string& out) {
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    return j.is_object() ? j["end"]["sum_received"]["bits_per_second"].get<double>() / 1e6 : 0.0;
  };
  r.fast = mbps(c1.output());
  r.slow = mbps(c2.output());
  return r;
}

class HtbAgainstKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = live_unavailable()) GTEST_SKIP() << *why;
    if (std::system("command -v tc >/dev/null 2>&1") != 0) GTEST_SKIP() << "tc is not installed (iproute2)";
  }
};

TEST_F(HtbAgainstKernel, EveryClassGetsWhatTheKernelsHtbGivesIt) {
  ClassRates kernel, bpfq;
  {
    Testbed bed("htb");
    ASSERT_TRUE(bed.ok()) << bed.error();
    for (const char* cmd : {"ip link add br0 type bridge", "ip link set ra master br0", "ip link set rb master br0",
                            "ip link set br0 up", "tc qdisc add dev rb root handle 1: htb default 20",
                            "tc class add dev rb parent 1: classid 1:1 htb rate 60mbit",
                            "tc class add dev rb parent 1:1 classid 1:10 htb rate 30mbit ceil 60mbit burst 64kb cburst 64kb",
                            "tc class add dev rb parent 1:1 classid 1:20 htb rate 10mbit ceil 60mbit burst 64kb cburst 64kb",
                            "tc filter add dev rb parent 1: protocol ip prio 1 u32 match ip dport 5301 0xffff flowid 1:10"})
      ASSERT_TRUE(bed.run("r", std::string(cmd) + " 2>/dev/null")) << cmd;
    if (!bed.b_reachable(10)) GTEST_SKIP() << "the kernel bridge does not forward here";
    kernel = measure(bed);
    ASSERT_TRUE(kernel.why.empty()) << kernel.why;
  }
  {
    Testbed bed("htb");
    ASSERT_TRUE(bed.ok()) << bed.error();
    const std::string setup = bed.file("htb.tc");
    std::ofstream(setup) << "qdisc add dev rb root handle 1: htb defcls 0x20\n"
                            "class add dev rb parent 1: classid 1:1 htb rate 60mbit\n"
                            "class add dev rb parent 1: classid 1:10 htb parent 0x1 rate 30mbit ceil 60mbit burst 64kb cburst 64kb\n"
                            "class add dev rb parent 1: classid 1:20 htb parent 0x1 rate 10mbit ceil 60mbit burst 64kb cburst 64kb\n"
                            "filter add dev rb parent 1: protocol ip prio 1 u32 match ip dport 5301 0xffff classid 1:10\n";
    NetnsProcess& live = bed.start("r", {kBpfq, "live", "ra", "rb", "-b", setup, "-j"}, "live.out");
    ASSERT_TRUE(bed.b_reachable(20)) << live.output();
    bpfq = measure(bed);
    live.signal(SIGTERM);
    EXPECT_EQ(live.wait(std::chrono::seconds(20)), 0) << live.output();
    ASSERT_TRUE(bpfq.why.empty()) << bpfq.why;
    EXPECT_NE(live.output().find("\"conserved\":true"), std::string::npos) << live.output();
  }
  std::printf("htb 60mbit (30 + 10 borrowing): kernel 1:10 %.2f 1:20 %.2f Mbit/s; bpfq 1:10 %.2f 1:20 %.2f Mbit/s\n",
              kernel.fast, kernel.slow, bpfq.fast, bpfq.slow);
  // The 30mbit class within 2 % of the kernel's rate for it (the aim; measured within 0.3 %).
  // The 10mbit class's part of the excess varies between two runs of the kernel itself by about
  // 3.5 % (17.11-17.71 Mbit/s measured), so it is held within 8 %.
  EXPECT_NEAR(bpfq.fast, kernel.fast, kernel.fast * 0.02);
  EXPECT_NEAR(bpfq.slow, kernel.slow, kernel.slow * 0.08);
  // Both above their own rate: the excess is shared, 1:10 getting the larger part.
  EXPECT_GT(bpfq.slow, 10 * 1448.0 / 1514);
  EXPECT_GT(bpfq.fast - 30 * 1448.0 / 1514, bpfq.slow - 10 * 1448.0 / 1514);
}

}  // namespace
}  // namespace bpfq::test
