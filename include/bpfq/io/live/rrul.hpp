#pragma once
// `bpfq rrul`: latency under load in the style of flent's RRUL test, on a testbed inside this host
// (testbed.hpp): `bpfq live ra rb` in R with the user's setup, TCP flows A→B (upload, leaving R
// through rb's tree) and B→A (download, through ra's tree) by iperf3, and a ping from A to B
// every 100 ms from a few idle seconds before the load until a second after it. The report:
// ping RTT percentiles idle and under load, per-flow goodput over time (measured at each
// flow's receiver), and bpfq live's own report (conservation, health); as text, JSON and an SVG
// chart (io/chart.hpp).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <bpfq/io/chart.hpp>

namespace bpfq::io::live {

struct RrulOptions {
  std::string setup;  // tc lines for `bpfq live ra rb -b` (rb: upload, ra: download)
  std::string setup_name;  // for the report ("fq_codel 100mbit", a file name)
  std::string bpfq;   // the bpfq binary that runs `live` in R
  std::string port = "auto";
  int up = 4;    // TCP flows A→B
  int down = 4;  // TCP flows B→A
  std::string congestion_control = "cubic";
  double load_s = 15;      // how long the flows run
  double idle_s = 2;       // ping alone before the load (the idle baseline)
  double interval_s = 0.5; // goodput sample interval
  double ping_interval_s = 0.1;
  std::function<bool()> interrupted;  // polled while waiting: true ends the run (an Error)
};

struct PingReply {
  double at_s = 0;  // CLOCK_REALTIME seconds (ping -D), or seconds into the run in a report
  double rtt_ms = 0;
};

// The replies in the output of `ping -D`, in order.
std::vector<PingReply> ping_replies(const std::string& ping_output);

// One iperf3 run's streams as measured by the side that printed the JSON (`iperf3 -J -i`):
// each stream's bits per second over each interval, intervals ending at end_s (seconds after
// that iperf3's start); "omitted" intervals are left out. Throws bpfq::Error on output that
// is not iperf3's JSON or that reports an error.
struct IperfIntervals {
  std::vector<double> end_s;
  std::vector<std::vector<double>> stream_bps;  // [stream][interval]
};
IperfIntervals iperf_intervals(const std::string& iperf3_json);

struct RrulFlow {
  std::string name;       // "up 1", "down 3"
  std::vector<double> mbps;  // per sample, aligned with RrulReport::time_s
  double mean_mbps = 0;   // over the samples of the load
};

struct RttSummary {
  size_t replies = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

struct RrulReport {
  RrulOptions options;
  double duration_s = 0;         // idle + load + 1 s
  std::vector<double> time_s;    // end of each goodput sample, seconds into the run
  std::vector<RrulFlow> flows;   // up flows, then down flows
  std::vector<PingReply> pings;  // at_s: seconds into the run
  uint32_t pings_sent = 0;
  RttSummary idle, loaded;       // before the load; during the load after its first second
  double up_mbps = 0, down_mbps = 0;  // sum of the flows' means
  std::string live_json;         // `bpfq live -j`'s report
  bool live_conserved = false;   // from it: every packet accounted for
  std::string live_problems;     // from it: faults, leaks, … (empty when clean)
};

// Builds the testbed, runs the test, removes the testbed. Throws bpfq::Error naming what failed
// (a missing tool, bpfq live refusing the setup, B unreachable, iperf3 failing, interrupted).
RrulReport run_rrul(const RrulOptions& options);

RttSummary summarize_rtts(std::vector<double> rtts_ms);
std::string rrul_text(const RrulReport& report);
std::string rrul_json(const RrulReport& report);  // one JSON object, indented
Chart rrul_chart(const RrulReport& report);

}  // namespace bpfq::io::live
