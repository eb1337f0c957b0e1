// Simulator comparisons that show what a discipline is for, run as a user runs them
// (`bpfq sim --compare … -j`): the same scenario and seed through each qdisc.
#include <gtest/gtest.h>

#include <map>
#include <tuple>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/run_bpfq.hpp"

namespace bpfq::test {
namespace {

// Per qdisc of a --compare run: its report's first short-flow group.
std::map<std::string, nlohmann::json> short_flows_by_qdisc(const std::string& scenario, const std::string& qdiscs) {
  const Outcome o = run_bpfq("sim --scenario " + scenario + " --compare '" + qdiscs + "' -j", false);
  EXPECT_EQ(o.exit_code, 0) << o.output;
  std::map<std::string, nlohmann::json> by_qdisc;
  for (const nlohmann::json& run : nlohmann::json::parse(o.output)) {
    EXPECT_TRUE(run["health"]["clean"].get<bool>()) << run["health"].dump();
    by_qdisc[run["qdisc"].get<std::string>()] = run["report"]["short_flows"].at(0);
  }
  return by_qdisc;
}

// pFabric's claim on a web-like mix (Pareto sizes, mean 50 KB, 4 per second) sharing 10 Mbit/s
// with two bulk flows: least attained service finishes short flows sooner than fq_codel, which
// finishes them far sooner than a 1000-packet FIFO.
TEST(SimPurpose, LeastAttainedServiceCutsShortFlowCompletionTimes) {
  const std::string scenario = write_temp("webmix.toml", R"(name = "webmix"
duration = "20s"
[link]
rate = "10mbit"
rtt = "20ms"
[[tcp]]
name = "bulk"
count = 2
[[short_flows]]
rate = 4
size = { dist = "pareto", mean = "50KB", shape = 1.2, max = "2MB" }
)");
  auto s = short_flows_by_qdisc(scenario, "pfifo,fq_codel,srpt mode 1");
  ASSERT_EQ(s.size(), 3u);
  const double pfifo = s["pfifo"]["fct"]["mean_ms"], fq_codel = s["fq_codel"]["fct"]["mean_ms"],
               las = s["srpt mode 1"]["fct"]["mean_ms"];
  EXPECT_LT(las, 0.7 * fq_codel) << "mean FCT: LAS " << las << " ms, fq_codel " << fq_codel << " ms";
  EXPECT_LT(fq_codel, 0.2 * pfifo) << "mean FCT: fq_codel " << fq_codel << " ms, pfifo " << pfifo << " ms";
  EXPECT_LT(s["srpt mode 1"]["fct"]["p50_ms"].get<double>(), s["fq_codel"]["fct"]["p50_ms"].get<double>());
  EXPECT_GE(s["srpt mode 1"]["completed"].get<int>(), s["pfifo"]["completed"].get<int>());
}

// Goodput (Mbit/s) of each flow of the one run of `bpfq sim --setup … --scenario … -j`.
std::map<std::string, double> goodput_by_flow(const std::string& args) {
  const Outcome o = run_bpfq("sim " + args + " -j", false);
  EXPECT_EQ(o.exit_code, 0) << o.output;
  std::map<std::string, double> by_flow;
  const nlohmann::json runs = nlohmann::json::parse(o.output);
  EXPECT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs.at(0)["health"]["clean"].get<bool>());
  for (const nlohmann::json& f : runs.at(0)["report"]["flows"]) by_flow[f["name"]] = f["goodput_mbps"];
  return by_flow;
}

// The promise of a classful discipline's example (docs/qdiscs/NAME/NAME.tc): EF alone
// (alone.toml) gets `alone` Mbit/s; beside best effort (both.toml) EF gets `ef` and best effort
// `be`, each within 2 %. UDP goodput counts the 958 payload bytes of each 1000-byte frame.
void expect_ef_and_best_effort(const std::string& name, double alone, double ef, double be) {
  const std::string dir = std::string(BPFQ_SOURCE_DIR) + "/docs/qdiscs/" + name + "/";
  const double payload = 958.0 / 1000.0;
  const auto one = goodput_by_flow("--setup " + dir + name + ".tc --scenario " + dir + "alone.toml");
  EXPECT_NEAR(one.at("ef"), alone * payload, alone * payload * 0.02) << name << ": EF alone";
  const auto both = goodput_by_flow("--setup " + dir + name + ".tc --scenario " + dir + "both.toml");
  EXPECT_NEAR(both.at("ef"), ef * payload, ef * payload * 0.02) << name << ": EF beside best effort";
  EXPECT_NEAR(both.at("be"), be * payload, be * payload * 0.02) << name << ": best effort beside EF";
}

// htb's promise (docs/qdiscs/htb/): under a 100mbit parent, 1:10 (EF) is guaranteed 30mbit and
// 1:20 70mbit, each may borrow up to 100mbit (its ceil) when the other is idle.
TEST(SimPurpose, HtbClassesShareByRateAndBorrowUpToTheirCeil) { expect_ef_and_best_effort("htb", 100, 30, 70); }

// hfsc's promise (docs/qdiscs/hfsc/): under 1:1's upper limit of 100mbit, 1:10 (EF, sc 30mbit)
// and 1:20 (ls 70mbit) share by their curves when both are backlogged; alone, EF takes the whole
// 100mbit (link-sharing is work-conserving up to the upper limit).
TEST(SimPurpose, HfscClassesShareByTheirCurvesUpToTheUpperLimit) { expect_ef_and_best_effort("hfsc", 100, 30, 70); }

// The one run of `bpfq sim ARGS -j`: its report.
nlohmann::json one_report(const std::string& args) {
  const Outcome o = run_bpfq("sim " + args + " -j", false);
  EXPECT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json runs = nlohmann::json::parse(o.output);
  EXPECT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs.at(0)["health"]["clean"].get<bool>()) << runs.at(0)["health"].dump();
  return runs.at(0)["report"];
}

// cake's promise (docs/qdiscs/cake/): on a 20mbit bottleneck, host A's four TCP flows together and
// host B's one share about evenly under dual-srchost (cake.tc names the hosts with filters), where
// fq_codel, fair per flow, gives B a fifth; and a ping beside them sees almost no queueing delay,
// where a 1000-packet FIFO adds ten times the base RTT.
TEST(SimPurpose, CakeSharesTheLinkByHostAndKeepsLatencyLow) {
  const std::string dir = std::string(BPFQ_SOURCE_DIR) + "/docs/qdiscs/cake/";
  const std::string scenario = " --scenario " + dir + "hosts.toml";
  const auto shares = [](const nlohmann::json& report) {
    double a = 0, b = 0, ping_p50 = 0;
    for (const nlohmann::json& f : report["flows"]) {
      const std::string name = f["name"];
      if (name == "b") b = f["goodput_mbps"];
      else if (name == "ping") ping_p50 = f["rtt"]["p50_ms"];
      else a += f["goodput_mbps"].get<double>();
    }
    return std::tuple{a, b, ping_p50};
  };
  const auto [cake_a, cake_b, cake_ping] = shares(one_report("--setup " + dir + "cake.tc" + scenario));
  EXPECT_NEAR(cake_b / (cake_a + cake_b), 0.5, 0.06) << "cake: host A " << cake_a << ", host B " << cake_b << " Mbit/s";
  EXPECT_GT(cake_a + cake_b, 18.0);
  EXPECT_LT(cake_ping, 25.0) << "cake: ping RTT p50 (base 20 ms)";
  const auto [fq_a, fq_b, fq_ping] = shares(one_report("-q fq_codel" + scenario));
  EXPECT_NEAR(fq_b / (fq_a + fq_b), 0.2, 0.04) << "fq_codel: host A " << fq_a << ", host B " << fq_b << " Mbit/s";
  const auto [fifo_a, fifo_b, fifo_ping] = shares(one_report("-q pfifo" + scenario));
  EXPECT_GT(fifo_ping, 100.0) << "pfifo: ping RTT p50";
}

}  // namespace
}  // namespace bpfq::test
