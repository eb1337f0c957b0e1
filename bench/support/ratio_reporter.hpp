#pragma once
// A Google Benchmark console reporter that also prints, after the run, each benchmark's time
// as a ratio to its baseline measured in the same run. Baselines are named by a mapping from
// benchmark name prefix to baseline name prefix (e.g. "Interp/alu" -> "Native/alu"). The ratios
// are of real time, or of CPU time (Time::Cpu: for single-threaded benchmarks on a machine shared
// with other work, where real time also counts the time the thread waited for a core).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bpfq::bench {

enum class Time { Real, Cpu };

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // pairs: {subject name, baseline name}, matched on the benchmark's full run name
  // (aggregate suffixes such as _median are kept in the key).
  explicit RatioReporter(std::vector<std::pair<std::string, std::string>> pairs, Time time = Time::Real)
      : pairs_(std::move(pairs)), time_(time) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const std::string name = r.benchmark_name();
      times_[name] = time_ == Time::Cpu ? r.GetAdjustedCPUTime() : r.GetAdjustedRealTime();
      for (const auto& [key, counter] : r.counters) counters_[name][key] = counter.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-44s %-34s %10s\n", "benchmark", "baseline (same run)", time_ == Time::Cpu ? "cpu ratio" : "ratio");
    for (const auto& [subject, baseline] : pairs_) {
      for (const char* agg : {"", "_median"}) {
        auto s = times_.find(subject + agg), b = times_.find(baseline + agg);
        if (s == times_.end() || b == times_.end() || b->second == 0) continue;
        const double ratio = s->second / b->second;
        // Far below 1 (bpfq against ns-3), two decimals would read 0.01x: say how many times faster.
        if (ratio < 0.1)
          std::printf("%-44s %-34s %9.4fx (%.0fx faster)\n", (subject + agg).c_str(), (baseline + agg).c_str(), ratio,
                      1 / ratio);
        else
          std::printf("%-44s %-34s %9.2fx\n", (subject + agg).c_str(), (baseline + agg).c_str(), ratio);
      }
    }
  }

  const std::map<std::string, std::map<std::string, double>>& counters() const { return counters_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
  Time time_;
  std::map<std::string, double> times_;
  std::map<std::string, std::map<std::string, double>> counters_;
};

// main() body for a benchmark binary with ratio pairs.
inline int run_with_ratios(int argc, char** argv, std::vector<std::pair<std::string, std::string>> pairs,
                           Time time = Time::Real) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(std::move(pairs), time);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace bpfq::bench
