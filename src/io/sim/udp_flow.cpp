#include "udp_flow.hpp"

#include <bpfq/sched/packet_builder.hpp>

#include "network.hpp"

namespace bpfq::io::sim {

UdpFlow::UdpFlow(Network& net, uint32_t id, const UdpFlowSpec& spec)
    : Flow(id, spec.ipv6), net_(net), spec_(spec), rng_(net.scenario().seed, id) {
  queue_delay = &own_queue_delay;
  // The rate counts whole frames (Ethernet + IP + UDP + payload), as the link does.
  double frame_bits = (spec.payload_bytes + kEthernetHeader + (spec.ipv6 ? kIpv6Header : kIpv4Header) + 8) * 8.0;
  mean_gap_ns_ = frame_bits * 1e9 / static_cast<double>(spec.rate_bps);
}

uint64_t UdpFlow::end_ns() const { return net_.stop_time(spec_.stop_ns); }

void UdpFlow::schedule() {
  if (spec_.pattern == UdpPattern::OnOff)
    on_until_ = spec_.start_ns + static_cast<uint64_t>(rng_.exponential(static_cast<double>(spec_.on_ns)));
  net_.loop().schedule_at(spec_.start_ns, *this, 0);
}

uint64_t UdpFlow::next_gap_ns() {
  switch (spec_.pattern) {
    case UdpPattern::Cbr:
      return static_cast<uint64_t>(mean_gap_ns_ + 0.5);
    case UdpPattern::Poisson:
      return static_cast<uint64_t>(rng_.exponential(mean_gap_ns_)) + 1;
    case UdpPattern::OnOff: {
      uint64_t now = net_.now();
      uint64_t next = now + static_cast<uint64_t>(mean_gap_ns_ + 0.5);
      if (next <= on_until_) return next - now;
      // Off until the next on period.
      uint64_t on_start = on_until_ + static_cast<uint64_t>(rng_.exponential(static_cast<double>(spec_.off_ns)));
      on_until_ = on_start + static_cast<uint64_t>(rng_.exponential(static_cast<double>(spec_.on_ns)));
      return on_start > now ? on_start - now : 1;
    }
  }
  return 1;
}

void UdpFlow::on_event(uint32_t, sched::Packet*) {
  if (net_.now() >= end_ns()) return;
  send_one();
  net_.loop().schedule_in(next_gap_ns(), *this, 0);
}

void UdpFlow::send_one() {
  sched::Packet* pkt = net_.alloc();
  if (!pkt) return;  // a datagram lost in the sender's host
  sched::FrameSpec spec = frame_spec(id(), true, sched::L4::Udp, ipv6());
  spec.payload_len = spec_.payload_bytes;
  spec.dscp = spec_.dscp;
  spec.ecn = spec_.ecn ? 2 : 0;
  spec.ip_id = ip_id_++;
  sched::build_into(*pkt, spec);
  pkt->skb.priority = spec_.priority;
  net_.send_forward(*this, pkt);
}

void UdpFlow::on_forward(const FrameInfo& info, sched::Packet& pkt) {
  counters.bytes_delivered += info.payload_len;
  one_way_delay.record(net_.now() - pkt.created_ns);
}

}  // namespace bpfq::io::sim
