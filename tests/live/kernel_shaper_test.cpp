// bpfq's shapers against the kernel's own on the same testbed and the same traffic.
//
// htb (progs/htb.bpf.c) against sch_htb: a 60 Mbit/s parent, a 30 Mbit/s class for port 5301 and a 10 Mbit/s default class,
// both allowed to borrow up to 60 Mbit/s with 64 kB bursts (a GSO bundle's worth: a shaper's
// timer then matters little), each saturated by two CUBIC flows. The kernel run
// bridges ra and rb in R and puts sch_htb with a u32 filter on rb; the bpfq run is `bpfq live`
// with the same tree in bpfq's tc syntax. Each class's goodput must match the kernel's, and
// both must split the 20 Mbit/s of excess by the classes' quanta (DRR: 200000 and 125000
// bytes, from rate / r2q).
//
// tbf (progs/tbf.bpf.c) against sch_tbf: 50 Mbit/s with a 64 kB bucket, four CUBIC flows.
//
// Skipped by name where root or the tools are missing.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/live_topology.hpp"

namespace bpfq::test {
namespace {

const std::string kBpfq = std::string(BPFQ_BINARY_DIR) + "/bpfq";
constexpr int kSeconds = 10;

struct Goodputs {
  std::vector<double> mbps;  // per server port, Mbit/s of goodput as the server received it
  std::string why;           // set if the run failed
};

// One iperf3 client of `flows` CUBIC flows per port, all at once, from A to B.
Goodputs measure(Testbed& bed, const std::vector<int>& ports, int flows) {
  Goodputs r;
  std::vector<NetnsProcess*> servers, clients;
  for (int port : ports)
    servers.push_back(&bed.start("b", {"iperf3", "-s", "-1", "-p", std::to_string(port)}, "s" + std::to_string(port) + ".out"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int port : ports)
    clients.push_back(&bed.start("a", {"iperf3", "-c", Testbed::kAddressB, "-p", std::to_string(port), "-P", std::to_string(flows),
                                       "-t", std::to_string(kSeconds), "-O", "2", "-C", "cubic", "-J"},
                                 "c" + std::to_string(port) + ".json"));
  for (NetnsProcess* c : clients)
    if (c->wait(std::chrono::seconds(kSeconds + 30)) != 0) r.why += "iperf3 failed: " + c->output().substr(0, 500);
  for (NetnsProcess* s : servers) s->wait(std::chrono::seconds(5));
  if (!r.why.empty()) return r;
  for (NetnsProcess* c : clients) {
    const nlohmann::json j = nlohmann::json::parse(c->output(), nullptr, false);
    r.mbps.push_back(j.is_object() ? j["end"]["sum_received"]["bits_per_second"].get<double>() / 1e6 : 0.0);
  }
  return r;
}

// The same traffic through the kernel's qdisc (tc commands on rb, ra and rb bridged in R) and
// through `bpfq live ra rb` with `setup` (bpfq's tc syntax).
struct KernelAndBpfq {
  Goodputs kernel, bpfq;
};
KernelAndBpfq compare(const char* name, const std::vector<std::string>& tc_commands, const std::string& setup,
                      const std::vector<int>& ports, int flows) {
  KernelAndBpfq r;
  {
    Testbed bed(name);
    if (!bed.ok()) return {{{}, bed.error()}, {}};
    std::vector<std::string> cmds = {"ip link add br0 type bridge", "ip link set ra master br0", "ip link set rb master br0",
                                     "ip link set br0 up"};
    cmds.insert(cmds.end(), tc_commands.begin(), tc_commands.end());
    for (const std::string& cmd : cmds)
      if (!bed.run("r", cmd + " 2>/dev/null")) return {{{}, "failed: " + cmd}, {}};
    if (!bed.b_reachable(10)) return {{{}, "the kernel bridge does not forward here"}, {}};
    r.kernel = measure(bed, ports, flows);
  }
  {
    Testbed bed(name);
    if (!bed.ok()) return {r.kernel, {{}, bed.error()}};
    const std::string file = bed.file(std::string(name) + ".tc");
    std::ofstream(file) << setup;
    NetnsProcess& live = bed.start("r", {kBpfq, "live", "ra", "rb", "-b", file, "-j"}, "live.out");
    if (!bed.b_reachable(20)) return {r.kernel, {{}, "bpfq live does not forward: " + live.output()}};
    r.bpfq = measure(bed, ports, flows);
    live.signal(SIGTERM);
    if (live.wait(std::chrono::seconds(20)) != 0) r.bpfq.why += "bpfq live failed: " + live.output();
    else if (live.output().find("\"conserved\":true") == std::string::npos)
      r.bpfq.why += "bpfq live did not conserve packets: " + live.output();
  }
  return r;
}

class AgainstKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = live_unavailable()) GTEST_SKIP() << *why;
    if (std::system("command -v tc >/dev/null 2>&1") != 0) GTEST_SKIP() << "tc is not installed (iproute2)";
  }
};

TEST_F(AgainstKernel, EveryHtbClassGetsWhatTheKernelsHtbGivesIt) {
  const KernelAndBpfq r = compare(
      "htb",
      {"tc qdisc add dev rb root handle 1: htb default 20", "tc class add dev rb parent 1: classid 1:1 htb rate 60mbit",
       "tc class add dev rb parent 1:1 classid 1:10 htb rate 30mbit ceil 60mbit burst 64kb cburst 64kb",
       "tc class add dev rb parent 1:1 classid 1:20 htb rate 10mbit ceil 60mbit burst 64kb cburst 64kb",
       "tc filter add dev rb parent 1: protocol ip prio 1 u32 match ip dport 5301 0xffff flowid 1:10"},
      "qdisc add dev rb root handle 1: htb defcls 0x20\n"
      "class add dev rb parent 1: classid 1:1 htb rate 60mbit\n"
      "class add dev rb parent 1: classid 1:10 htb parent 0x1 rate 30mbit ceil 60mbit burst 64kb cburst 64kb\n"
      "class add dev rb parent 1: classid 1:20 htb parent 0x1 rate 10mbit ceil 60mbit burst 64kb cburst 64kb\n"
      "filter add dev rb parent 1: protocol ip prio 1 u32 match ip dport 5301 0xffff classid 1:10\n",
      {5301, 5302}, 2);
  if (r.kernel.why == "the kernel bridge does not forward here") GTEST_SKIP() << r.kernel.why;
  ASSERT_TRUE(r.kernel.why.empty()) << r.kernel.why;
  ASSERT_TRUE(r.bpfq.why.empty()) << r.bpfq.why;
  const double kernel_fast = r.kernel.mbps[0], kernel_slow = r.kernel.mbps[1];
  const double fast = r.bpfq.mbps[0], slow = r.bpfq.mbps[1];
  std::printf("htb 60mbit (30 + 10 borrowing): kernel 1:10 %.2f 1:20 %.2f Mbit/s; bpfq 1:10 %.2f 1:20 %.2f Mbit/s\n",
              kernel_fast, kernel_slow, fast, slow);
  // The 30mbit class within 2 % of the kernel's rate for it (the aim; measured within 0.3 %).
  // The 10mbit class's part of the excess varies between two runs of the kernel itself by about
  // 3.5 % (17.11-17.71 Mbit/s measured), so it is held within 8 %.
  EXPECT_NEAR(fast, kernel_fast, kernel_fast * 0.02);
  EXPECT_NEAR(slow, kernel_slow, kernel_slow * 0.08);
  // Both above their own rate: the excess is shared, 1:10 getting the larger part.
  EXPECT_GT(slow, 10 * 1448.0 / 1514);
  EXPECT_GT(fast - 30 * 1448.0 / 1514, slow - 10 * 1448.0 / 1514);
}

TEST_F(AgainstKernel, TbfGivesWhatTheKernelsTbfGives) {
  const KernelAndBpfq r = compare("tbf", {"tc qdisc add dev rb root tbf rate 50mbit burst 64kb latency 50ms"},
                                  "qdisc add dev rb root tbf rate 50mbit burst 64kb latency 50ms\n", {5301}, 4);
  if (r.kernel.why == "the kernel bridge does not forward here") GTEST_SKIP() << r.kernel.why;
  ASSERT_TRUE(r.kernel.why.empty()) << r.kernel.why;
  ASSERT_TRUE(r.bpfq.why.empty()) << r.bpfq.why;
  std::printf("tbf 50mbit burst 64kb, 4 CUBIC flows: kernel %.2f Mbit/s, bpfq %.2f Mbit/s\n", r.kernel.mbps[0],
              r.bpfq.mbps[0]);
  EXPECT_NEAR(r.bpfq.mbps[0], r.kernel.mbps[0], r.kernel.mbps[0] * 0.02);
}

}  // namespace
}  // namespace bpfq::test
