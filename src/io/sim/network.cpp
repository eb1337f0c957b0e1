#include "network.hpp"

#include <cassert>

#include <bpfq/sched/ecn.hpp>

namespace bpfq::io::sim {

Network::Network(const Scenario& scenario, EventLoop& loop, runtime::ManualClock& clock, sched::PacketPool& pool,
                 Egress egress)
    : scenario_(scenario),
      loop_(loop),
      clock_(clock),
      pool_(pool),
      bottleneck_(loop, clock, egress, scenario.rate_bps, *this),
      forward_delay_ns_(scenario.rtt_ns / 2),
      reverse_delay_ns_(scenario.rtt_ns - scenario.rtt_ns / 2),
      forward_lane_(loop.add_lane()),
      reverse_lane_(loop.add_lane()) {}

void Network::add_flow(Flow& flow, bool by_packet) {
  assert(flow.id() == flows_.size());
  flows_.push_back(&flow);
  by_packet_.push_back(by_packet);
  if (by_packet && !owners_) owners_ = std::make_unique<PacketOwners>(pool_.capacity());
}

sched::Packet* Network::alloc() {
  sched::Packet* pkt = pool_.alloc();
  if (!pkt) {
    ++pool_exhausted_;
    return nullptr;
  }
  ++packets_built_;
  pkt->created_ns = loop_.now();
  return pkt;
}

void Network::send_forward(Flow& flow, sched::Packet* pkt) {
  ++flow.counters.packets_sent;
  if (owners_) owners_->set(pkt, flow.id());
  // Every verdict is final here: drops surface to TCP as missing ACKs, as on a real host
  // (Linux's local CN handling, entering CWR at once, is not modelled).
  (void)bottleneck_.enqueue(pkt);
}

void Network::send_reverse(sched::Packet* pkt) {
  loop_.schedule_in_lane(reverse_lane_, reverse_delay_ns_, *this, kReverseArrival, pkt);
}

Flow* Network::flow_of(const FrameInfo& info) const {
  return info.valid && info.flow < flows_.size() ? flows_[info.flow] : nullptr;
}

Flow* Network::forward_flow_of(const sched::Packet& pkt, const FrameInfo& info) const {
  if (owners_) {
    uint32_t owner = owners_->get(&pkt);
    if (owner != PacketOwners::kNone && by_packet_[owner]) return flows_[owner];
  }
  Flow* flow = flow_of(info);
  return flow && !by_packet_[flow->id()] ? flow : nullptr;
}

void Network::on_dequeued(sched::Packet& pkt, uint64_t sojourn_ns) {
  interval_delay_sum_ += sojourn_ns;
  ++interval_delay_count_;
  if (sojourn_ns > interval_delay_max_) interval_delay_max_ = sojourn_ns;
  interval_link_bytes_ += pkt.len();
  FrameInfo info = read_frame(pkt.bytes());
  if (Flow* flow = forward_flow_of(pkt, info)) {
    ++flow->counters.packets_dequeued;
    if (flow->queue_delay) flow->queue_delay->record(sojourn_ns);
  }
}

void Network::on_transmitted(sched::Packet* pkt) {
  // Its first bit left when serialisation began: what a capture on the egress device shows.
  if (tap_ && tap_->departed) tap_->departed(loop_.now() - bottleneck_.serialisation_ns(pkt->len()), pkt->bytes());
  loop_.schedule_in_lane(forward_lane_, forward_delay_ns_, *this, kForwardArrival, pkt);
}

void Network::on_event(uint32_t tag, sched::Packet* pkt) {
  if (tag == kSample) {
    sample();
    return;
  }
  FrameInfo info = read_frame(pkt->bytes());
  const bool forward = tag == kForwardArrival;
  Flow* flow = forward ? forward_flow_of(*pkt, info) : flow_of(info);
  if (forward && tap_ && tap_->arrived) tap_->arrived(loop_.now(), flow ? flow->id() : UINT32_MAX, pkt->bytes());
  if (flow && by_packet_[flow->id()]) {
    ++flow->counters.packets_delivered;
    if (sched::ecn_codepoint(pkt->bytes()) == 3) ++flow->counters.ecn_marks;
    flow->on_forward(info, *pkt);
  } else if (!flow || info.forward != forward) {
    ++unknown_frames_;  // e.g. a qdisc program rewrote the addresses
  } else if (forward) {
    ++flow->counters.packets_delivered;
    if (info.ecn == 3) ++flow->counters.ecn_marks;
    flow->on_forward(info, *pkt);
  } else {
    flow->on_reverse(info, *pkt);
  }
  sched::PacketPool::release(pkt);
}

void Network::drain_qdisc() {
  bottleneck_.runner().drain(
      [&](sched::Packet* pkt) {
        FrameInfo info = read_frame(pkt->bytes());
        if (Flow* flow = forward_flow_of(*pkt, info)) ++flow->counters.packets_queued_at_end;
        sched::PacketPool::release(pkt);
      },
      [&](uint64_t t) { clock_.set(t); });
}

void Network::start_sampling(std::vector<Flow*> flows_in_series, ProgressCallback progress) {
  series_flows_ = std::move(flows_in_series);
  series_flow_bytes_.assign(series_flows_.size(), 0);
  series_.interval_ns = scenario_.sample_interval_ns;
  progress_ = std::move(progress);
  loop_.schedule_at(scenario_.sample_interval_ns, *this, kSample);
}

void Network::sample() {
  uint64_t now = loop_.now();
  double seconds = static_cast<double>(scenario_.sample_interval_ns) / 1e9;
  series_.time_ns.push_back(now);
  series_.queue_delay_mean_ns.push_back(
      interval_delay_count_ ? static_cast<double>(interval_delay_sum_) / static_cast<double>(interval_delay_count_) : 0.0);
  series_.queue_delay_max_ns.push_back(interval_delay_max_);
  const sched::Qdisc* qdisc = bottleneck_.qdisc();
  series_.qlen.push_back(qdisc ? qdisc->qlen() : 0);
  series_.backlog_bytes.push_back(qdisc ? qdisc->backlog() : 0);
  series_.link_bps.push_back(static_cast<double>(interval_link_bytes_) * 8 / seconds);
  std::vector<double> row(series_flows_.size());
  for (size_t i = 0; i < series_flows_.size(); ++i) {
    uint64_t bytes = series_flows_[i]->counters.bytes_delivered;
    row[i] = static_cast<double>(bytes - series_flow_bytes_[i]) * 8 / seconds;
    series_flow_bytes_[i] = bytes;
  }
  series_.flow_bps.push_back(std::move(row));
  interval_delay_sum_ = interval_delay_count_ = interval_delay_max_ = interval_link_bytes_ = 0;
  if (progress_) progress_(Progress{now, scenario_.duration_ns, loop_.delivered()});
  if (now + scenario_.sample_interval_ns <= scenario_.duration_ns)
    loop_.schedule_at(now + scenario_.sample_interval_ns, *this, kSample);
}

}  // namespace bpfq::io::sim
