// The example's dumbbell (100 Mbit/s, 40 ms, CUBIC) for 30 s of simulated time with 4 and 64
// flows, in the same run:
//   - in ns-3 with ns-3's own FqCoDelQueueDisc at the bottleneck;
//   - in ns-3 with the library's fq_codel.bpf.o in BpfQueueDisc: what the adapter costs;
//   - in bpfq's own simulator with the same fq_codel.bpf.o: bpfq against ns-3.
// The ratios printed at the end are wall times over ns-3 with FqCoDelQueueDisc (medians of the
// repetitions); packets_per_second counts the bottleneck's sent packets per wall second.
#include <benchmark/benchmark.h>

#include <string>

#include <bpfq/ns3/bpf-queue-disc.h>

#include "../support/ratio_reporter.hpp"
#include "bpfq_dumbbell.hpp"
#include "dumbbell.h"

namespace {

using namespace ns3;

void BM_Dumbbell(benchmark::State& state, bool bpf) {
  dumbbell::Scenario s;
  s.flows = static_cast<uint32_t>(state.range(0));
  s.duration = Seconds(30);
  uint64_t packets = 0;
  for (auto _ : state) {
    TrafficControlHelper tch;
    if (bpf)
      tch.SetRootQueueDisc("ns3::BpfQueueDisc", "Program", StringValue(std::string(BPFQ_BINARY_DIR) + "/progs/fq_codel.bpf.o"),
                           "Parameters", StringValue("noecn"));
    else
      tch.SetRootQueueDisc("ns3::FqCoDelQueueDisc");
    const dumbbell::Result r = dumbbell::Run(s, tch);
    packets += r.stats.nTotalSentPackets;
  }
  state.counters["packets_per_second"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}

void BM_BpfqSim(benchmark::State& state, BpfqQdisc qdisc) {
  uint64_t packets = 0;
  for (auto _ : state) packets += run_bpfq_dumbbell(static_cast<uint32_t>(state.range(0)), 30, qdisc);
  state.counters["packets_per_second"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Dumbbell, ns3, false)->Name("Ns3/dumbbell30s/FqCoDelQueueDisc")->Arg(4)->Arg(64)
    ->Iterations(1)->Repetitions(3)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Dumbbell, bpf, true)->Name("Ns3/dumbbell30s/BpfQueueDisc_fq_codel")->Arg(4)->Arg(64)
    ->Iterations(1)->Repetitions(3)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_BpfqSim, jit, BpfqQdisc::Jit)->Name("Bpfq/dumbbell30s/fq_codel")->Arg(4)->Arg(64)
    ->Iterations(1)->Repetitions(3)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_BpfqSim, interp, BpfqQdisc::Interpreter)->Name("Bpfq/dumbbell30s/fq_codel_interp")->Arg(4)->Arg(64)
    ->Iterations(1)->Repetitions(3)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_BpfqSim, native, BpfqQdisc::Native)->Name("Bpfq/dumbbell30s/native_fq_codel")->Arg(4)->Arg(64)
    ->Iterations(1)->Repetitions(3)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return bpfq::bench::run_with_ratios(
      argc, argv,
      {{"Ns3/dumbbell30s/BpfQueueDisc_fq_codel/4/iterations:1/repeats:3/real_time",
        "Ns3/dumbbell30s/FqCoDelQueueDisc/4/iterations:1/repeats:3/real_time"},
       {"Ns3/dumbbell30s/BpfQueueDisc_fq_codel/64/iterations:1/repeats:3/real_time",
        "Ns3/dumbbell30s/FqCoDelQueueDisc/64/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel/4/iterations:1/repeats:3/real_time",
        "Ns3/dumbbell30s/FqCoDelQueueDisc/4/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel/64/iterations:1/repeats:3/real_time",
        "Ns3/dumbbell30s/FqCoDelQueueDisc/64/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel/4/iterations:1/repeats:3/real_time",
        "Bpfq/dumbbell30s/native_fq_codel/4/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel/64/iterations:1/repeats:3/real_time",
        "Bpfq/dumbbell30s/native_fq_codel/64/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel_interp/4/iterations:1/repeats:3/real_time",
        "Bpfq/dumbbell30s/native_fq_codel/4/iterations:1/repeats:3/real_time"},
       {"Bpfq/dumbbell30s/fq_codel_interp/64/iterations:1/repeats:3/real_time",
        "Bpfq/dumbbell30s/native_fq_codel/64/iterations:1/repeats:3/real_time"}});
}
