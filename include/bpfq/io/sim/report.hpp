#pragma once
// What a simulation reports: per flow, per short-flow group, the qdisc (tc -s), the link,
// Jain's fairness index and time series for plotting. Serialised with report_to_json().
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc_stats.hpp>

namespace bpfq::io::sim {

// Distribution summary of a delay, in nanoseconds. Percentiles come from a log-linear
// histogram (relative error < 1/64); min, max and mean are exact. All zero when count == 0.
struct DelaySummary {
  uint64_t count = 0;
  double mean_ns = 0;
  uint64_t min_ns = 0;
  uint64_t p50_ns = 0;
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
};

struct FlowReport {
  uint32_t id = 0;
  std::string name;
  std::string kind;  // "tcp", "udp", "ping", "pcap" (replay)
  std::string cc;    // tcp: "cubic" / "newreno"
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;             // completion (finite tcp) or when it stopped offering data
  uint64_t bytes_delivered = 0;    // application bytes received (tcp: in order; pcap: whole frames)
  double goodput_bps = 0;          // bytes_delivered * 8 / (end - start)
  uint64_t packets_sent = 0;       // handed to the bottleneck (data, probes)
  uint64_t packets_delivered = 0;  // arrived at the receiver
  uint64_t drops = 0;              // dropped by the qdisc (sent - dequeued - queued at the end)
  uint64_t ecn_marks = 0;          // CE-marked packets seen by the receiver
  // tcp
  uint64_t retransmits = 0;        // segments sent again (fast retransmit, RTO, go-back-N)
  uint64_t fast_retransmits = 0;   // loss recoveries entered on 3 duplicate ACKs
  uint64_t timeouts = 0;           // RTO expiries
  uint64_t ecn_reductions = 0;     // window reductions in response to ECE
  double final_cwnd = 0;           // segments
  bool completed = false;          // finite tcp: every byte acknowledged
  std::optional<uint64_t> fct_ns;  // finite tcp: start -> last byte acknowledged
  // pcap
  uint64_t frames_skipped = 0;     // not Ethernet, cut short by the snaplen, or longer than the MTU allows
  DelaySummary rtt;                // tcp: per-ACK samples (Karn); ping: echo RTT
  DelaySummary one_way_delay;      // udp: send -> arrival
  DelaySummary queue_delay;        // sojourn in the qdisc of this flow's packets
};

struct ShortFlowsReport {
  std::string name;
  std::string cc;
  uint64_t started = 0;
  uint64_t completed = 0;
  uint64_t bytes_delivered = 0;
  uint64_t retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t drops = 0;
  DelaySummary fct;          // completed flows only
  DelaySummary rtt;
  DelaySummary queue_delay;
};

struct QdiscReport {
  std::string kind;
  sched::QdiscStats stats;  // at the end of the run, before the simulator drained the qdisc
  std::string tc;           // stats.to_tc_string()
  bool conserved = false;
};

// The engine's run loop (sched::QdiscRunner) on the bottleneck.
struct RunnerReport {
  uint64_t dequeue_calls = 0;
  uint64_t requeues = 0;
  uint64_t watchdog_wakeups = 0;  // THROTTLE wake-ups that came due
  uint64_t drained_at_end = 0;    // still queued at the end, dequeued by the final drain
  uint64_t reset_at_end = 0;      // still queued after the drain, released by a reset
};

struct LinkReport {
  uint64_t rate_bps = 0;
  uint64_t rtt_ns = 0;
  uint32_t mtu = 0;
  uint64_t packets_sent = 0;  // onto the bottleneck wire
  uint64_t bytes_sent = 0;
  double utilisation = 0;     // bytes_sent * 8 / (rate * duration)
};

// One row per sample interval; flow_bps[i][k] is the goodput in interval i of the k-th flow of
// kind tcp, udp or pcap in Report::flows (pings have no column).
struct TimeSeries {
  uint64_t interval_ns = 0;
  std::vector<uint64_t> time_ns;          // end of each interval
  std::vector<double> queue_delay_mean_ns;
  std::vector<uint64_t> queue_delay_max_ns;
  std::vector<uint32_t> qlen;             // qdisc qlen at the end of the interval
  std::vector<uint64_t> backlog_bytes;
  std::vector<double> link_bps;           // bottleneck throughput
  std::vector<std::vector<double>> flow_bps;
};

struct Report {
  std::string scenario;
  uint64_t seed = 0;
  uint64_t duration_ns = 0;
  LinkReport link;
  QdiscReport qdisc;
  RunnerReport runner;
  std::vector<FlowReport> flows;
  std::vector<ShortFlowsReport> short_flows;
  double jain_fairness = 1.0;  // over the goodputs of the tcp flows in `flows` (1 if fewer than 2)
  uint64_t events = 0;         // events the loop delivered
  uint64_t packets = 0;        // packets the simulation built (data, ACKs, probes)
  uint64_t pool_exhausted = 0; // packets not sent because the pool was empty
  TimeSeries series;
};

// Jain's fairness index (sum x)^2 / (n * sum x^2); 1 for an empty or all-zero input.
double jain_index(const std::vector<double>& values);

// The report as JSON text (nlohmann-json); byte-identical for identical reports.
// With series = false the time series is left out.
std::string report_to_json(const Report& report, int indent = 2, bool series = true);

}  // namespace bpfq::io::sim
