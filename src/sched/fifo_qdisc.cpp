#include <bpfq/sched/fifo_qdisc.hpp>

#include <algorithm>

namespace bpfq::sched {

FifoQdisc::FifoQdisc(std::string_view kind, Handle handle, uint32_t limit)
    : Qdisc(kind, handle), limit_(limit) {}

FifoQdisc::~FifoQdisc() { reset(); }

EnqueueResult FifoQdisc::enqueue_tail(Packet* pkt) {
  queue_tail(queue_, pkt);
  return EnqueueResult::queued();
}

DequeueResult FifoQdisc::do_dequeue(uint64_t) { return DequeueResult::of(unqueue_head(queue_)); }

const Packet* FifoQdisc::do_peek(uint64_t) { return queue_.front(); }

void FifoQdisc::do_reset() { drop_queue(queue_, DropReason::Reset); }

// fifo_init() without options: tx_queue_len (at least 1) packets, times psched_mtu for bfifo.
static uint32_t default_packets(const DeviceParams& d) { return std::max<uint32_t>(d.tx_queue_len, 1); }

PfifoQdisc::PfifoQdisc(std::optional<uint32_t> limit, Handle handle, const DeviceParams& device)
    : FifoQdisc("pfifo", handle, limit.value_or(default_packets(device))) {}

EnqueueResult PfifoQdisc::do_enqueue(Packet* pkt, uint64_t) {
  if (queue_.size() < limit_) return enqueue_tail(pkt);
  return drop_and_report(pkt, DropReason::QueueFull);
}

BfifoQdisc::BfifoQdisc(std::optional<uint32_t> limit, Handle handle, const DeviceParams& device)
    : FifoQdisc("bfifo", handle, limit.value_or(default_packets(device) * device.psched_mtu())) {}

EnqueueResult BfifoQdisc::do_enqueue(Packet* pkt, uint64_t) {
  if (queue_.bytes() + pkt->qdisc_len() <= limit_) return enqueue_tail(pkt);
  return drop_and_report(pkt, DropReason::QueueFull);
}

PfifoHeadDropQdisc::PfifoHeadDropQdisc(std::optional<uint32_t> limit, Handle handle,
                                       const DeviceParams& device)
    : FifoQdisc("pfifo_head_drop", handle, limit.value_or(default_packets(device))) {}

EnqueueResult PfifoHeadDropQdisc::do_enqueue(Packet* pkt, uint64_t) {
  if (queue_.size() < limit_) return enqueue_tail(pkt);
  if (limit_ == 0) return drop_and_report(pkt, DropReason::QueueFull);  // nothing to make room with
  drop(unqueue_head(queue_), DropReason::Congestion);
  enqueue_tail(pkt);
  return EnqueueResult::congested(DropReason::Congestion);
}

}  // namespace bpfq::sched
