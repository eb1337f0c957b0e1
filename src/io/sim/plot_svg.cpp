#include <bpfq/io/sim/plot.hpp>

#include <algorithm>

#include <bpfq/io/chart.hpp>

namespace bpfq::io::sim {
namespace {

constexpr size_t kMaxLegendFlows = 16;

// The flows with a goodput column, in column order (TimeSeries::flow_bps).
std::vector<const FlowReport*> series_flows(const Report& r) {
  std::vector<const FlowReport*> flows;
  for (const FlowReport& f : r.flows)
    if (f.kind == "tcp" || f.kind == "udp" || f.kind == "pcap") flows.push_back(&f);
  return flows;
}

std::vector<double> seconds(const std::vector<uint64_t>& time_ns) {
  std::vector<double> s;
  for (uint64_t t : time_ns) s.push_back(static_cast<double>(t) / 1e9);
  return s;
}

// Top: the mean queueing delay, one line (colour) per run. Bottom: goodput per flow; colour =
// flow, dash = run.
Chart make_chart(const std::vector<PlotRun>& runs) {
  Chart chart;
  chart.title = runs.size() == 1 ? runs.front().report->scenario + ": " + runs.front().name
                                 : (runs.empty() ? std::string("no runs") : runs.front().report->scenario);
  chart.top = {"delay", "queueing delay (ms, mean per interval)", {}, {}, 0};
  chart.bottom = {"goodput", "goodput (Mbit/s)", {}, {}, 0};
  size_t most_flows = 0;
  std::vector<std::vector<const FlowReport*>> flows_of(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    const Report& report = *runs[r].report;
    const TimeSeries& s = report.series;
    chart.x_max_s = std::max(chart.x_max_s, static_cast<double>(report.duration_ns) / 1e9);
    const std::vector<double> t = seconds(s.time_ns);
    std::vector<double> ms;
    for (double ns : s.queue_delay_mean_ns) ms.push_back(ns / 1e6);
    chart.top.lines.push_back({runs[r].name, t, ms, r, 0});
    chart.top.legend.push_back({runs[r].name, r, 0, false});
    flows_of[r] = series_flows(report);
    most_flows = std::max(most_flows, flows_of[r].size());
    for (size_t k = 0; k < flows_of[r].size(); ++k) {
      std::vector<double> mbps;
      for (const auto& row : s.flow_bps) mbps.push_back(k < row.size() ? row[k] / 1e6 : 0.0);
      chart.bottom.lines.push_back({runs.size() > 1 ? flows_of[r][k]->name + " (" + runs[r].name + ")" : flows_of[r][k]->name,
                                    t, mbps, k, r});
    }
  }
  // Legend: the flows' colours (of the first run with the most flows), then the runs' dashes.
  for (const auto& flows : flows_of) {
    if (flows.size() != most_flows) continue;
    for (size_t k = 0; k < flows.size() && k < kMaxLegendFlows; ++k) chart.bottom.legend.push_back({flows[k]->name, k, 0, false});
    if (flows.size() > kMaxLegendFlows) chart.bottom.more = flows.size() - kMaxLegendFlows;
    break;
  }
  if (runs.size() > 1)
    for (size_t r = 0; r < runs.size(); ++r) chart.bottom.legend.push_back({runs[r].name, 0, r, true});
  return chart;
}

}  // namespace

std::string plot_svg(const std::vector<PlotRun>& runs) { return chart_svg(make_chart(runs)); }

void write_plot(const std::string& path, const std::vector<PlotRun>& runs) { write_chart(path, make_chart(runs)); }

}  // namespace bpfq::io::sim
