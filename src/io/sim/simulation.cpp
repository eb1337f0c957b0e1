#include <bpfq/io/sim/simulation.hpp>

#include <algorithm>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/event_loop.hpp>

#include "network.hpp"
#include "pcap_replay_flow.hpp"
#include "pcap_writer.hpp"
#include "ping_flow.hpp"
#include "short_flow_group.hpp"
#include "tcp_flow.hpp"
#include "udp_flow.hpp"

namespace bpfq::io::sim {
namespace {

double goodput(uint64_t bytes, uint64_t start_ns, uint64_t end_ns) {
  return end_ns > start_ns ? static_cast<double>(bytes) * 8e9 / static_cast<double>(end_ns - start_ns) : 0.0;
}

void fill_common(FlowReport& r, const Flow& flow) {
  r.id = flow.id();
  r.packets_sent = flow.counters.packets_sent;
  r.packets_delivered = flow.counters.packets_delivered;
  r.bytes_delivered = flow.counters.bytes_delivered;
  r.drops = flow.counters.drops();
  r.ecn_marks = flow.counters.ecn_marks;
  if (flow.queue_delay) r.queue_delay = flow.queue_delay->summary();
}

// The flows a run holds, in report order: tcp, udp, ping (their ids follow the same order).
struct Flows {
  std::vector<std::unique_ptr<TcpFlow>> tcp;
  std::vector<std::unique_ptr<DelayHistogram>> tcp_rtt, tcp_queue_delay;
  std::vector<std::unique_ptr<UdpFlow>> udp;
  std::vector<std::unique_ptr<PingFlow>> pings;
  std::vector<std::unique_ptr<PcapReplayFlow>> replays;
  std::vector<std::unique_ptr<ShortFlowGroup>> short_groups;
};

}  // namespace

Simulation::Simulation(Scenario scenario) : scenario_(std::move(scenario)) {
  scenario_.validate();
  sched::PacketPoolConfig config;
  config.packets = scenario_.pool_packets;
  pool_ = std::make_unique<sched::PacketPool>(config);
  pool_->set_hash_perturbation(scenario_.seed);
}

Simulation::~Simulation() = default;

sched::DeviceParams Simulation::device() const {
  sched::DeviceParams d;
  d.mtu = scenario_.mtu;
  return d;
}

SimContext Simulation::context() { return SimContext{clock_, *pool_, device(), scenario_.seed}; }

Report Simulation::run(sched::Qdisc& qdisc) { return run(Egress{nullptr, &qdisc}); }

Report Simulation::run(sched::Device& device) {
  if (!device.root())
    throw Error("device " + device.name() + " has no root qdisc", "sim::Simulation::run", "set_root() first");
  return run(Egress{&device, nullptr});
}

Report Simulation::run(Egress egress) {
  if (ran_) throw Error("a Simulation runs once", "sim::Simulation::run", "create a new Simulation for another run");
  ran_ = true;
  const Scenario& sc = scenario_;
  clock_.set(0);
  EventLoop loop(clock_);
  Network net(sc, loop, clock_, *pool_, egress);
  sched::Qdisc& qdisc = *net.bottleneck().qdisc();
  Flows flows;
  std::vector<Flow*> series_flows;

  for (const TcpFlowSpec& spec : sc.tcp) {
    flows.tcp_rtt.push_back(std::make_unique<DelayHistogram>());
    flows.tcp_queue_delay.push_back(std::make_unique<DelayHistogram>());
    auto flow = std::make_unique<TcpFlow>(net, net.next_flow_id(), spec.cc, spec.bytes, spec.ecn, spec.sack, spec.ipv6,
                                          *flows.tcp_rtt.back(), *flows.tcp_queue_delay.back());
    net.add_flow(*flow);
    flow->schedule(spec.start_ns, spec.bytes == 0 ? spec.stop_ns : 0);
    series_flows.push_back(flow.get());
    flows.tcp.push_back(std::move(flow));
  }
  for (const UdpFlowSpec& spec : sc.udp) {
    auto flow = std::make_unique<UdpFlow>(net, net.next_flow_id(), spec);
    net.add_flow(*flow);
    flow->schedule();
    series_flows.push_back(flow.get());
    flows.udp.push_back(std::move(flow));
  }
  for (const PingSpec& spec : sc.pings) {
    auto flow = std::make_unique<PingFlow>(net, net.next_flow_id(), spec);
    net.add_flow(*flow);
    flow->schedule();
    flows.pings.push_back(std::move(flow));
  }
  for (const PcapReplaySpec& spec : sc.pcap_replays) {
    auto flow = std::make_unique<PcapReplayFlow>(net, net.next_flow_id(), spec);
    net.add_flow(*flow, true);
    flow->schedule();
    series_flows.push_back(flow.get());
    flows.replays.push_back(std::move(flow));
  }
  std::unique_ptr<PcapWriter> capture;
  FrameTap tap = tap_;
  if (!sc.pcap_output.empty()) {
    capture = std::make_unique<PcapWriter>(sc.pcap_output);
    tap.departed = [&capture, user = tap_.departed](uint64_t t, std::span<const uint8_t> frame) {
      capture->write(t, frame);
      if (user) user(t, frame);
    };
  }
  net.set_frame_tap(&tap);
  for (size_t i = 0; i < sc.short_flows.size(); ++i) {
    flows.short_groups.push_back(std::make_unique<ShortFlowGroup>(net, static_cast<uint32_t>(i), sc.short_flows[i]));
    flows.short_groups.back()->schedule();
  }
  net.start_sampling(series_flows, progress_);

  loop.run_until(sc.duration_ns);

  Report report;
  report.scenario = sc.name;
  report.seed = sc.seed;
  report.duration_ns = sc.duration_ns;
  report.qdisc.kind = std::string(qdisc.kind());
  report.qdisc.stats = qdisc.stats();
  report.qdisc.tc = report.qdisc.stats.to_tc_string();
  report.qdisc.conserved = report.qdisc.stats.conserved();
  report.link.rate_bps = sc.rate_bps;
  report.link.rtt_ns = sc.rtt_ns;
  report.link.mtu = sc.mtu;
  const sched::RunnerStats& runner = net.bottleneck().runner().stats();
  report.runner.dequeue_calls = runner.dequeue_calls;
  report.runner.requeues = runner.requeued;
  report.runner.watchdog_wakeups = net.bottleneck().runner().watchdog().wakeups();
  report.link.packets_sent = net.bottleneck().packets_sent();
  report.link.bytes_sent = net.bottleneck().bytes_sent();
  report.link.utilisation = static_cast<double>(report.link.bytes_sent) * 8 /
                            (static_cast<double>(sc.rate_bps) * static_cast<double>(sc.duration_ns) / 1e9);

  // Everything still queued counts per flow before the loop's packets go back to the pool.
  net.drain_qdisc();
  report.runner.drained_at_end = runner.drained;
  report.runner.reset_at_end = runner.reset_at_end;
  report.events = loop.delivered();
  loop.clear();
  if (capture) capture->close();  // throws if a write failed (e.g. a full disk)

  std::vector<double> tcp_goodputs;
  for (size_t i = 0; i < flows.tcp.size(); ++i) {
    const TcpFlow& flow = *flows.tcp[i];
    const TcpFlowSpec& spec = sc.tcp[i];
    const TcpSender& s = flow.sender();
    FlowReport r;
    fill_common(r, flow);
    r.name = spec.name;
    r.kind = "tcp";
    r.cc = std::string(congestion_control_name(spec.cc));
    r.start_ns = spec.start_ns;
    r.completed = spec.bytes != 0 && s.completed();
    r.end_ns = r.completed ? s.completed_ns() : (spec.bytes == 0 ? std::min(net.stop_time(spec.stop_ns), sc.duration_ns) : sc.duration_ns);
    if (r.completed) r.fct_ns = s.completed_ns() - s.start_ns();
    r.goodput_bps = goodput(r.bytes_delivered, r.start_ns, r.end_ns);
    r.retransmits = s.counters().retransmits;
    r.fast_retransmits = s.counters().fast_retransmits;
    r.timeouts = s.counters().timeouts;
    r.ecn_reductions = s.counters().ecn_reductions;
    r.final_cwnd = s.cwnd();
    r.rtt = flows.tcp_rtt[i]->summary();
    tcp_goodputs.push_back(r.goodput_bps);
    report.flows.push_back(std::move(r));
  }
  for (const auto& flow : flows.udp) {
    FlowReport r;
    fill_common(r, *flow);
    r.name = flow->spec().name;
    r.kind = "udp";
    r.start_ns = flow->spec().start_ns;
    r.end_ns = std::min(flow->end_ns(), sc.duration_ns);
    r.goodput_bps = goodput(r.bytes_delivered, r.start_ns, r.end_ns);
    r.one_way_delay = flow->one_way_delay.summary();
    report.flows.push_back(std::move(r));
  }
  for (size_t i = 0; i < flows.pings.size(); ++i) {
    const PingFlow& flow = *flows.pings[i];
    FlowReport r;
    fill_common(r, flow);
    r.name = sc.pings[i].name;
    r.kind = "ping";
    r.start_ns = sc.pings[i].start_ns;
    r.end_ns = std::min(flow.end_ns(), sc.duration_ns);
    r.goodput_bps = goodput(r.bytes_delivered, r.start_ns, r.end_ns);
    r.rtt = flow.rtt.summary();
    report.flows.push_back(std::move(r));
  }
  for (const auto& flow : flows.replays) {
    FlowReport r;
    fill_common(r, *flow);
    r.name = flow->spec().name;
    r.kind = "pcap";
    r.start_ns = std::min(flow->first_ns(), sc.duration_ns);
    r.end_ns = std::min(flow->last_ns(), sc.duration_ns);
    r.goodput_bps = goodput(r.bytes_delivered, r.start_ns, r.end_ns);
    r.frames_skipped = flow->skipped();
    report.flows.push_back(std::move(r));
  }
  for (const auto& group : flows.short_groups) report.short_flows.push_back(group->report());
  report.jain_fairness = jain_index(tcp_goodputs);
  report.packets = net.packets_built();
  report.pool_exhausted = net.pool_exhausted();
  report.series = std::move(net.series());
  return report;
}

Report simulate(const Scenario& scenario, const QdiscFactory& factory, ProgressCallback progress) {
  Simulation sim(scenario);
  sim.set_progress(std::move(progress));
  std::unique_ptr<sched::Qdisc> qdisc = factory(sim.context());
  if (!qdisc) throw Error("the qdisc factory returned no qdisc", "sim::simulate");
  Report report = sim.run(*qdisc);
  qdisc.reset();  // before the pool it may still reference goes away
  return report;
}

}  // namespace bpfq::io::sim
