// COBALT, cake's AQM, against ns-3's CobaltQueueDisc (a port of sch_cake.c's cobalt_* functions):
// which packets cake drops or marks at dequeue, in order.
//
// cake becomes a single COBALT queue with `besteffort` (one tin), `flowblind` (one flow) and no
// bandwidth (no shaper; Linux then sets mtu_time to 0, so over_target is sojourn > target, and
// the interval to rtt). ns-3 works in nanoseconds as Linux does, so times need no units.
//
// Where the two part, and why these regimes avoid it (bpfq follows Linux's sch_cake.c):
//  - BLUE: its drop probability rises on overflow (both) and, in ns-3 only, while sojourn exceeds
//    BlueThreshold (400 ms); once it is above 0 each side draws its own random numbers. Neither
//    overflows here, and sojourns stay below 400 ms (asserted).
//  - The last packet: cake never drops the last packet of a flow (it sends it, marked or not);
//    ns-3 drops it. Without ECN the scripts keep a standing queue until they end; with ECN
//    COBALT marks instead of dropping, and the queue may empty.
//  - An empty queue: ns-3 runs CobaltQueueEmpty (count decay, dropping off) on every dequeue of
//    an empty queue; cake only when it finds the flow empty while other packets are queued,
//    never with one flow. The decay is the same loop cake's next cobalt_should_drop runs, and
//    dropping ends on both sides when the next packet's sojourn is below target, which it is
//    when the dequeue period is below target.
//  - The first dropping episode: Linux's cobalt_vars_init zeroes rec_inv_sqrt, so its first
//    drop_next is the moment sojourn first exceeds target and the next packet over target is
//    dropped; ns-3 starts at ~0 (a whole interval later, as every later episode on both sides).
//    Each script therefore begins with a warm-up that leaves both in the same state without a
//    drop: one packet over target, then one below it an interval later (Linux's decay loop sets
//    rec_inv_sqrt to ~0 there, and ns-3's own count decays to 0 at the same packet).
//  - ECN: Linux marks ECT(0) and ECT(1) but drops a packet already CE; ns-3 "marks" CE too. The
//    ECN scripts send ECT(0) only.
#include <gtest/gtest.h>

#include <map>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kTarget = 5 * kMs;
constexpr uint64_t kInterval = 100 * kMs;
constexpr uint64_t kBlueThreshold = 400 * kMs;

class CobaltDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(bool ecn) {
    return open_program("cake", [&](runtime::Object& o) {
      o.set_global("diffserv", uint32_t{3});  // besteffort
      o.set_global("flowmode", uint32_t{0});  // flowblind
      o.set_global("target", kTarget);
      o.set_global("rtt", kInterval);
      o.set_global("ecn", uint32_t{ecn});
    });
  }
  static Ns3QdiscSpec ns3_spec(bool ecn) {
    return ns3_qdisc("ns3::CobaltQueueDisc", {{"MaxSize", "10000p"},
                                              {"Target", std::to_string(kTarget) + "ns"},
                                              {"Interval", std::to_string(kInterval) + "ns"},
                                              {"UseEcn", ecn ? "true" : "false"}});
  }
};

// The warm-up (see the header), then script 200 ms later.
constexpr uint64_t kScriptStart = 200 * kMs;
Script with_warmup(const Script& script) {
  Script s;
  PacketSpec p;
  p.frame_len = 1000;
  p.id = 900001;
  enqueue_at(s, 1 * kMs, p);
  dequeue_at(s, 1 * kMs + kTarget + kMs);  // over target: dropping, count 1
  p.id = 900002;
  enqueue_at(s, 1 * kMs + kTarget + kMs + kInterval, p);
  dequeue_at(s, 1 * kMs + kTarget + kMs + kInterval + 100'000);  // below target: count decays to 0
  for (Op op : script) {
    op.time_ns += kScriptStart;
    s.push_back(op);
  }
  return s;
}

// The longest time a sent packet spent queued in t.
uint64_t max_sojourn(const Trace& t) {
  uint64_t longest = 0;
  std::map<uint32_t, uint64_t> accepted_at;
  for (const Event& e : t.events) {
    if (e.kind == Event::Kind::Accepted) accepted_at[e.id] = e.time_ns;
    if (e.kind == Event::Kind::Sent) longest = std::max(longest, e.time_ns - accepted_at.at(e.id));
  }
  return longest;
}

// One sender faster than the dequeue rate; the script ends with the last arrival, while the
// standing queue is still there.
Script overload(uint32_t packets, uint64_t arrival_gap, uint64_t dequeue_gap, uint8_t ecn) {
  PacketSpec pkt;
  pkt.frame_len = 1000;
  pkt.ecn = ecn;
  return overload_script(pkt, packets, kMs, arrival_gap, dequeue_gap, 0);
}

TEST_F(CobaltDiff, StandingQueueIsDroppedOnTheSameSchedule) {
  for (const auto& [arrival_us, dequeue_us] : {std::pair{800, 1000}, std::pair{900, 1000}, std::pair{700, 1000}}) {
    const std::string label = "cobalt/drop/arrive" + std::to_string(arrival_us) + "us";
    auto q = make(false);
    Trace t = expect_agreement(label, *q, with_warmup(overload(1500, arrival_us * 1000u, dequeue_us * 1000u, 0)),
                               ns3_spec(false));
    EXPECT_GT(t.totals.dropped, 20u) << label << ": COBALT must have dropped";
    EXPECT_GT(t.totals.queued_packets, 1u) << label << ": the script ends with a standing queue";
    EXPECT_LT(max_sojourn(t), kBlueThreshold) << label << ": ns-3's BLUE would start";
  }
}

TEST_F(CobaltDiff, StandingQueueIsMarkedOnTheSameSchedule) {
  auto q = make(true);
  Trace t = expect_agreement("cobalt/mark", *q, with_warmup(overload(1500, 800'000, 1'000'000, 2)), ns3_spec(true));
  EXPECT_EQ(t.totals.dropped, 0u) << "ECT(0) packets are marked, not dropped";
  EXPECT_GT(t.marked(), 20u);
}

TEST_F(CobaltDiff, RandomBurstsOfEctPacketsAreMarkedAlike) {
  for (uint64_t seed : {61, 62, 63, 64}) {
    RandomScriptConfig cfg;
    cfg.seed = seed;
    cfg.packets = 3000;
    cfg.mean_gap_ns = 550'000;  // bursts at 1.8 times the dequeue rate, 1.1 ms a packet on average
    cfg.max_burst = 60;
    cfg.dequeue_gap_ns = 1 * kMs;  // below target: see the header
    Script s = random_script(cfg);
    for (Op& op : s) op.pkt.ecn = 2;
    s = with_warmup(s);
    auto q = make(true);
    const std::string label = "cobalt/random/seed" + std::to_string(seed);
    Trace t = expect_agreement(label, *q, s, ns3_spec(true));
    EXPECT_EQ(t.totals.dropped, 0u) << label;
    EXPECT_GT(t.marked(), 0u) << label << ": the bursts must outgrow the target";
    EXPECT_LT(max_sojourn(t), kBlueThreshold) << label;
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
