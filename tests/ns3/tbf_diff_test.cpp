// tbf against ns-3's TbfQueueDisc: departure times of a shaped queue.
//
// The device is always ready (Run ops after every arrival; a throttled qdisc runs again when its
// watchdog fires, ns-3's TBF timer or bpfq's THROTTLE delay), so each Sent event's time is when
// the token bucket let the packet go.
//
// Units: Linux (and progs/tbf.bpf.c) counts tokens in nanoseconds, ns-3 in bytes, rounding
// delta * rate to whole bytes at every dequeue. With rate 1 000 000 B/s one byte is exactly
// 1000 ns, and every script time is a multiple of 1 us, so both buckets hold the same credit at
// every instant and the comparison is exact. Peak rate is not compared: its wake-ups land
// between whole bytes of the rate bucket, where ns-3's per-dequeue rounding and Linux's
// nanosecond credit legitimately differ. Packets never exceed the burst (Linux drops them at
// enqueue; ns-3 would keep one blocked forever).
#include <gtest/gtest.h>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

class TbfDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(uint32_t burst, uint32_t limit) {
    return open_program("tbf", [&](runtime::Object& o) {
      o.set_global("rate", uint64_t{1'000'000});
      o.set_global("burst", burst);
      o.set_global("limit", limit);
    });
  }
  static Ns3QdiscSpec ns3_spec(uint32_t burst, uint32_t limit) {
    return ns3_qdisc("ns3::TbfQueueDisc", {{"Rate", "8000000bps"},
                                           {"Burst", std::to_string(burst)},
                                           {"MaxSize", std::to_string(limit) + "B"}});
  }
};

PacketSpec sized(uint32_t id, uint32_t len) {
  PacketSpec p;
  p.id = id;
  p.frame_len = len;
  return p;
}

TEST_F(TbfDiff, BurstLeavesAtOnceThenTheRatePacesTheRest) {
  auto q = make(2000, 10'000);
  Script s;
  for (uint32_t id = 1; id <= 4; ++id) {
    enqueue_at(s, 1'000'000, sized(id, 1000));
    run_at(s, 1'000'000);
  }
  Trace t = expect_agreement("tbf/hand", *q, s, ns3_spec(2000, 10'000));
  // Full bucket 2000 B: #1 and #2 leave at 1 ms; then 1000 B take 1 ms each at 1 MB/s.
  std::vector<Event> sent;
  for (const Event& e : t.events)
    if (e.kind == Event::Kind::Sent) sent.push_back(e);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].time_ns, 1'000'000u);
  EXPECT_EQ(sent[1].time_ns, 1'000'000u);
  EXPECT_EQ(sent[2].time_ns, 2'000'000u);
  EXPECT_EQ(sent[3].time_ns, 3'000'000u);
}

TEST_F(TbfDiff, RandomBurstsAgreeOnDepartureTimes) {
  for (uint64_t seed : {41, 42, 43}) {
    auto q = make(3000, 12'000);
    RandomScriptConfig cfg;
    cfg.seed = seed;
    cfg.packets = 400;
    cfg.flow_ports = {1000, 1001};
    cfg.max_len = 1514;
    cfg.mean_gap_ns = 400'000;  // ~0.8 MB/s offered on average, in bursts above the rate
    cfg.dequeue_gap_ns = 0;
    cfg.run_after_enqueue = true;
    cfg.time_unit_ns = 1000;
    Trace t = expect_agreement("tbf/seed" + std::to_string(seed), *q, random_script(cfg), ns3_spec(3000, 12'000));
    EXPECT_GT(count_events(t, Event::Kind::Dropped), 0u) << "bursts must overflow the byte limit";
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
