// mq and mqprio by name in a setup file, through the bpfq binary: show lists the root and one
// child per TX queue (the default pfifo_fast, or the qdisc a line put under 1:N), sim runs the
// setup with the root's counters the sum of its queues', and a refused line is an error naming
// file, line and reason.
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

namespace bpfq::test {
namespace {

const std::string kSetup =
    "link add dev eth0 numtxqueues 4 rate 10mbit\n"
    "qdisc add dev eth0 root handle 1: mq\n"
    "qdisc add dev eth0 parent 1:2 handle 20: fq_codel\n";

constexpr const char* kPfifoFast = "bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1";

TEST(CliMq, ShowListsARootAndOneChildPerTxQueue) {
  const std::string path = write_temp("mq.tc", kSetup);
  const Outcome q = run_bpfq("-b " + path + " qdisc show dev eth0");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_EQ(q.output, std::string("qdisc mq 1: root\n") + "qdisc native_pfifo_fast 0: parent 1:1 " + kPfifoFast + "\n" +
                          "qdisc fq_codel 20: parent 1:2 obj " + library_object("fq_codel") + "\n" +
                          "qdisc native_pfifo_fast 0: parent 1:3 " + kPfifoFast + "\n" +
                          "qdisc native_pfifo_fast 0: parent 1:4 " + kPfifoFast + "\n");
  const Outcome c = run_bpfq("-b " + path + " class show dev eth0");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(c.output, "class mq 1:1 parent 1: leaf 0:\nclass mq 1:2 parent 1: leaf 20:\n"
                      "class mq 1:3 parent 1: leaf 0:\nclass mq 1:4 parent 1: leaf 0:\n");
  const Outcome p = run_bpfq("-b " + write_temp("mqprio.tc",
                                                "link add dev eth1 numtxqueues 4\n"
                                                "qdisc add dev eth1 root handle 1: mqprio num_tc 2 map 0 0 1 1 "
                                                "queues 2@0 2@2 hw 0\n") +
                             " qdisc show dev eth1");
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_TRUE(contains(p.output, "qdisc mqprio 1: root tc 2 map 0 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0 queues:(0:1) (2:3)\n"))
      << p.output;
}

// "enqueued B bytes N pkt" of each block of -s output, in order.
std::vector<unsigned long long> enqueued_packets(const std::string& text) {
  std::vector<unsigned long long> out;
  for (size_t at = 0; (at = text.find(" enqueued ", at)) != std::string::npos; ++at) {
    unsigned long long n = 0;
    if (std::sscanf(text.c_str() + at, " enqueued %*u bytes %llu pkt", &n) == 1) out.push_back(n);
  }
  return out;
}

TEST(CliMq, SimRunsTheSetupAndTheRootIsTheSumOfItsQueues) {
  const std::string path = write_temp("mq_sim.tc", kSetup);
  const Outcome o = run_bpfq("-s sim --duration 2 --setup " + path);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "setup " + path + " (dev eth0, 10 Mbit/s, at 2.000 s):\nqdisc mq 1: root\n")) << o.output;
  const std::vector<unsigned long long> n = enqueued_packets(o.output);
  ASSERT_EQ(n.size(), 9u) << o.output;  // the root, 4 queues' qdiscs, 4 classes
  EXPECT_GT(n[0], 1000u);
  EXPECT_EQ(n[0], n[1] + n[2] + n[3] + n[4]) << o.output;
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(n[i], n[4 + i]) << "class 1:" << i << " is its qdisc";
  EXPECT_EQ(run_bpfq("-s sim --duration 2 --setup " + path).output, o.output);  // deterministic
}

TEST(CliMq, ARefusedLineNamesFileLineAndReason) {
  const std::string text = "qdisc add dev eth0 root handle 1: mq\n";
  const std::string path = write_temp("mq_bad.tc", text);
  const Outcome o = run_bpfq("-b " + path);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "bpfq: error: " + path +
                                     ":1: mq needs a device with several TX queues; eth0 has 1 (hint: declare the "
                                     "device first: link add dev eth0 numtxqueues 4)"))
      << o.output;
}

}  // namespace
}  // namespace bpfq::test
