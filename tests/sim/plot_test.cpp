// --plot's SVG: well-formed XML with the expected panels, lines and legend.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/plot.hpp>

#include "sim_test_util.hpp"

namespace bpfq::io::sim::test {
namespace {

// A minimal XML well-formedness check: one root element, every tag closed in order, attribute
// values quoted, only the five predefined entities. Returns "" or what is wrong.
std::string xml_problem(const std::string& x, std::vector<std::string>* elements) {
  std::vector<std::string> open;
  size_t i = 0, roots = 0;
  auto check_text = [&](size_t from, size_t to) -> std::string {
    for (size_t k = from; k < to; ++k) {
      if (x[k] == '<' || x[k] == '>') return "stray " + std::string(1, x[k]) + " at " + std::to_string(k);
      if (x[k] == '&') {
        size_t semi = x.find(';', k);
        std::string ent = semi == std::string::npos ? "" : x.substr(k, semi - k + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
          return "bad entity at " + std::to_string(k);
      }
    }
    return "";
  };
  if (x.rfind("<?xml ", 0) == 0) i = x.find("?>") + 2;
  while (i < x.size()) {
    size_t lt = x.find('<', i);
    if (lt == std::string::npos) {
      if (auto p = check_text(i, x.size()); !p.empty()) return p;
      break;
    }
    if (auto p = check_text(i, lt); !p.empty()) return p;
    if (open.empty() && x.find_first_not_of(" \n\t", i) < lt) return "text outside the root";
    size_t gt = lt;
    char quote = 0;
    for (++gt; gt < x.size(); ++gt) {
      if (quote) {
        if (x[gt] == quote) quote = 0;
        else if (x[gt] == '<') return "< in an attribute at " + std::to_string(gt);
      } else if (x[gt] == '"' || x[gt] == '\'') {
        quote = x[gt];
      } else if (x[gt] == '>') {
        break;
      }
    }
    if (gt >= x.size()) return "unterminated tag at " + std::to_string(lt);
    std::string tag = x.substr(lt + 1, gt - lt - 1);
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return "</" + tag.substr(1) + "> closes nothing open";
      open.pop_back();
    } else {
      bool self_closing = tag.back() == '/';
      std::string name = tag.substr(0, tag.find_first_of(" \n\t/"));
      if (open.empty() && ++roots > 1) return "a second root element";
      if (elements) elements->push_back(name);
      // Attributes: name="value" pairs.
      size_t a = name.size();
      std::string rest = tag.substr(a, tag.size() - a - (self_closing ? 1 : 0));
      size_t k = 0;
      while (true) {
        k = rest.find_first_not_of(" \n\t", k);
        if (k == std::string::npos) break;
        size_t eq = rest.find('=', k);
        if (eq == std::string::npos || eq + 1 >= rest.size() || (rest[eq + 1] != '"' && rest[eq + 1] != '\''))
          return "unquoted attribute in <" + name + ">";
        size_t end = rest.find(rest[eq + 1], eq + 2);
        if (end == std::string::npos) return "unterminated attribute in <" + name + ">";
        std::string value = rest.substr(eq + 2, end - eq - 2);
        for (size_t v = 0; v < value.size(); ++v)
          if (value[v] == '&' && value.compare(v, 5, "&amp;") != 0 && value.compare(v, 6, "&quot;") != 0 &&
              value.compare(v, 4, "&lt;") != 0 && value.compare(v, 4, "&gt;") != 0 && value.compare(v, 6, "&apos;") != 0)
            return "bad entity in an attribute of <" + name + ">";
        k = end + 1;
      }
      if (!self_closing) open.push_back(name);
    }
    i = gt + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  if (roots != 1) return "no root element";
  return "";
}

size_t count(const std::vector<std::string>& elements, const std::string& name) {
  return static_cast<size_t>(std::count(elements.begin(), elements.end(), name));
}

Scenario two_flows() {
  Scenario s = one_link(10'000'000, 40 * kMillisecond, 3 * kSecond);
  s.name = "plot";
  s.tcp.push_back(tcp_flow("bulk", CongestionControl::Cubic));
  UdpFlowSpec u;
  u.name = "voip";
  s.udp.push_back(u);
  s.pings.push_back(PingSpec{});
  return s;
}

TEST(SimPlot, TheCheckerRejectsBrokenXml) {
  EXPECT_EQ(xml_problem("<a><b/></a>", nullptr), "");
  EXPECT_NE(xml_problem("<a><b></a>", nullptr), "");
  EXPECT_NE(xml_problem("<a x=1/>", nullptr), "");
  EXPECT_NE(xml_problem("<a>&</a>", nullptr), "");
  EXPECT_NE(xml_problem("<a/><b/>", nullptr), "");
}

TEST(SimPlot, OneRunHasADelayLineAndAGoodputLinePerFlow) {
  Report r = run_pfifo(two_flows(), 1000);
  std::string svg = plot_svg({{"pfifo", &r}});
  std::vector<std::string> elements;
  ASSERT_EQ(xml_problem(svg, &elements), "") << svg;
  EXPECT_EQ(elements.front(), "svg");
  EXPECT_EQ(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), svg.find("<svg"));
  // Delay: one line; goodput: bulk and voip (the ping has no column).
  EXPECT_EQ(count(elements, "polyline"), 3u);
  EXPECT_NE(svg.find("<title>pfifo</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>bulk</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>voip</title>"), std::string::npos);
  EXPECT_NE(svg.find(">queueing delay (ms, mean per interval)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">goodput (Mbit/s)</text>"), std::string::npos);
  // Each line has a point per sample: 3 s / 100 ms.
  size_t at = svg.find("<polyline");
  size_t points = svg.find("points=\"", at) + 8;
  std::string list = svg.substr(points, svg.find('"', points) - points);
  EXPECT_EQ(std::count(list.begin(), list.end(), ','), 30);
  EXPECT_EQ(plot_svg({{"pfifo", &r}}), svg) << "deterministic";
}

TEST(SimPlot, ComparisonDrawsOneDelayLinePerQdiscAndEscapesNames) {
  Scenario s = two_flows();
  Report a = run_pfifo(s, 1000);
  Report b = run_pfifo(s, 20);
  std::string svg = plot_svg({{"pfifo limit 1000", &a}, {"small <&> \"q\"", &b}});
  std::vector<std::string> elements;
  ASSERT_EQ(xml_problem(svg, &elements), "") << svg;
  EXPECT_EQ(count(elements, "polyline"), 2u + 2 * 2);
  EXPECT_NE(svg.find("<title>small &lt;&amp;&gt; &quot;q&quot;</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>bulk (pfifo limit 1000)</title>"), std::string::npos);
  EXPECT_EQ(count(elements, "g"), 4u);  // axes and lines, per panel
}

TEST(SimPlot, WritingToABadPathIsAnError) {
  Report r = run_pfifo(two_flows(), 1000);
  EXPECT_THROW(write_plot("/nonexistent-dir/plot.svg", {{"pfifo", &r}}), Error);
}

}  // namespace
}  // namespace bpfq::io::sim::test
