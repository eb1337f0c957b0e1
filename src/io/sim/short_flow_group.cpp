#include "short_flow_group.hpp"

#include <algorithm>

#include "network.hpp"

namespace bpfq::io::sim {

ShortFlowGroup::ShortFlowGroup(Network& net, uint32_t index, const ShortFlowSpec& spec)
    : net_(net), spec_(spec), rng_(net.scenario().seed, 0x5000'0000ull + index) {}

uint64_t ShortFlowGroup::end_ns() const { return net_.stop_time(spec_.stop_ns); }

void ShortFlowGroup::schedule() {
  double gap = rng_.exponential(1e9 / spec_.arrivals_per_s);
  net_.loop().schedule_at(spec_.start_ns + static_cast<uint64_t>(gap), *this, 0);
}

uint64_t ShortFlowGroup::draw_size() {
  const SizeDistribution& d = spec_.size;
  double mean = static_cast<double>(d.mean_bytes);
  double size = mean;
  if (d.kind == SizeDistribution::Kind::Exponential) size = rng_.exponential(mean);
  else if (d.kind == SizeDistribution::Kind::Pareto) size = rng_.pareto(mean, d.shape);
  // A heavy Pareto tail can exceed what a uint64_t holds; converting that would be undefined.
  size = std::min(size, static_cast<double>(kMaxFlowBytes));
  auto bytes = std::max<uint64_t>(1, static_cast<uint64_t>(size));
  return d.max_bytes ? std::min(bytes, d.max_bytes) : bytes;
}

void ShortFlowGroup::on_event(uint32_t, sched::Packet*) {
  if (net_.now() >= end_ns()) return;
  if (net_.next_flow_id() < kMaxFlows) {
    auto flow = std::make_unique<TcpFlow>(net_, net_.next_flow_id(), spec_.cc, draw_size(), spec_.ecn, spec_.sack, spec_.ipv6, rtt_,
                                          queue_delay_);
    net_.add_flow(*flow);
    flow->schedule(net_.now(), 0);
    flows_.push_back(std::move(flow));
  }
  net_.loop().schedule_in(static_cast<uint64_t>(rng_.exponential(1e9 / spec_.arrivals_per_s)) + 1, *this, 0);
}

ShortFlowsReport ShortFlowGroup::report() const {
  ShortFlowsReport r;
  r.name = spec_.name;
  r.cc = std::string(congestion_control_name(spec_.cc));
  DelayHistogram fct;
  for (const auto& flow : flows_) {
    const TcpSender& s = flow->sender();
    ++r.started;
    r.bytes_delivered += flow->counters.bytes_delivered;
    r.retransmits += s.counters().retransmits;
    r.timeouts += s.counters().timeouts;
    r.drops += flow->counters.drops();
    if (s.completed()) {
      ++r.completed;
      fct.record(s.completed_ns() - s.start_ns());
    }
  }
  r.fct = fct.summary();
  r.rtt = rtt_.summary();
  r.queue_delay = queue_delay_.summary();
  return r;
}

}  // namespace bpfq::io::sim
