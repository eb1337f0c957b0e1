#include "tcp_flow.hpp"

#include "network.hpp"

namespace bpfq::io::sim {

TcpFlow::TcpFlow(Network& net, uint32_t id, CongestionControl cc, uint64_t bytes, bool ecn, bool sack, bool ipv6,
                 DelayHistogram& rtt, DelayHistogram& queue_delay)
    : Flow(id, ipv6),
      net_(net),
      sender_(net, *this, cc, net.scenario().mtu - (ipv6 ? kIpv6TcpHeaders : kIpv4TcpHeaders), bytes, ecn, sack, rtt),
      receiver_(net, *this, sender_.isn(), sack) {
  this->queue_delay = &queue_delay;
}

void TcpFlow::schedule(uint64_t start_ns, uint64_t stop_ns) {
  stop_ns_ = stop_ns;
  net_.loop().schedule_at(start_ns, *this, kStart);
  if (stop_ns != 0) net_.loop().schedule_at(stop_ns, *this, kStop);
}

void TcpFlow::on_forward(const FrameInfo& info, sched::Packet&) {
  if (info.proto == kIpProtoTcp) receiver_.on_segment(info);
}

void TcpFlow::on_reverse(const FrameInfo& info, sched::Packet&) {
  if (info.proto == kIpProtoTcp) sender_.on_ack(info);
}

void TcpFlow::on_event(uint32_t tag, sched::Packet*) {
  if (tag == kStart) sender_.start();
  else sender_.stop();
}

}  // namespace bpfq::io::sim
