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

#include <random>

#include "diff_test_util.hpp"

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

  // n source ports: distinct ns-3 buckets, and flow k's bpfq bucket in the k-th n-th of the range.
  std::vector<uint16_t> pick_ports(size_t n) {
    std::vector<uint16_t> ports;
    std::vector<uint32_t> ns3_buckets;
    for (size_t k = 0; k < n; ++k) {
      for (uint16_t port = 1000;; ++port) {
        PacketSpec spec;
        spec.sport = port;
        sched::Packet* pkt = build_packet(pool, spec);
        uint32_t bucket = static_cast<uint32_t>((uint64_t{pkt->get_hash()} * kFlows) >> 32);
        sched::PacketPool::release(pkt);
        uint32_t ns3_bucket = ns3_flow_hash(spec, 0) % kFlows;
        bool in_slice = bucket >= k * kFlows / n && bucket < (k + 1) * kFlows / n;
        if (in_slice && std::find(ns3_buckets.begin(), ns3_buckets.end(), ns3_bucket) == ns3_buckets.end()) {
          ports.push_back(port);
          ns3_buckets.push_back(ns3_bucket);
          break;
        }
      }
    }
    return ports;
  }
};

// The first `heavy` flows share heavy arrivals (faster than the dequeues, from the start); the
// rest are sparse and start once the heavy ones have used their first quantum (so they sit in
// the old list from then on).
Script heavy_and_sparse(uint64_t seed, const std::vector<uint16_t>& ports, uint32_t packets, bool ect,
                        size_t heavy = 1) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  std::vector<Op> ops;
  uint32_t id = 0;
  auto arrival = [&](uint64_t t, uint16_t port, uint32_t len) {
    PacketSpec p;
    p.id = ++id;
    p.sport = port;
    p.frame_len = len;
    if (ect) p.ecn = uniform(0, 3) == 0 ? 0 : 2;  // mostly ECT(0), some Not-ECT
    ops.push_back(Op{t, Op::Kind::Enqueue, p});
  };
  uint64_t t = 1000 * kUnit;
  for (uint32_t i = 0; i < packets; ++i) {
    // The heavy flows start with a burst, so none of them runs empty while the old list is
    // empty (ns-3 then moves it to the old list, Linux drops it from the lists; see the docs).
    if (i >= 8 * heavy) t += uniform(40, 110) * kUnit;
    arrival(t, ports[i % heavy], static_cast<uint32_t>(uniform(500, 1514)));
  }
  const uint64_t end = t;
  for (size_t f = heavy; f < ports.size(); ++f) {
    for (uint64_t ts = (8000 + 100 * f) * kUnit; ts < end; ts += uniform(500, 4000) * kUnit)
      arrival(ts, ports[f], static_cast<uint32_t>(uniform(64, 300)));
  }
  for (uint64_t td = 1050 * kUnit; td < end + 400 * 100 * kUnit; td += 100 * kUnit)
    ops.push_back(Op{td, Op::Kind::Dequeue, {}});
  // Time order; at equal times arrivals first (stable sort keeps the order they were made in,
  // and both players run equal-time ops in script order).
  std::stable_sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) {
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return a.kind == Op::Kind::Enqueue && b.kind != Op::Kind::Enqueue;
  });
  return ops;
}

// Two heavy flows share the backlog: ns-3 gives each flow's CoDel child the qdisc's MaxSize, so a
// flow holding `limit` packets alone has its arrival dropped by the child, where Linux drops a
// batch from the fattest flow's head. With two heavy flows no flow reaches `limit` alone.
TEST_F(FqCodelDiff, DrrOrderAndOverlimitDropsFromTheFattestFlow) {
  std::vector<uint16_t> ports = pick_ports(5);
  for (uint64_t seed : {61, 62, 63}) {
    FqCodelParams p;
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/drr/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, 600, false, 2), ns3_spec(p));
    EXPECT_GT(t.totals.dropped, 0u) << "the heavy flows must overflow the limit";
  }
}

TEST_F(FqCodelDiff, CodelDropsInTheHeavyFlow) {
  std::vector<uint16_t> ports = pick_ports(4);
  for (uint64_t seed : {71, 72, 73}) {
    FqCodelParams p;
    p.limit = 1000;        // no overlimit drops: every drop is CoDel's
    p.target = 4882 * kUnit;
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/codel/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, 1500, false), ns3_spec(p));
    EXPECT_GT(t.totals.dropped, 0u) << "CoDel must have dropped";
  }
}

TEST_F(FqCodelDiff, CeThresholdMarksTheSamePackets) {
  std::vector<uint16_t> ports = pick_ports(4);
  for (uint64_t seed : {81, 82}) {
    FqCodelParams p;
    p.limit = 1000;
    p.ecn = true;
    p.ce_threshold = 2000 * kUnit;  // ~2 ms of sojourn
    auto q = make(p);
    Trace t = expect_agreement("fq_codel/ce/seed" + std::to_string(seed), *q,
                               heavy_and_sparse(seed, ports, 800, true), ns3_spec(p));
    EXPECT_GT(t.marked(), 0u) << "packets must have been CE-marked";
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
