#pragma once
// A two-panel time chart as one SVG a browser shows: a top panel (delay) above a bottom panel
// (goodput), lines with a colour and a dash pattern, a legend beside each panel. Hand-written
// SVG: no dependency, byte-identical for identical input. The simulator's plots
// (io/sim/plot.hpp) and `bpfq rrul`'s report draw through it.
#include <cstddef>
#include <string>
#include <vector>

namespace bpfq::io {

struct ChartLine {
  std::string title;  // shown on hover
  std::vector<double> x_s;  // seconds
  std::vector<double> y;
  size_t colour = 0;  // index into the palette (wraps)
  size_t dash = 0;    // index into the dash patterns (wraps); 0 is solid
};

struct ChartLegend {
  std::string text;
  size_t colour = 0;
  size_t dash = 0;
  bool black = false;  // a dash pattern's entry: drawn in black
};

struct ChartPanel {
  std::string name;  // the class of its group of lines ("delay", "goodput")
  std::string y_title;
  std::vector<ChartLine> lines;
  std::vector<ChartLegend> legend;  // coloured entries first, then black ones
  size_t more = 0;                  // coloured entries left out ("… N more")
};

struct Chart {
  std::string title;
  double x_max_s = 0;
  ChartPanel top, bottom;
};

std::string chart_svg(const Chart& chart);
// chart_svg() into path; throws bpfq::Error if it cannot be written.
void write_chart(const std::string& path, const Chart& chart);

}  // namespace bpfq::io
