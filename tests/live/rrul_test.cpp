// `bpfq rrul` end to end: it builds its own testbed, runs bpfq live with fq_codel both ways,
// TCP up and down and pings, and reports them; a setup bpfq live refuses is a clear error; the
// testbed is gone afterwards either way. Skipped by name where root or the tools are missing.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "live/live_topology.hpp"

namespace bpfq::test {
namespace {

const std::string kBpfq = std::string(BPFQ_BINARY_DIR) + "/bpfq";

struct Command {
  int rc = -1;
  std::string out;
};

Command run(const std::string& args) {
  Command c;
  FILE* p = popen((kBpfq + " " + args + " 2>&1").c_str(), "r");
  if (!p) return c;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) c.out.append(buf, n);
  const int st = pclose(p);
  c.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return c;
}

// No namespace of a testbed left behind.
bool testbed_gone() {
  Command c;
  FILE* p = popen("ip netns list", "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) c.out.append(buf, n);
  pclose(p);
  return c.out.find("bpfq-rrul-") == std::string::npos;
}

class Rrul : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = live_unavailable()) GTEST_SKIP() << *why;
  }
};

TEST_F(Rrul, FqCodelBothWaysReportsGoodputLatencyAndConservation) {
  const std::string plot = "/tmp/bpfq-rrul-test-" + std::to_string(getpid()) + ".svg";
  const Command c = run("rrul --qdisc fq_codel --rate 50mbit --up 2 --down 2 --idle 1 --load 6 --plot " + plot + " -j");
  ASSERT_EQ(c.rc, 0) << c.out;
  const nlohmann::json j = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << c.out;
  EXPECT_EQ(j["setup"], "fq_codel at 50mbit");
  ASSERT_EQ(j["flows"].size(), 4u);
  const size_t samples = j["time_s"].size();
  EXPECT_GE(samples, 10u) << "0.5 s samples over 6 s of load";
  for (const auto& f : j["flows"]) EXPECT_EQ(f["mbps"].size(), samples) << f.dump();
  EXPECT_EQ(j["flows"][0]["name"], "up 1");
  EXPECT_EQ(j["flows"][3]["name"], "down 2");
  // Both directions carry TCP through bpfq's fq_codel at about the line rate (payload of
  // 1448 in 1514 bytes: 47.8 Mbit/s at most), and the ping keeps a short queue.
  EXPECT_GE(j["goodput_mbps"]["up"].get<double>(), 35.0) << c.out.substr(0, 2000);
  EXPECT_GE(j["goodput_mbps"]["down"].get<double>(), 35.0) << c.out.substr(0, 2000);
  EXPECT_GE(j["ping"]["idle"]["replies"].get<size_t>(), 5u);
  EXPECT_GE(j["ping"]["loaded"]["replies"].get<size_t>(), 30u);
  EXPECT_LE(j["ping"]["loaded"]["p99_ms"].get<double>(), 30.0);
  EXPECT_TRUE(j["live"]["conserved"].get<bool>()) << j["live"].dump();
  EXPECT_TRUE(j["live"]["health"]["clean"].get<bool>()) << j["live"].dump();
  std::ifstream svg(plot);
  std::stringstream text;
  text << svg.rdbuf();
  EXPECT_NE(text.str().find("<title>down 2</title>"), std::string::npos);
  std::remove(plot.c_str());
  EXPECT_TRUE(testbed_gone());
  std::printf("rrul fq_codel 50mbit: up %.1f down %.1f Mbit/s, ping idle p50 %.2f ms, loaded p50 %.2f p99 %.2f ms\n",
              j["goodput_mbps"]["up"].get<double>(), j["goodput_mbps"]["down"].get<double>(),
              j["ping"]["idle"]["p50_ms"].get<double>(), j["ping"]["loaded"]["p50_ms"].get<double>(),
              j["ping"]["loaded"]["p99_ms"].get<double>());
}

TEST_F(Rrul, ASetupBpfqLiveRefusesIsAClearError) {
  const Command c = run("rrul --qdisc 'nosuchqdisc' --load 2");
  EXPECT_EQ(c.rc, 1) << c.out;
  EXPECT_EQ(c.out.rfind("bpfq: error: bpfq rrul: bpfq live ended before the test: ", 0), 0u) << c.out;
  EXPECT_NE(c.out.find("nosuchqdisc"), std::string::npos) << c.out;
  EXPECT_TRUE(testbed_gone());
}

TEST_F(Rrul, BadOptionsAreRefusedBeforeAnythingIsBuilt) {
  const Command c = run("rrul --up 0 --down 0");
  EXPECT_EQ(c.rc, 1) << c.out;
  EXPECT_EQ(c.out, "bpfq: error: bpfq rrul: --up 0 --down 0: no flows, or more than 64 one way (hint: run 1 to 64 flows each "
                   "way (RRUL: 4 and 4))\n");
}

}  // namespace
}  // namespace bpfq::test
