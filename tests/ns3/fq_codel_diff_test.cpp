// fq_codel against ns-3's FqCoDelQueueDisc: DRR order over new and old flows, overlimit drops
// from the fattest flow, CoDel drops per flow and CE marks past ce_threshold.
//
// Flows: Linux and bpfq hash a packet into reciprocal_scale(skb hash, flows); ns-3 into
// Ipv4QueueDiscItem::Hash(perturbation) % Flows. The hashes differ, so the test picks source
// ports that (a) land in different buckets on each side and (b) number the flows the same way:
// ns-3 numbers flows in order of first arrival and, when two flows tie for the fattest, drops
// from the first created; Linux drops from the lowest bucket. Flow k's first packet arrives k-th
// and its bpfq bucket grows with k, so ties resolve alike. ns-3's set-associative hash stays off.
//
// Legitimate differences (bpfq follows Linux):
//  - A new flow found empty moves to the old list only if that list is non-empty, else it is
//    dropped from the lists (Linux fq_codel_dequeue); ns-3 always moves it to the old list, so a
//    packet arriving next finds it "old" instead of "new". The scripts keep one heavy flow
//    backlogged in the old list throughout, where both behave the same.
//  - CoDel's backlog floor: Linux compares the whole qdisc's backlog with mtu, ns-3 each flow's
//    bytes with MinBytes (1500). bpfq's mtu is set to 1499 (backlog <= 1499 <=> bytes < 1500);
//    the heavy flow holds most of the backlog, so both floors are passed together.
//  - ECN marking in CoDel's dropping state (see codel_diff_test.cpp); CE marks are compared
//    with CoDel idle (target far away) and ce_threshold doing the marking.
// Times are multiples of 1024 ns and target/interval whole CoDel units, as in codel_diff_test.
#include <gtest/gtest.h>

#include "diff_test_util.hpp"
#include "flow_scripts.hpp"

namespace bpfq::ns3diff::test {
namespace {

constexpr uint64_t kUnit = 1024;
constexpr uint32_t kFlows = 1024;
constexpr uint32_t kQuantum = 1514;

struct FqCodelParams {
  uint32_t limit = 30;
  uint64_t target = 10'000'000 * kUnit;  // ~10 s: CoDel stays idle
  uint64_t interval = 131072 * kUnit;
  uint64_t ce_threshold = 0;            // 0: off
  bool ecn = false;
};

class FqCodelDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(const FqCodelParams& p) {
    return open_program("fq_codel", [&](runtime::Object& o) {
      o.set_global("limit", p.limit);
      o.set_global("flows", kFlows);
      o.set_global("target", p.target);
      o.set_global("interval", p.interval);
      o.set_global("quantum", kQuantum);
      o.set_global("ecn", uint32_t{p.ecn});
      o.set_global("ce_threshold", p.ce_threshold);
      o.set_global("mtu", uint32_t{1499});
    });
  }
  static Ns3QdiscSpec ns3_spec(const FqCodelParams& p) {
    Ns3QdiscSpec spec = ns3_qdisc("ns3::FqCoDelQueueDisc",
                                  {{"MaxSize", std::to_string(p.limit) + "p"},
                                   {"Flows", std::to_string(kFlows)},
                                   {"Target", std::to_string(p.target) + "ns"},
                                   {"Interval", std::to_string(p.interval) + "ns"},
                                   {"UseEcn", p.ecn ? "true" : "false"},
                                   {"DropBatchSize", "64"},
                                   {"Perturbation", "0"}});
    if (p.ce_threshold) spec.attributes.push_back({"CeThreshold", std::to_string(p.ce_threshold) + "ns"});
    spec.fq_quantum = kQuantum;
    return spec;
  }

};

// Two heavy flows share the backlog: ns-3 gives each flow's CoDel child the qdisc's MaxSize, so a
// flow holding `limit` packets alone has its arrival dropped by the child, where Linux drops a
// batch from the fattest flow's head. With two heavy flows no flow reaches `limit` alone.
TEST_F(FqCodelDiff, DrrOrderAndOverlimitDropsFromTheFattestFlow) {
  std::vector<uint16_t> ports = pick_flow_ports(pool, kFlows, 5);
  for (uint64_t seed : {61, 62, 63}) {
    FqCodelParams p;
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/drr/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, kUnit, 600, false, 2), ns3_spec(p));
    EXPECT_GT(t.totals.dropped, 0u) << "the heavy flows must overflow the limit";
  }
}

TEST_F(FqCodelDiff, CodelDropsInTheHeavyFlow) {
  std::vector<uint16_t> ports = pick_flow_ports(pool, kFlows, 4);
  for (uint64_t seed : {71, 72, 73}) {
    FqCodelParams p;
    p.limit = 1000;        // no overlimit drops: every drop is CoDel's
    p.target = 4882 * kUnit;
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/codel/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, kUnit, 1500, false), ns3_spec(p));
    EXPECT_GT(t.totals.dropped, 0u) << "CoDel must have dropped";
  }
}

TEST_F(FqCodelDiff, CeThresholdMarksTheSamePackets) {
  std::vector<uint16_t> ports = pick_flow_ports(pool, kFlows, 4);
  for (uint64_t seed : {81, 82}) {
    FqCodelParams p;
    p.limit = 1000;
    p.ecn = true;
    p.ce_threshold = 2000 * kUnit;  // ~2 ms of sojourn
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/ce/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, kUnit, 800, true), ns3_spec(p));
    EXPECT_GT(t.marked(), 0u) << "packets must have been CE-marked";
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
