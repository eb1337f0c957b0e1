#include "bottleneck.hpp"

namespace bpfq::io::sim {

Bottleneck::Bottleneck(EventLoop& loop, runtime::ManualClock& clock, Egress egress, uint64_t rate_bps,
                       BottleneckListener& listener)
    : loop_(loop), rate_bps_(rate_bps), listener_(listener), timer_(loop, *this, kWatchdog) {
  if (egress.device)
    runner_.emplace(*egress.device, clock, *this, *this);
  else
    runner_.emplace(*egress.qdisc, clock, *this, *this);
}

uint64_t Bottleneck::serialisation_ns(uint32_t bytes) const {
  // Rounded to the nearest nanosecond; the error does not accumulate beyond 0.5 ns a packet.
  return (uint64_t{bytes} * 8 * 1'000'000'000 + rate_bps_ / 2) / rate_bps_;
}

bool Bottleneck::transmit(sched::Packet* pkt, uint64_t now_ns) {
  busy_ = true;
  listener_.on_dequeued(*pkt, now_ns - pkt->enqueue_ns);
  loop_.schedule_in(serialisation_ns(pkt->len()), *this, kTxDone, pkt);
  return true;
}

void Bottleneck::on_event(uint32_t tag, sched::Packet* pkt) {
  if (tag == kTxDone) {
    busy_ = false;
    ++packets_sent_;  // counted when the last bit left: utilisation never exceeds 1
    bytes_sent_ += pkt->len();
    listener_.on_transmitted(pkt);
    runner_->wake();
    return;
  }
  if (timer_.expired()) runner_->on_timer();  // kWatchdog; a superseded event is ignored
}

}  // namespace bpfq::io::sim
