// pfifo_fast and prio against ns-3's PfifoFastQueueDisc and PrioQueueDisc.
//
// Band choice: Linux picks the band from skb->priority through the priomap
// 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1; ns-3 (3.37) takes the priority from the packet's
// SocketPriorityTag through the same priomap. Each script packet carries the priority Linux's
// rt_tos2priority() gives its TOS (what a local socket gets for IP_TOS), as skb->priority on the
// bpfq side and as the tag on the ns-3 side.
//
// Limits: Linux (since 4.16) limits every pfifo_fast band to tx_queue_len packets, ns-3 puts one
// limit on the sum of the bands. The oracle gives ns-3 three DropTail bands of `limit` packets
// and a queue-disc limit of 3 * limit, so the bands overflow one by one as in Linux (ns-3's
// CheckConfig frowns on bands smaller than the queue disc; the release build only logs it).
#include <gtest/gtest.h>

#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

PacketSpec tos_packet(uint32_t id, uint8_t dscp, uint32_t len = 100) {
  PacketSpec p;
  p.id = id;
  p.frame_len = len;
  p.dscp = dscp;
  p.priority = tos_to_priority(p.tos());
  return p;
}

// TOS 0x00 -> priority 0 -> band 1; TOS 0x10 (dscp 4, low delay) -> 6 -> band 0;
// TOS 0x08 (dscp 2, throughput) -> 2 -> band 2; TOS 0x18 (dscp 6) -> 4 -> band 1.
Script band_script() {
  Script s;
  enqueue_at(s, 1'000'000, tos_packet(1, 0));  // band 1
  enqueue_at(s, 1'010'000, tos_packet(2, 4));  // band 0
  enqueue_at(s, 1'020'000, tos_packet(3, 2));  // band 2
  enqueue_at(s, 1'030'000, tos_packet(4, 6));  // band 1 (now full at limit 2)
  enqueue_at(s, 1'040'000, tos_packet(5, 0));  // band 1 full: dropped
  enqueue_at(s, 1'050'000, tos_packet(6, 4));  // band 0
  enqueue_at(s, 1'060'000, tos_packet(7, 4));  // band 0 full: dropped
  for (int i = 0; i < 6; ++i) dequeue_at(s, 2'000'000 + i * 10'000);
  return s;
}
const std::vector<uint32_t> kBandOrder = {2, 6, 1, 4, 3};  // band 0, then 1, then 2

// 500 packets of three flows with random TOS values: every band sees traffic.
Script tos_mix_script(uint64_t seed) {
  RandomScriptConfig cfg;
  cfg.seed = seed;
  cfg.packets = 500;
  cfg.flow_ports = {1000, 1001, 1002};
  cfg.dscp_mix = true;
  return random_script(cfg);
}

class PfifoFastDiff : public ::testing::TestWithParam<const char*>, public DiffFixture {
 protected:
  std::unique_ptr<sched::Qdisc> make(uint32_t band_limit) {
    std::string name = GetParam();
    if (name == "native")
      return std::make_unique<sched::PfifoFastQdisc>(sched::Handle{}, sched::DeviceParams{.tx_queue_len = band_limit});
    return open_program(name, [&](runtime::Object& o) { o.set_global("limit", band_limit); });
  }
  static Ns3QdiscSpec ns3_spec(uint32_t band_limit) {
    Ns3QdiscSpec spec = ns3_qdisc("ns3::PfifoFastQueueDisc", {{"MaxSize", std::to_string(3 * band_limit) + "p"}});
    spec.band_limit = band_limit;
    return spec;
  }
};

TEST_P(PfifoFastDiff, TosPicksTheBandAndEachBandOverflowsAlone) {
  auto q = make(2);
  Trace t = expect_agreement(std::string("pfifo_fast/") + GetParam() + "/hand", *q, band_script(), ns3_spec(2));
  EXPECT_EQ(sent_ids(t), kBandOrder);
  EXPECT_EQ(count_events(t, Event::Kind::Dropped), 2u);  // 5 (band 1) and 7 (band 0)
}

TEST_P(PfifoFastDiff, RandomTosMixAgrees) {
  for (uint64_t seed : {21, 22, 23}) {
    auto q = make(8);
    Trace t = expect_agreement(std::string("pfifo_fast/") + GetParam() + "/seed" + std::to_string(seed),
                               *q, tos_mix_script(seed), ns3_spec(8));
    EXPECT_GT(count_events(t, Event::Kind::Dropped), 0u) << "the script must overflow a band";
  }
}

INSTANTIATE_TEST_SUITE_P(Ns3, PfifoFastDiff, ::testing::Values("pfifo_fast", "native"));

// prio: classful. bpfq: progs/prio.bpf.o with classes 1:1..1:3, each a native pfifo of `limit`
// packets; ns-3: PrioQueueDisc with three FifoQueueDisc classes of `limit` packets.
class PrioDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(uint32_t child_limit) {
    auto q = open_program("prio");
    for (uint16_t band = 1; band <= 3; ++band)
      q->add_class(sched::Handle::make(1, band), std::make_unique<sched::PfifoQdisc>(child_limit));
    return q;
  }
  static Ns3QdiscSpec ns3_spec(uint32_t child_limit) {
    Ns3QdiscSpec spec = ns3_qdisc("ns3::PrioQueueDisc");
    spec.prio_children.assign(3, std::to_string(child_limit) + "p");
    return spec;
  }
};

TEST_F(PrioDiff, PriorityPicksTheBandAndChildrenDropAlone) {
  auto q = make(2);
  Trace t = expect_agreement("prio/hand", *q, band_script(), ns3_spec(2));
  EXPECT_EQ(sent_ids(t), kBandOrder);
  EXPECT_EQ(count_events(t, Event::Kind::Dropped), 2u);
}

TEST_F(PrioDiff, RandomPriorityMixAgrees) {
  for (uint64_t seed : {31, 32, 33}) {
    auto q = make(8);
    Trace t = expect_agreement("prio/seed" + std::to_string(seed), *q, tos_mix_script(seed), ns3_spec(8));
    EXPECT_GT(count_events(t, Event::Kind::Dropped), 0u) << "the script must overflow a child";
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
