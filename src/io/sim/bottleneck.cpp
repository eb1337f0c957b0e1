#include "bottleneck.hpp"

namespace bpfq::io::sim {

uint64_t Bottleneck::serialisation_ns(uint32_t bytes) const {
  // Rounded to the nearest nanosecond; the error does not accumulate beyond 0.5 ns a packet.
  return (uint64_t{bytes} * 8 * 1'000'000'000 + rate_bps_ / 2) / rate_bps_;
}

sched::EnqueueResult Bottleneck::enqueue(sched::Packet* pkt) {
  sched::EnqueueResult r = qdisc_.enqueue(pkt, loop_.now());
  if (!busy_) try_transmit();
  return r;
}

void Bottleneck::try_transmit() {
  if (busy_) return;
  uint64_t now = loop_.now();
  sched::DequeueResult r = qdisc_.dequeue(now);
  switch (r.kind) {
    case sched::DequeueResult::Kind::Packet: {
      sched::Packet* pkt = r.packet;
      busy_ = true;
      listener_.on_dequeued(*pkt, now - pkt->enqueue_ns);
      loop_.schedule_in(serialisation_ns(pkt->len()), *this, kTxDone, pkt);
      break;
    }
    case sched::DequeueResult::Kind::Throttled: {
      // The watchdog: wake the dequeue side when the qdisc says it has something to send.
      uint64_t at = r.throttled_until_ns > now ? r.throttled_until_ns : now + 1;
      if (watchdog_at_ == 0 || at < watchdog_at_) {
        watchdog_at_ = at;
        loop_.schedule_at(at, *this, kWatchdog);
      }
      break;
    }
    case sched::DequeueResult::Kind::Empty:
      break;
  }
}

void Bottleneck::on_event(uint32_t tag, sched::Packet* pkt) {
  if (tag == kTxDone) {
    busy_ = false;
    ++packets_sent_;  // counted when the last bit left: utilisation never exceeds 1
    bytes_sent_ += pkt->len();
    listener_.on_transmitted(pkt);
    try_transmit();
    return;
  }
  // kWatchdog: a stale wake-up (an earlier one was armed since) only retries a dequeue.
  if (watchdog_at_ != 0 && watchdog_at_ <= loop_.now()) {
    watchdog_at_ = 0;
    ++watchdog_wakeups_;
  }
  try_transmit();
}

}  // namespace bpfq::io::sim
