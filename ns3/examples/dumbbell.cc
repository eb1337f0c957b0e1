// A bpfq qdisc program at the bottleneck of an ns-3 dumbbell. Build against an installed bpfq:
//
//   g++ -O2 dumbbell.cc -o dumbbell $(pkg-config --cflags --libs bpfq-ns3 ns3-applications ns3-point-to-point-layout)
//   ./dumbbell --program=fq_codel --flows=4 --time=30
//   ./dumbbell --program=my_qdisc.bpf.o --params="limit 500"
//   ./dumbbell --native=ns3::FqCoDelQueueDisc          # ns-3's own, for comparison
#include <iostream>

#include <bpfq/ns3/bpf-queue-disc.h>

#include "dumbbell.h"

namespace {
std::string params;
// ns-3's CommandLine reads a std::string value up to the first space; parameters have many.
bool set_params(std::string value) {
  params = std::move(value);
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ns3;
  dumbbell::Scenario cfg;
  std::string program = "fq_codel", native;
  double seconds = cfg.duration.GetSeconds();
  CommandLine cmd;
  cmd.AddValue("program", "bpfq qdisc: a .bpf.o file or a library name", program);
  cmd.AddValue("params", "the program's parameters, as on bpfq's command line", MakeCallback(&set_params));
  cmd.AddValue("native", "an ns-3 queue disc TypeId instead of bpfq", native);
  cmd.AddValue("flows", "TCP flows", cfg.flows);
  cmd.AddValue("rate", "bottleneck rate", cfg.bottleneckRate);
  cmd.AddValue("time", "simulated seconds", seconds);
  cmd.Parse(argc, argv);
  cfg.duration = Seconds(seconds);

  TrafficControlHelper tch;
  if (native.empty())
    tch.SetRootQueueDisc("ns3::BpfQueueDisc", "Program", StringValue(program), "Parameters", StringValue(params));
  else
    tch.SetRootQueueDisc(native);

  std::string bpfq_stats;
  const dumbbell::Result r = dumbbell::Run(cfg, tch, [&](Ptr<QueueDisc> q) {
    if (Ptr<BpfQueueDisc> bpf = DynamicCast<BpfQueueDisc>(q)) bpfq_stats = bpf->ShowStats();
  });

  std::cout << (native.empty() ? "bpfq " + program + " " + params : native) << ": " << cfg.flows
            << " CUBIC flows, " << cfg.bottleneckRate << ", " << seconds << " s\n";
  for (size_t i = 0; i < r.flowMbps.size(); ++i) std::cout << "  flow " << i << ": " << r.flowMbps[i] << " Mbit/s\n";
  std::cout << "  total: " << r.totalMbps << " Mbit/s\n" << r.stats << "\n";
  if (!bpfq_stats.empty()) std::cout << "bpfq's view:\n" << bpfq_stats;
  return 0;
}
