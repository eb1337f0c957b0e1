// Differential: the eBPF pfifo programs and Linux's native pfifo make the same decisions on the
// same simulated traffic, so the simulator's reports agree packet for packet.
#include <gtest/gtest.h>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

io::sim::Report run(const io::sim::QdiscFactory& factory) {
  io::sim::Scenario s = io::sim::preset("bufferbloat");
  s.duration_ns = 5'000'000'000;
  return io::sim::simulate(s, factory);
}

io::sim::QdiscFactory bpf(const std::string& object, uint32_t limit) {
  return [object, limit](const io::sim::SimContext& ctx) -> std::unique_ptr<Qdisc> {
    auto q = BpfQdisc::open(library_object(object), Handle::make(1, 0), BpfQdiscEnv{&ctx.pool, &ctx.clock});
    q->object().set_global("limit", limit);
    q->init();
    return q;
  };
}

class SimEquivalence : public ::testing::TestWithParam<const char*> {};

TEST_P(SimEquivalence, EbpfFifoMatchesNativePfifoUnderTcpLoad) {
  for (uint32_t limit : {1000u, 50u}) {
    const io::sim::Report native = run([limit](const io::sim::SimContext& ctx) -> std::unique_ptr<Qdisc> {
      return std::make_unique<PfifoQdisc>(limit, Handle::make(1, 0), ctx.device);
    });
    const io::sim::Report ebpf = run(bpf(GetParam(), limit));
    EXPECT_GT(native.qdisc.stats.sent_packets, 1000u);
    EXPECT_EQ(ebpf.qdisc.stats.sent_packets, native.qdisc.stats.sent_packets) << "limit " << limit;
    EXPECT_EQ(ebpf.qdisc.stats.sent_bytes, native.qdisc.stats.sent_bytes);
    EXPECT_EQ(ebpf.qdisc.stats.tc_dropped(), native.qdisc.stats.tc_dropped());
    EXPECT_EQ(ebpf.qdisc.stats.qlen, native.qdisc.stats.qlen);
    EXPECT_TRUE(ebpf.qdisc.conserved);
    ASSERT_EQ(ebpf.flows.size(), native.flows.size());
    for (size_t i = 0; i < ebpf.flows.size(); ++i) {
      EXPECT_EQ(ebpf.flows[i].bytes_delivered, native.flows[i].bytes_delivered) << ebpf.flows[i].name;
      EXPECT_EQ(ebpf.flows[i].rtt.p99_ns, native.flows[i].rtt.p99_ns) << ebpf.flows[i].name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Programs, SimEquivalence, ::testing::Values("pfifo", "fifo"));

}  // namespace
}  // namespace bpfq::sched::test
