#include <bpfq/sched/qdisc.hpp>

#include <cassert>

#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::sched {

int EnqueueResult::net_xmit() const {
  switch (verdict) {
    case EnqueueVerdict::Queued: return kNetXmitSuccess;
    case EnqueueVerdict::Dropped: return kNetXmitDrop;
    case EnqueueVerdict::Congested: return kNetXmitCn;
    case EnqueueVerdict::Bypass: return kNetXmitSuccess | kNetXmitBypass;
    case EnqueueVerdict::Stolen: return kNetXmitSuccess | kNetXmitStolen;
  }
  return kNetXmitDrop;
}

Qdisc::Qdisc(std::string_view kind, Handle handle) : kind_(kind), handle_(handle) {}

Qdisc::~Qdisc() {
  // Derived destructors reset() their own queues; only held packets can remain here.
  while (Packet* pkt = held_.pop_front()) PacketPool::release(pkt);
}

EnqueueResult Qdisc::enqueue(Packet* pkt, uint64_t now_ns) {
  assert(pkt->next == nullptr && "a packet enqueued while linked in another queue");
  ++stats_.enqueued_packets;
  stats_.enqueued_bytes += pkt->qdisc_len();
  pkt->enqueue_ns = now_ns;
  return do_enqueue(pkt, now_ns);
}

DequeueResult Qdisc::dequeue(uint64_t now_ns) {
  DequeueResult r;
  if (Packet* held = unqueue_head(held_)) {
    r = DequeueResult::of(held);
  } else {
    r = do_dequeue(now_ns);
  }
  if (r.packet) {
    ++stats_.sent_packets;
    stats_.sent_bytes += r.packet->qdisc_len();
  }
  return r;
}

const Packet* Qdisc::peek(uint64_t now_ns) {
  if (const Packet* held = held_.front()) return held;
  return do_peek(now_ns);
}

const Packet* Qdisc::do_peek(uint64_t now_ns) {
  DequeueResult r = do_dequeue(now_ns);
  if (!r.packet) return nullptr;
  queue_tail(held_, r.packet);
  return r.packet;
}

void Qdisc::requeue(Packet* pkt) {
  assert(stats_.sent_packets > 0 && "requeue of a packet this qdisc did not hand out");
  --stats_.sent_packets;
  stats_.sent_bytes -= pkt->qdisc_len();
  ++stats_.requeues;
  held_.push_front(pkt);
  note_queued(pkt);
}

void Qdisc::reset() {
  drop_queue(held_, DropReason::Reset);
  do_reset();
  assert(stats_.qlen == 0 && stats_.backlog == 0);
}

void Qdisc::drop(Packet* pkt, DropReason reason) {
  ++stats_.dropped;
  stats_.dropped_bytes += pkt->qdisc_len();
  ++stats_.drops_by_reason[static_cast<size_t>(reason)];
  pkt->pool->note_drop(*pkt, reason);
  PacketPool::release(pkt);
}

void Qdisc::release_reference(Packet* pkt, DropReason reason) {
  if (pkt->refcount == 1 && pkt->queued_in) pkt->queued_in->note_freed_while_queued(pkt, reason);
  PacketPool::release(pkt);
}

void Qdisc::note_freed_while_queued(Packet* pkt, DropReason reason) {
  pkt->queued_in = nullptr;
  note_unqueued(pkt);
  ++stats_.dropped;
  stats_.dropped_bytes += pkt->qdisc_len();
  const DropReason counted = counting_reset_ ? DropReason::Reset : reason;
  ++stats_.drops_by_reason[static_cast<size_t>(counted)];
  pkt->pool->note_drop(*pkt, counted);
}

}  // namespace bpfq::sched
