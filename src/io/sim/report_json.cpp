#include <bpfq/io/sim/report.hpp>

#include <nlohmann/json.hpp>

namespace bpfq::io::sim {
namespace {

using nlohmann::ordered_json;

ordered_json delay_json(const DelaySummary& d) {
  // Milliseconds: what people plot and compare.
  auto ms = [](double ns) { return ns / 1e6; };
  return ordered_json{{"count", d.count},
                      {"mean_ms", ms(d.mean_ns)},
                      {"min_ms", ms(static_cast<double>(d.min_ns))},
                      {"p50_ms", ms(static_cast<double>(d.p50_ns))},
                      {"p90_ms", ms(static_cast<double>(d.p90_ns))},
                      {"p99_ms", ms(static_cast<double>(d.p99_ns))},
                      {"max_ms", ms(static_cast<double>(d.max_ns))}};
}

ordered_json qdisc_json(const QdiscReport& q) {
  const sched::QdiscStats& s = q.stats;
  ordered_json drops = ordered_json::object();
  for (size_t i = 0; i < static_cast<size_t>(sched::DropReason::Count); ++i)
    if (s.drops_by_reason[i]) drops[std::string(sched::drop_reason_name(static_cast<sched::DropReason>(i)))] = s.drops_by_reason[i];
  return ordered_json{{"kind", q.kind},
                      {"enqueued_packets", s.enqueued_packets},
                      {"enqueued_bytes", s.enqueued_bytes},
                      {"sent_packets", s.sent_packets},
                      {"sent_bytes", s.sent_bytes},
                      {"dropped", s.tc_dropped()},
                      {"drops_by_reason", drops},
                      {"overlimits", s.overlimits},
                      {"requeues", s.requeues},
                      {"qlen", s.qlen},
                      {"backlog", s.backlog},
                      {"conserved", q.conserved},
                      {"tc", q.tc}};
}

ordered_json flow_json(const FlowReport& f) {
  ordered_json j{{"id", f.id},
                 {"name", f.name},
                 {"kind", f.kind},
                 {"start_s", static_cast<double>(f.start_ns) / 1e9},
                 {"end_s", static_cast<double>(f.end_ns) / 1e9},
                 {"bytes_delivered", f.bytes_delivered},
                 {"goodput_mbps", f.goodput_bps / 1e6},
                 {"packets_sent", f.packets_sent},
                 {"packets_delivered", f.packets_delivered},
                 {"drops", f.drops},
                 {"ecn_marks", f.ecn_marks}};
  if (f.kind == "tcp") {
    j["cc"] = f.cc;
    j["retransmits"] = f.retransmits;
    j["fast_retransmits"] = f.fast_retransmits;
    j["timeouts"] = f.timeouts;
    j["ecn_reductions"] = f.ecn_reductions;
    j["final_cwnd"] = f.final_cwnd;
    j["completed"] = f.completed;
    if (f.fct_ns) j["fct_ms"] = static_cast<double>(*f.fct_ns) / 1e6;
  }
  if (f.kind == "pcap") j["frames_skipped"] = f.frames_skipped;
  if (f.kind == "tcp" || f.kind == "ping") j["rtt"] = delay_json(f.rtt);
  if (f.kind == "udp") j["one_way_delay"] = delay_json(f.one_way_delay);
  j["queue_delay"] = delay_json(f.queue_delay);
  return j;
}

ordered_json short_json(const ShortFlowsReport& s) {
  return ordered_json{{"name", s.name},           {"cc", s.cc},
                      {"started", s.started},     {"completed", s.completed},
                      {"bytes_delivered", s.bytes_delivered}, {"retransmits", s.retransmits},
                      {"timeouts", s.timeouts},   {"drops", s.drops},
                      {"fct", delay_json(s.fct)}, {"rtt", delay_json(s.rtt)},
                      {"queue_delay", delay_json(s.queue_delay)}};
}

ordered_json series_json(const TimeSeries& t) {
  ordered_json flows = ordered_json::array();
  for (const auto& row : t.flow_bps) flows.push_back(row);
  return ordered_json{{"interval_ms", static_cast<double>(t.interval_ns) / 1e6},
                      {"time_s", [&] {
                         ordered_json a = ordered_json::array();
                         for (uint64_t ns : t.time_ns) a.push_back(static_cast<double>(ns) / 1e9);
                         return a;
                       }()},
                      {"queue_delay_mean_ns", t.queue_delay_mean_ns},
                      {"queue_delay_max_ns", t.queue_delay_max_ns},
                      {"qlen", t.qlen},
                      {"backlog_bytes", t.backlog_bytes},
                      {"link_bps", t.link_bps},
                      {"flow_bps", flows}};
}

}  // namespace

double jain_index(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (double v : values) {
    sum += v;
    squares += v * v;
  }
  if (values.empty() || squares == 0) return 1.0;
  return sum * sum / (static_cast<double>(values.size()) * squares);
}

std::string report_to_json(const Report& r, int indent, bool series) {
  ordered_json flows = ordered_json::array();
  for (const FlowReport& f : r.flows) flows.push_back(flow_json(f));
  ordered_json shorts = ordered_json::array();
  for (const ShortFlowsReport& s : r.short_flows) shorts.push_back(short_json(s));
  ordered_json j{{"scenario", r.scenario},
                 {"seed", r.seed},
                 {"duration_s", static_cast<double>(r.duration_ns) / 1e9},
                 {"link",
                  {{"rate_mbps", static_cast<double>(r.link.rate_bps) / 1e6},
                   {"rtt_ms", static_cast<double>(r.link.rtt_ns) / 1e6},
                   {"mtu", r.link.mtu},
                   {"packets_sent", r.link.packets_sent},
                   {"bytes_sent", r.link.bytes_sent},
                   {"utilisation", r.link.utilisation}}},
                 {"qdisc", qdisc_json(r.qdisc)},
                 {"runner", ordered_json{{"dequeue_calls", r.runner.dequeue_calls},
                                         {"requeues", r.runner.requeues},
                                         {"watchdog_wakeups", r.runner.watchdog_wakeups},
                                         {"drained_at_end", r.runner.drained_at_end},
                                         {"reset_at_end", r.runner.reset_at_end}}},
                 {"jain_fairness", r.jain_fairness},
                 {"flows", flows},
                 {"short_flows", shorts},
                 {"events", r.events},
                 {"packets", r.packets},
                 {"pool_exhausted", r.pool_exhausted}};
  if (series) j["series"] = series_json(r.series);
  return j.dump(indent);
}

}  // namespace bpfq::io::sim
