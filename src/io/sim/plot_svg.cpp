#include <bpfq/io/sim/plot.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string_view>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {
namespace {

// Geometry, in SVG user units.
constexpr double kWidth = 960, kLeft = 70, kPlotWidth = 640, kLegendX = kLeft + kPlotWidth + 20;
constexpr double kTop = 50, kPanelHeight = 280, kPanelGap = 80, kBottom = 50;
constexpr double kHeight = kTop + 2 * kPanelHeight + kPanelGap + kBottom;
constexpr size_t kMaxLegendFlows = 16;

constexpr std::string_view kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::string_view kDashes[] = {"", "8 4", "2 3", "10 3 2 3", "4 4"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A tick label: no trailing zeros.
std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", std::abs(v) < 1e-9 ? 0.0 : v);
  return buf;
}

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

// A 1, 2 or 5 times a power of ten that splits [0, max] into about five intervals.
double tick_step(double max) {
  if (max <= 0) return 1;
  double raw = max / 5;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

struct Panel {
  double top;
  double x_max;  // seconds
  double y_max;  // after rounding up to a tick
  double x(double seconds) const { return kLeft + kPlotWidth * seconds / x_max; }
  double y(double value) const { return top + kPanelHeight * (1 - std::min(value, y_max) / y_max); }
};

// Axes, grid, ticks and titles; y_max is rounded up to a whole tick.
Panel draw_axes(std::string& svg, double top, double x_max, double y_data_max, const std::string& y_title) {
  double y_step = tick_step(y_data_max);
  Panel p{top, x_max > 0 ? x_max : 1, std::max(y_step, std::ceil(y_data_max / y_step - 1e-9) * y_step)};
  svg += "<g class=\"axes\">\n";
  for (double v = 0; v <= p.y_max * (1 + 1e-9); v += y_step) {
    svg += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(p.y(v)) + "\" x2=\"" + num(kLeft + kPlotWidth) + "\" y2=\"" +
           num(p.y(v)) + "\" stroke=\"#e0e0e0\"/>\n";
    svg += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(p.y(v) + 4) + "\" text-anchor=\"end\">" + label(v) + "</text>\n";
  }
  double x_step = tick_step(p.x_max);
  for (double v = 0; v <= p.x_max * (1 + 1e-9); v += x_step) {
    double bottom = top + kPanelHeight;
    svg += "<line x1=\"" + num(p.x(v)) + "\" y1=\"" + num(bottom) + "\" x2=\"" + num(p.x(v)) + "\" y2=\"" + num(bottom + 5) +
           "\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + num(p.x(v)) + "\" y=\"" + num(bottom + 18) + "\" text-anchor=\"middle\">" + label(v) + "</text>\n";
  }
  svg += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(top) + "\" width=\"" + num(kPlotWidth) + "\" height=\"" +
         num(kPanelHeight) + "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + num(kLeft + kPlotWidth / 2) + "\" y=\"" + num(top + kPanelHeight + 36) +
         "\" text-anchor=\"middle\">time (s)</text>\n";
  svg += "<text x=\"" + num(kLeft - 50) + "\" y=\"" + num(top + kPanelHeight / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 " +
         num(kLeft - 50) + " " + num(top + kPanelHeight / 2) + ")\">" + escape(y_title) + "</text>\n";
  svg += "</g>\n";
  return p;
}

void polyline(std::string& svg, const Panel& p, const std::vector<uint64_t>& time_ns, const std::vector<double>& values,
              std::string_view colour, std::string_view dash, const std::string& title) {
  svg += "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.5\"";
  if (!dash.empty()) svg += " stroke-dasharray=\"" + std::string(dash) + "\"";
  svg += " points=\"";
  for (size_t i = 0; i < time_ns.size() && i < values.size(); ++i) {
    if (i) svg += ' ';
    svg += num(p.x(static_cast<double>(time_ns[i]) / 1e9)) + "," + num(p.y(values[i]));
  }
  svg += "\"><title>" + escape(title) + "</title></polyline>\n";
}

void legend_entry(std::string& svg, double y, std::string_view colour, std::string_view dash, const std::string& text) {
  svg += "<line x1=\"" + num(kLegendX) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLegendX + 24) + "\" y2=\"" + num(y) +
         "\" stroke=\"" + std::string(colour) + "\" stroke-width=\"2\"";
  if (!dash.empty()) svg += " stroke-dasharray=\"" + std::string(dash) + "\"";
  svg += "/>\n<text x=\"" + num(kLegendX + 30) + "\" y=\"" + num(y + 4) + "\">" + escape(text) + "</text>\n";
}

// The flows with a goodput column, in column order (TimeSeries::flow_bps).
std::vector<const FlowReport*> series_flows(const Report& r) {
  std::vector<const FlowReport*> flows;
  for (const FlowReport& f : r.flows)
    if (f.kind == "tcp" || f.kind == "udp" || f.kind == "pcap") flows.push_back(&f);
  return flows;
}

}  // namespace

std::string plot_svg(const std::vector<PlotRun>& runs) {
  double x_max = 0, delay_max = 0, rate_max = 0;
  for (const PlotRun& run : runs) {
    const TimeSeries& s = run.report->series;
    x_max = std::max(x_max, static_cast<double>(run.report->duration_ns) / 1e9);
    for (double d : s.queue_delay_mean_ns) delay_max = std::max(delay_max, d / 1e6);
    for (const auto& row : s.flow_bps)
      for (double b : row) rate_max = std::max(rate_max, b / 1e6);
  }
  std::string title = runs.size() == 1 ? runs.front().report->scenario + ": " + runs.front().name
                                       : (runs.empty() ? std::string("no runs") : runs.front().report->scenario);

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
         "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(kLeft) + "\" y=\"24\" font-size=\"16\">" + escape(title) + "</text>\n";

  // Top: queueing delay, one line per run.
  Panel delay = draw_axes(svg, kTop, x_max, delay_max, "queueing delay (ms, mean per interval)");
  svg += "<g class=\"delay\">\n";
  for (size_t r = 0; r < runs.size(); ++r) {
    const TimeSeries& s = runs[r].report->series;
    std::vector<double> ms(s.queue_delay_mean_ns.size());
    std::transform(s.queue_delay_mean_ns.begin(), s.queue_delay_mean_ns.end(), ms.begin(), [](double ns) { return ns / 1e6; });
    std::string_view colour = kColours[r % std::size(kColours)];
    polyline(svg, delay, s.time_ns, ms, colour, "", runs[r].name);
    legend_entry(svg, kTop + 10 + 18.0 * static_cast<double>(r), colour, "", runs[r].name);
  }
  svg += "</g>\n";

  // Bottom: goodput per flow; colour = flow, dash = run.
  const double top = kTop + kPanelHeight + kPanelGap;
  Panel rate = draw_axes(svg, top, x_max, rate_max, "goodput (Mbit/s)");
  svg += "<g class=\"goodput\">\n";
  size_t legend_rows = 0;
  size_t most_flows = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    const TimeSeries& s = runs[r].report->series;
    std::vector<const FlowReport*> flows = series_flows(*runs[r].report);
    most_flows = std::max(most_flows, flows.size());
    std::string_view dash = kDashes[r % std::size(kDashes)];
    for (size_t k = 0; k < flows.size(); ++k) {
      std::vector<double> mbps;
      for (const auto& row : s.flow_bps) mbps.push_back(k < row.size() ? row[k] / 1e6 : 0.0);
      polyline(svg, rate, s.time_ns, mbps, kColours[k % std::size(kColours)], dash,
               runs.size() > 1 ? flows[k]->name + " (" + runs[r].name + ")" : flows[k]->name);
    }
  }
  // Legend: the flows' colours (of the first run with the most flows), then the runs' dashes.
  for (const PlotRun& run : runs) {
    std::vector<const FlowReport*> flows = series_flows(*run.report);
    if (flows.size() != most_flows) continue;
    for (size_t k = 0; k < flows.size() && k < kMaxLegendFlows; ++k)
      legend_entry(svg, top + 10 + 18.0 * static_cast<double>(legend_rows++), kColours[k % std::size(kColours)], "", flows[k]->name);
    if (flows.size() > kMaxLegendFlows) {
      svg += "<text x=\"" + num(kLegendX) + "\" y=\"" + num(top + 14 + 18.0 * static_cast<double>(legend_rows++)) + "\">… " +
             std::to_string(flows.size() - kMaxLegendFlows) + " more</text>\n";
    }
    break;
  }
  if (runs.size() > 1) {
    for (size_t r = 0; r < runs.size(); ++r)
      legend_entry(svg, top + 20 + 18.0 * static_cast<double>(legend_rows++), "black", kDashes[r % std::size(kDashes)],
                   runs[r].name);
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

void write_plot(const std::string& path, const std::vector<PlotRun>& runs) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("cannot write the plot", path, "check that the folder exists and is writable");
  out << plot_svg(runs);
  if (!out.flush()) throw Error("cannot write the plot", path);
}

}  // namespace bpfq::io::sim
