// The dumbbell of ns3/examples/dumbbell.h in bpfq's own simulator: 100 Mbit/s, 40 ms base RTT,
// N CUBIC flows, 30 s, with the library's fq_codel.bpf.o (or its native twin) at the bottleneck. A C++20 unit of its
// own: ns-3.37's headers, in the other unit of bench_ns3, are C++17 only.
#include "bpfq_dumbbell.hpp"

#include <string>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fq_codel_qdisc.hpp>

uint64_t run_bpfq_dumbbell(uint32_t flows, uint64_t seconds, BpfqQdisc qdisc) {
  using namespace bpfq;
  io::sim::Scenario s;
  s.rate_bps = 100'000'000;
  s.rtt_ns = 40 * io::sim::kMillisecond;
  s.duration_ns = seconds * io::sim::kSecond;
  for (uint32_t i = 0; i < flows; ++i) {
    io::sim::TcpFlowSpec f;
    f.name = "bulk" + std::to_string(i);
    f.start_ns = 100 * io::sim::kMillisecond + i * 7 * io::sim::kMillisecond;  // staggered as the ns-3 example
    s.tcp.push_back(f);
  }
  io::sim::Simulation sim(s);
  if (qdisc == BpfqQdisc::Native) {
    sched::FqCodelQdisc q(sched::FqCodelParams{.ecn = false}, sched::Handle::make(1, 0));
    return sim.run(q).qdisc.stats.sent_packets;
  }
  runtime::set_default_backend(qdisc == BpfqQdisc::Jit ? exec::Backend::Jit : exec::Backend::Interpreter);
  auto q = sched::BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/fq_codel.bpf.o", sched::Handle::make(1, 0),
                                 sched::BpfQdiscEnv{&sim.pool(), &sim.clock()});
  q->object().set_global("ecn", uint32_t{0});
  q->init();
  return sim.run(*q).qdisc.stats.sent_packets;
}
