#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include <bpfq/error.hpp>

namespace bpfq::sched {

PfifoFastQdisc::PfifoFastQdisc(Handle handle, const DeviceParams& device)
    : Qdisc("pfifo_fast", handle), band_limit_(device.tx_queue_len) {
  if (device.tx_queue_len == 0)
    throw Error("pfifo_fast needs a device tx_queue_len above 0", "pfifo_fast",
                "set txqueuelen, or use pfifo/noqueue-like qdiscs for a queue-less device");
}

PfifoFastQdisc::~PfifoFastQdisc() { reset(); }

EnqueueResult PfifoFastQdisc::do_enqueue(Packet* pkt, uint64_t) {
  PacketQueue& band = bands_[band_of(*pkt)];
  if (band.size() >= band_limit_) return drop_and_report(pkt, DropReason::QueueFull);
  queue_tail(band, pkt);
  return EnqueueResult::queued();
}

DequeueResult PfifoFastQdisc::do_dequeue(uint64_t) {
  for (PacketQueue& band : bands_)
    if (Packet* pkt = unqueue_head(band)) return DequeueResult::of(pkt);
  return DequeueResult::empty();
}

const Packet* PfifoFastQdisc::do_peek(uint64_t) {
  for (const PacketQueue& band : bands_)
    if (!band.empty()) return band.front();
  return nullptr;
}

void PfifoFastQdisc::do_reset() {
  for (PacketQueue& band : bands_) drop_queue(band, DropReason::Reset);
}

}  // namespace bpfq::sched
