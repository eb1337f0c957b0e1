// Simulator speed: simulated packets per wall-clock second on the bufferbloat preset
// (shortened to 5 s of virtual time), with Linux's pfifo in native C++ and with the eBPF pfifo
// of progs/ on the bottleneck, in the same run. items_per_second counts the packets the
// bottleneck dequeued; the ratio printed at the end is eBPF time / native time per run.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "../support/ratio_reporter.hpp"

namespace {

using namespace bpfq;

constexpr uint32_t kLimit = 1000;

io::sim::Scenario scenario() {
  io::sim::Scenario s = io::sim::preset("bufferbloat");
  s.duration_ns = 5 * io::sim::kSecond;
  return s;
}

std::unique_ptr<sched::Qdisc> make(bool ebpf, io::sim::Simulation& sim) {
  if (!ebpf) return std::make_unique<sched::PfifoQdisc>(kLimit);
  auto q = sched::BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/pfifo.bpf.o", sched::Handle::make(1, 0),
                                 sched::BpfQdiscEnv{&sim.pool(), &sim.clock()});
  q->object().set_global("limit", kLimit);
  q->init();
  return q;
}

void BM_Bufferbloat(benchmark::State& state, bool ebpf) {
  uint64_t packets = 0, events = 0;
  for (auto _ : state) {
    state.PauseTiming();  // loading the program is configuration, not simulation
    auto sim = std::make_unique<io::sim::Simulation>(scenario());
    std::unique_ptr<sched::Qdisc> q = make(ebpf, *sim);
    state.ResumeTiming();
    io::sim::Report r = sim->run(*q);
    state.PauseTiming();
    if (!r.qdisc.conserved) state.SkipWithError("the qdisc did not conserve packets");
    packets += r.qdisc.stats.sent_packets;
    events += r.events;
    q.reset();
    sim.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["events_per_second"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["packets_per_run"] = benchmark::Counter(static_cast<double>(packets) / static_cast<double>(state.iterations()));
}

BENCHMARK_CAPTURE(BM_Bufferbloat, native, false)->Name("Sim/bufferbloat5s/native_pfifo")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Bufferbloat, ebpf, true)->Name("Sim/bufferbloat5s/ebpf_pfifo")->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return bpfq::bench::run_with_ratios(argc, argv, {{"Sim/bufferbloat5s/ebpf_pfifo", "Sim/bufferbloat5s/native_pfifo"}});
}
