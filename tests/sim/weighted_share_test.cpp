// What STFQ and WF2Q+ are for, in the simulator: two UDP flows that each offer more than their
// share, weighted 1 and 3 through the programs' flow_weight map (keyed by skb->priority, set
// from the scenario's `priority`), share 10 Mbit/s 1 : 3 within 2 %. The queue is long enough
// that nothing is dropped in the run: with a shared tail-drop buffer, which flow's arrival takes
// a freed place decides the shares instead of the scheduler.
#include <gtest/gtest.h>

#include <string>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>

namespace bpfq::io::sim {
namespace {

class WeightedShare : public ::testing::TestWithParam<std::string> {};

TEST_P(WeightedShare, TwoFlowsWeighted1And3Share1To3) {
  Scenario s;
  s.rate_bps = 10'000'000;
  s.duration_ns = 5 * kSecond;
  // Shares 2.5 and 7.5 Mbit/s; offered 5 and 15: both stay backlogged, about 6000 packets
  // queued at the end.
  for (auto [priority, rate] : {std::pair<uint32_t, uint64_t>{1, 5'000'000}, {2, 15'000'000}}) {
    UdpFlowSpec f;
    f.name = "prio" + std::to_string(priority);
    f.rate_bps = rate;
    f.priority = priority;
    s.udp.push_back(f);
  }
  Simulation sim(s);
  auto q = sched::BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/" + GetParam() + ".bpf.o",
                                 sched::Handle::make(1, 0), sched::BpfQdiscEnv{&sim.pool(), &sim.clock()});
  for (auto [priority, weight] : {std::pair<uint32_t, uint32_t>{1, 1}, {2, 3}})
    ASSERT_EQ(q->object().map("flow_weight").update(&priority, &weight, 0), 0);
  q->object().set_global("limit", uint32_t{10000});
  q->init();
  const Report r = sim.run(*q);
  ASSERT_TRUE(r.qdisc.conserved);
  EXPECT_EQ(r.qdisc.stats.dropped - r.qdisc.stats.drops(sched::DropReason::Reset), 0u);
  ASSERT_EQ(r.flows.size(), 2u);
  const double light = r.flows[0].goodput_bps, heavy = r.flows[1].goodput_bps;
  EXPECT_NEAR(heavy / light, 3.0, 3.0 * 0.02) << GetParam() << ": " << light / 1e6 << " and " << heavy / 1e6 << " Mbit/s";
  EXPECT_GT(light + heavy, 0.9 * 10e6 * 1000 / 1042) << "the link stays full";
}

INSTANTIATE_TEST_SUITE_P(Library, WeightedShare, ::testing::Values("stfq", "wf2q"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace bpfq::io::sim
