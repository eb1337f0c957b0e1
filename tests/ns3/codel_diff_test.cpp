// codel against ns-3's CoDelQueueDisc (a port of Linux's codel.h): which head packets CoDel
// drops at dequeue, in order, under a standing queue.
//
// Units: Linux and ns-3 keep CoDel time in 1024 ns units (u32), progs/codel.bpf.c in ns. They
// agree exactly when every script time is a multiple of 1024 ns, target and interval are whole
// units (ns-3 truncates to units), and the interval is a multiple of 2^16 units: the control
// law step (interval * (rec_inv_sqrt << 16)) >> 32 then has no fraction of a unit to lose, so
// bpfq's nanosecond drop schedule is exactly 1024 times ns-3's. (With Linux's 100 ms the two
// schedules drift apart by under a microsecond per drop, which a dequeue tick can straddle.)
// Target 4882 units (4 999 168 ns, Linux's 5 ms in units); interval 131072 units
// (134 217 728 ns).
//
// Backlog floor: Linux never drops while the backlog left is <= mtu (bpfq `mtu` 1514); ns-3
// skips dropping while bytes < MinBytes, so ns-3 gets MinBytes 1515.
//
// ECN is not compared here: when ECN marks in the dropping state, Linux schedules the next
// mark from drop_next, ns-3 from now (CoDelQueueDisc::DoDequeue); bpfq follows Linux.
#include <gtest/gtest.h>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

constexpr uint64_t kUnit = 1024;
constexpr uint64_t kTarget = 4882 * kUnit;
constexpr uint64_t kInterval = 131072 * kUnit;

class CodelDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(uint32_t limit) {
    return open_program("codel", [&](runtime::Object& o) {
      o.set_global("limit", limit);
      o.set_global("target", kTarget);
      o.set_global("interval", kInterval);
      o.set_global("mtu", uint32_t{1514});
    });
  }
  static Ns3QdiscSpec ns3_spec(uint32_t limit) {
    return ns3_qdisc("ns3::CoDelQueueDisc", {{"MaxSize", std::to_string(limit) + "p"},
                                             {"Target", std::to_string(kTarget) + "ns"},
                                             {"Interval", std::to_string(kInterval) + "ns"},
                                             {"MinBytes", "1515"}});
  }
};

TEST_F(CodelDiff, StandingQueueIsDroppedOnTheSameSchedule) {
  auto q = make(1000);
  // Arrivals every 800 units, dequeues every 1000 units (both multiples of 1024 ns).
  // A sender at 1.25x the dequeue rate: the standing queue grows, CoDel starts dropping after an
  // interval above target and drops faster while the queue stays.
  PacketSpec pkt;
  pkt.frame_len = 1000;
  Script s = overload_script(pkt, 1500, 1'000 * kUnit, 800 * kUnit, 1000 * kUnit, 400);
  Trace t = expect_agreement("codel/overload", *q, s, ns3_spec(1000));
  EXPECT_GT(t.totals.dropped, 10u) << "CoDel must have dropped";
}

TEST_F(CodelDiff, RandomBurstsAgree) {
  for (uint64_t seed : {51, 52, 53}) {
    auto q = make(200);
    RandomScriptConfig cfg;
    cfg.seed = seed;
    cfg.packets = 2000;
    cfg.flow_ports = {1000, 1001};
    cfg.mean_gap_ns = 100 * kUnit;
    cfg.max_burst = 40;
    cfg.dequeue_gap_ns = 250 * kUnit;
    cfg.time_unit_ns = kUnit;
    Trace t = expect_agreement("codel/seed" + std::to_string(seed), *q, random_script(cfg), ns3_spec(200));
    EXPECT_GT(t.totals.dropped, 0u);
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
