// fq_pie against ns-3's FqPieQueueDisc: the DRR order over new and old flows with heavy flows
// backlogged beside sparse ones, and every flow's PIE within its burst allowance.
//
// Flows are numbered alike on both sides by the source ports pick_flow_ports() finds (see
// fq_codel_diff_test.cpp: ns-3 hashes the item, Linux reciprocal-scales the skb hash).
//
// Where the two part, and why these regimes avoid it (bpfq follows Linux's sch_fq_pie.c):
//  - Overload: Linux drops the arriving packet once the qdisc holds `limit` packets; ns-3 takes
//    it and then drops up to 64 packets from the head of the fattest flow (fq_codel's way). The
//    limit here is never reached.
//  - Early drops: each flow's PIE draws a random number against its probability (ns-3: doubles
//    updated from time 0; Linux: fixed point from 500 ms after init). Both keep the probability
//    at 0 while a flow's 150 ms burst allowance lasts (ns-3 arms it at the flow's first arrival
//    and spends it per Tupdate; Linux starts with it and its first update is at 500 ms), so the
//    scripts end within 120 ms of the first arrival, however long the queues grow.
//  - An emptied new flow: ns-3 always moves it to the old list, Linux only when the old list is
//    not empty; the heavy flows keep the old list occupied throughout.
#include <gtest/gtest.h>

#include <map>

#include "diff_test_util.hpp"
#include "flow_scripts.hpp"

namespace bpfq::ns3diff::test {
namespace {

constexpr uint64_t kUnit = 1000;  // ns
constexpr uint32_t kFlows = 1024;
constexpr uint32_t kQuantum = 1514;
constexpr uint32_t kLimit = 10000;

class FqPieDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make() {
    return open_program("fq_pie", [&](runtime::Object& o) {
      o.set_global("limit", kLimit);
      o.set_global("flows", kFlows);
      o.set_global("quantum", kQuantum);
    });
  }
  // ns-3's PIE defaults are Linux's (target 15 ms, Tupdate 15 ms, alpha 0.125, beta 1.25, 150 ms
  // of burst allowance, timestamps); its timers never stop, so the run stops after the script.
  static Ns3QdiscSpec ns3_spec(const Script& s) {
    Ns3QdiscSpec spec = ns3_qdisc("ns3::FqPieQueueDisc", {{"MaxSize", std::to_string(kLimit) + "p"},
                                                          {"Flows", std::to_string(kFlows)},
                                                          {"Perturbation", "0"}});
    spec.fq_quantum = kQuantum;
    spec.stop_ns = s.back().time_ns + 1;
    return spec;
  }
};

TEST_F(FqPieDiff, DrrOrderOfHeavyAndSparseFlowsWithinTheBurstAllowance) {
  for (size_t heavy : {1, 2}) {
    const std::vector<uint16_t> ports = pick_flow_ports(pool, kFlows, 5);
    for (uint64_t seed : {91, 92, 93}) {
      const Script s = heavy_and_sparse(seed, ports, kUnit, 700, false, heavy);
      ASSERT_LT(s.back().time_ns - s.front().time_ns, 120'000'000u) << "the script must end within the burst allowance";
      auto q = make();
      const std::string label = "fq_pie/heavy" + std::to_string(heavy) + "/seed" + std::to_string(seed);
      Trace t = expect_agreement(label, *q, s, ns3_spec(s));
      EXPECT_EQ(t.totals.dropped, 0u) << label;
      // The heavy flows' queues grow past PIE's target: only the allowance keeps them undropped.
      uint64_t max_sojourn = 0;
      std::map<uint32_t, uint64_t> accepted_at;
      for (const Event& e : t.events) {
        if (e.kind == Event::Kind::Accepted) accepted_at[e.id] = e.time_ns;
        if (e.kind == Event::Kind::Sent) max_sojourn = std::max(max_sojourn, e.time_ns - accepted_at.at(e.id));
      }
      EXPECT_GT(max_sojourn, 15'000'000u) << label << ": the queues must outgrow PIE's target";
      EXPECT_GT(count_events(t, Event::Kind::Sent), 600u) << label;
    }
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
