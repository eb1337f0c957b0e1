#include "ping_flow.hpp"

#include <bpfq/sched/packet_builder.hpp>

#include "network.hpp"

namespace bpfq::io::sim {
namespace {

bool is_echo(const FrameInfo& info, uint8_t type) {
  return info.proto == (info.ipv6 ? kIpProtoIcmpv6 : kIpProtoIcmp) && info.icmp_type == type;
}

}  // namespace

PingFlow::PingFlow(Network& net, uint32_t id, const PingSpec& spec) : Flow(id, spec.ipv6), net_(net), spec_(spec) {
  queue_delay = &own_queue_delay;
}

uint64_t PingFlow::end_ns() const { return net_.stop_time(spec_.stop_ns); }

void PingFlow::schedule() { net_.loop().schedule_at(spec_.start_ns, *this, 0); }

void PingFlow::on_event(uint32_t, sched::Packet*) {
  if (net_.now() >= end_ns()) return;
  if (sched::Packet* pkt = net_.alloc()) {
    sched::FrameSpec spec = frame_spec(id(), true, sched::L4::Icmp, ipv6());
    spec.icmp_type = ipv6() ? kEchoRequest6 : kEchoRequest;
    spec.icmp_seq = next_seq_;
    spec.payload_len = spec_.payload_bytes;
    sched::build_into(*pkt, spec);
    sent_ns_[next_seq_ % kOutstanding] = net_.now();
    net_.send_forward(*this, pkt);
  }
  ++next_seq_;
  net_.loop().schedule_in(spec_.interval_ns, *this, 0);
}

void PingFlow::on_forward(const FrameInfo& info, sched::Packet&) {
  if (!is_echo(info, ipv6() ? kEchoRequest6 : kEchoRequest)) return;
  counters.bytes_delivered += info.payload_len;
  sched::Packet* reply = net_.alloc();
  if (!reply) return;
  sched::FrameSpec spec = frame_spec(id(), false, sched::L4::Icmp, ipv6());
  spec.icmp_type = ipv6() ? kEchoReply6 : kEchoReply;
  spec.icmp_seq = info.icmp_seq;
  spec.payload_len = info.payload_len;
  sched::build_into(*reply, spec);
  net_.send_reverse(reply);
}

void PingFlow::on_reverse(const FrameInfo& info, sched::Packet&) {
  if (!is_echo(info, ipv6() ? kEchoReply6 : kEchoReply)) return;
  ++replies_;
  rtt.record(net_.now() - sent_ns_[info.icmp_seq % kOutstanding]);
}

}  // namespace bpfq::io::sim
