// pfifo / bfifo against ns-3's FifoQueueDisc: progs/pfifo.bpf.o (rbtree + kptr),
// progs/fifo.bpf.o (packet-queue kfuncs) and the native PfifoQdisc in packet mode;
// progs/bfifo.bpf.o and the native BfifoQdisc in byte mode. ns-3's FifoQueueDisc drops an
// arrival when current size + the item would exceed MaxSize, exactly Linux's tail drop
// (pfifo: qlen < limit; bfifo: backlog + len <= limit). Item sizes equal frame lengths
// (Ethernet included), so byte limits compare the same bytes.
#include <gtest/gtest.h>

#include <bpfq/sched/fifo_qdisc.hpp>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

class PacketFifoDiff : public ::testing::TestWithParam<const char*>, public DiffFixture {
 protected:
  std::unique_ptr<sched::Qdisc> make(uint32_t limit) {
    std::string name = GetParam();
    if (name == "native") return std::make_unique<sched::PfifoQdisc>(limit);
    return open_program(name, [&](runtime::Object& o) { o.set_global("limit", limit); });
  }
  static Ns3QdiscSpec ns3_fifo(uint32_t limit) {
    return ns3_qdisc("ns3::FifoQueueDisc", {{"MaxSize", std::to_string(limit) + "p"}});
  }
};

PacketSpec pkt(uint32_t id, uint32_t len) {
  PacketSpec p;
  p.id = id;
  p.frame_len = len;
  return p;
}

TEST_P(PacketFifoDiff, TailDropAtTheLimitThenRefill) {
  auto q = make(5);
  Script s;
  for (uint32_t id = 1; id <= 8; ++id) enqueue_at(s, 1'000'000 + id * 10'000, pkt(id, 60 + id));
  dequeue_at(s, 2'000'000);
  dequeue_at(s, 2'100'000);
  for (uint32_t id = 9; id <= 11; ++id) enqueue_at(s, 2'200'000 + id * 10'000, pkt(id, 200));
  for (int i = 0; i < 6; ++i) dequeue_at(s, 3'000'000 + i * 100'000);
  Trace t = expect_agreement(std::string("pfifo/") + GetParam() + "/hand", *q, s, ns3_fifo(5));
  // Limit 5: 6, 7, 8 find 5 queued; after two dequeues 9 and 10 fit and 11 does not.
  EXPECT_EQ(sent_ids(t), (std::vector<uint32_t>{1, 2, 3, 4, 5, 9, 10}));
  EXPECT_EQ(count_events(t, Event::Kind::Dropped), 4u);
  EXPECT_EQ(count_events(t, Event::Kind::Empty), 1u);
  EXPECT_EQ(t.totals.sent_bytes, 61u + 62 + 63 + 64 + 65 + 200 + 200);
}

TEST_P(PacketFifoDiff, RandomBurstsAgree) {
  for (uint64_t seed : {1, 2, 3}) {
    auto q = make(20);
    RandomScriptConfig cfg;
    cfg.seed = seed;
    cfg.packets = 500;
    cfg.flow_ports = {1000, 1001, 1002};
    Trace t = expect_agreement(std::string("pfifo/") + GetParam() + "/seed" + std::to_string(seed),
                               *q, random_script(cfg), ns3_fifo(20));
    EXPECT_GT(count_events(t, Event::Kind::Dropped), 0u) << "the script must overflow the queue";
  }
}

INSTANTIATE_TEST_SUITE_P(Ns3, PacketFifoDiff, ::testing::Values("pfifo", "fifo", "native"));

class ByteFifoDiff : public ::testing::TestWithParam<const char*>, public DiffFixture {
 protected:
  std::unique_ptr<sched::Qdisc> make(uint32_t limit) {
    std::string name = GetParam();
    if (name == "native") return std::make_unique<sched::BfifoQdisc>(limit);
    return open_program(name, [&](runtime::Object& o) { o.set_global("limit", limit); });
  }
  static Ns3QdiscSpec ns3_fifo(uint32_t limit) {
    return ns3_qdisc("ns3::FifoQueueDisc", {{"MaxSize", std::to_string(limit) + "B"}});
  }
};

TEST_P(ByteFifoDiff, AcceptsUpToExactlyTheLimit) {
  auto q = make(1000);
  Script s;
  enqueue_at(s, 1'000'000, pkt(1, 400));
  enqueue_at(s, 1'010'000, pkt(2, 300));
  enqueue_at(s, 1'020'000, pkt(3, 300));  // backlog 700 + 300 = 1000 <= 1000: accepted
  enqueue_at(s, 1'030'000, pkt(4, 64));   // 1000 + 64 > 1000: dropped
  dequeue_at(s, 1'100'000);               // sends 1, backlog 600
  enqueue_at(s, 1'110'000, pkt(5, 401));  // 600 + 401 > 1000: dropped
  enqueue_at(s, 1'120'000, pkt(6, 400));  // 600 + 400 = 1000: accepted
  for (int i = 0; i < 5; ++i) dequeue_at(s, 1'200'000 + i * 10'000);
  Trace t = expect_agreement(std::string("bfifo/") + GetParam() + "/hand", *q, s, ns3_fifo(1000));
  EXPECT_EQ(sent_ids(t), (std::vector<uint32_t>{1, 2, 3, 6}));
  EXPECT_EQ(count_events(t, Event::Kind::Dropped), 2u);
}

TEST_P(ByteFifoDiff, RandomBurstsAgree) {
  for (uint64_t seed : {11, 12, 13}) {
    auto q = make(8000);
    RandomScriptConfig cfg;
    cfg.seed = seed;
    cfg.packets = 500;
    cfg.flow_ports = {1000, 1001};
    Trace t = expect_agreement(std::string("bfifo/") + GetParam() + "/seed" + std::to_string(seed),
                               *q, random_script(cfg), ns3_fifo(8000));
    EXPECT_GT(count_events(t, Event::Kind::Dropped), 0u) << "the script must overflow the queue";
  }
}

INSTANTIATE_TEST_SUITE_P(Ns3, ByteFifoDiff, ::testing::Values("bfifo", "native"));

}  // namespace
}  // namespace bpfq::ns3diff::test
