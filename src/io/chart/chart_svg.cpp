#include <bpfq/io/chart.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string_view>

#include <bpfq/error.hpp>

namespace bpfq::io {
namespace {

// Geometry, in SVG user units.
constexpr double kWidth = 960, kLeft = 70, kPlotWidth = 640, kLegendX = kLeft + kPlotWidth + 20;
constexpr double kTop = 50, kPanelHeight = 280, kPanelGap = 80, kBottom = 50;
constexpr double kHeight = kTop + 2 * kPanelHeight + kPanelGap + kBottom;

constexpr std::string_view kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::string_view kDashes[] = {"", "8 4", "2 3", "10 3 2 3", "4 4"};

std::string_view colour(size_t i) { return kColours[i % std::size(kColours)]; }
std::string_view dash(size_t i) { return kDashes[i % std::size(kDashes)]; }

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
  if (!(max > 0)) return 1;
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
  double x(double seconds) const { return kLeft + kPlotWidth * std::clamp(seconds, 0.0, x_max) / x_max; }
  double y(double value) const { return top + kPanelHeight * (1 - std::clamp(value, 0.0, y_max) / y_max); }
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

void polyline(std::string& svg, const Panel& p, const ChartLine& line) {
  svg += "<polyline fill=\"none\" stroke=\"" + std::string(colour(line.colour)) + "\" stroke-width=\"1.5\"";
  if (!dash(line.dash).empty()) svg += " stroke-dasharray=\"" + std::string(dash(line.dash)) + "\"";
  svg += " points=\"";
  for (size_t i = 0; i < line.x_s.size() && i < line.y.size(); ++i) {
    if (i) svg += ' ';
    svg += num(p.x(line.x_s[i])) + "," + num(p.y(line.y[i]));
  }
  svg += "\"><title>" + escape(line.title) + "</title></polyline>\n";
}

void legend_entry(std::string& svg, double y, std::string_view stroke, std::string_view dash_pattern, const std::string& text) {
  svg += "<line x1=\"" + num(kLegendX) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLegendX + 24) + "\" y2=\"" + num(y) +
         "\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"2\"";
  if (!dash_pattern.empty()) svg += " stroke-dasharray=\"" + std::string(dash_pattern) + "\"";
  svg += "/>\n<text x=\"" + num(kLegendX + 30) + "\" y=\"" + num(y + 4) + "\">" + escape(text) + "</text>\n";
}

void draw_panel(std::string& svg, double top, double x_max, const ChartPanel& panel) {
  double y_max = 0;
  for (const ChartLine& l : panel.lines)
    for (double v : l.y)
      if (std::isfinite(v)) y_max = std::max(y_max, v);
  const Panel p = draw_axes(svg, top, x_max, y_max, panel.y_title);
  svg += "<g class=\"" + escape(panel.name) + "\">\n";
  for (const ChartLine& l : panel.lines) polyline(svg, p, l);
  size_t row = 0;
  bool more_shown = false;
  for (const ChartLegend& e : panel.legend) {
    if (e.black && panel.more && !more_shown) {
      svg += "<text x=\"" + num(kLegendX) + "\" y=\"" + num(top + 14 + 18.0 * static_cast<double>(row++)) + "\">… " +
             std::to_string(panel.more) + " more</text>\n";
      more_shown = true;
    }
    // Dash entries sit a little apart from the colours above them.
    const double y = top + (e.black ? 20 : 10) + 18.0 * static_cast<double>(row++);
    legend_entry(svg, y, e.black ? "black" : colour(e.colour), dash(e.dash), e.text);
  }
  if (panel.more && !more_shown)
    svg += "<text x=\"" + num(kLegendX) + "\" y=\"" + num(top + 14 + 18.0 * static_cast<double>(row)) + "\">… " +
           std::to_string(panel.more) + " more</text>\n";
  svg += "</g>\n";
}

}  // namespace

std::string chart_svg(const Chart& chart) {
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
         "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(kLeft) + "\" y=\"24\" font-size=\"16\">" + escape(chart.title) + "</text>\n";
  draw_panel(svg, kTop, chart.x_max_s, chart.top);
  draw_panel(svg, kTop + kPanelHeight + kPanelGap, chart.x_max_s, chart.bottom);
  svg += "</svg>\n";
  return svg;
}

void write_chart(const std::string& path, const Chart& chart) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("cannot write the plot", path, "check that the folder exists and is writable");
  out << chart_svg(chart);
  if (!out.flush()) throw Error("cannot write the plot", path);
}

}  // namespace bpfq::io
