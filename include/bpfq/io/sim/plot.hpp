#pragma once
// Plots a run's (or several runs') time series as one SVG a browser shows: queueing delay over
// time (the mean sojourn in the qdisc per sample interval, one line per run) above per-flow
// goodput over time (one colour per flow, one dash pattern per run). Hand-written SVG: no
// dependency, byte-identical for identical reports.
#include <string>
#include <vector>

#include <bpfq/io/sim/report.hpp>

namespace bpfq::io::sim {

struct PlotRun {
  std::string name;  // legend label, e.g. the qdisc
  const Report* report = nullptr;
};

std::string plot_svg(const std::vector<PlotRun>& runs);
// plot_svg() into path; throws bpfq::Error if it cannot be written.
void write_plot(const std::string& path, const std::vector<PlotRun>& runs);

}  // namespace bpfq::io::sim
