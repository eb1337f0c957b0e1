#include <bpfq/sched/mq_qdisc.hpp>

#include <algorithm>

#include <bpfq/error.hpp>

namespace bpfq::sched {

MqQdisc::MqQdisc(std::string_view kind, Handle handle, const TxQueueMap& map,
                 std::vector<std::unique_ptr<Qdisc>> children)
    : Qdisc(kind, handle), map_(map), children_(std::move(children)) {
  if (map_.num_tx_queues == 0 || children_.size() != map_.num_tx_queues)
    throw Error(std::string(kind) + " needs one child qdisc per TX queue: " + std::to_string(map_.num_tx_queues) +
                    " queues, " + std::to_string(children_.size()) + " children",
                std::string(kind));
  for (uint32_t i = 0; i < children_.size(); ++i) {
    if (!children_[i]) throw Error(std::string(kind) + ": TX queue " + std::to_string(i) + " has no qdisc", std::string(kind));
    children_[i]->set_parent(class_of(i));
  }
}

MqQdisc::~MqQdisc() { reset(); }

template <class Op>
auto MqQdisc::on_child(uint32_t i, Op&& op) {
  Qdisc& child = *children_[i];
  const QdiscStats before = child.stats();
  auto result = op(child);
  const QdiscStats& after = child.stats();
  QdiscStats& s = mutable_stats();
  s.qlen += after.qlen - before.qlen;
  s.backlog += after.backlog - before.backlog;
  s.dropped += after.dropped - before.dropped;
  s.dropped_bytes += after.dropped_bytes - before.dropped_bytes;
  for (size_t r = 0; r < s.drops_by_reason.size(); ++r) s.drops_by_reason[r] += after.drops_by_reason[r] - before.drops_by_reason[r];
  s.overlimits += after.overlimits - before.overlimits;
  return result;
}

EnqueueResult MqQdisc::do_enqueue(Packet* pkt, uint64_t now_ns) {
  const uint32_t queue = map_.pick(*pkt);
  pkt->skb.queue_mapping = queue;  // skb_set_queue_mapping
  return on_child(queue, [&](Qdisc& child) { return child.enqueue(pkt, now_ns); });
}

DequeueResult MqQdisc::do_dequeue(uint64_t now_ns) {
  const uint32_t n = num_tx_queues();
  bool throttled = false;
  uint64_t earliest = UINT64_MAX;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = (next_ + k) % n;
    if (children_[i]->qlen() == 0) continue;
    const DequeueResult r = on_child(i, [&](Qdisc& child) { return child.dequeue(now_ns); });
    if (r.kind == DequeueResult::Kind::Packet) {
      next_ = (i + 1) % n;
      return r;
    }
    if (r.kind == DequeueResult::Kind::Throttled) {
      throttled = true;
      earliest = std::min(earliest, r.throttled_until_ns);
    }
  }
  return throttled ? DequeueResult::throttled(earliest) : DequeueResult::empty();
}

void MqQdisc::do_reset() {
  for (const auto& child : children_) child->reset();
  // What the root counted as queued was in its children, whose reset dropped it. (Packets
  // a thread put into a queue directly were never the root's: its counters leave them out.)
  QdiscStats& s = mutable_stats();
  s.dropped += s.qlen;
  s.dropped_bytes += s.backlog;
  s.drops_by_reason[static_cast<size_t>(DropReason::Reset)] += s.qlen;
  s.qlen = 0;
  s.backlog = 0;
  next_ = 0;
}

QdiscStats MqQdisc::children_stats() const {
  QdiscStats sum;
  for (const auto& child : children_) {
    const QdiscStats& c = child->stats();
    sum.enqueued_packets += c.enqueued_packets;
    sum.enqueued_bytes += c.enqueued_bytes;
    sum.sent_packets += c.sent_packets;
    sum.sent_bytes += c.sent_bytes;
    sum.dropped += c.dropped;
    sum.dropped_bytes += c.dropped_bytes;
    for (size_t r = 0; r < sum.drops_by_reason.size(); ++r) sum.drops_by_reason[r] += c.drops_by_reason[r];
    sum.overlimits += c.overlimits;
    sum.requeues += c.requeues;
    sum.qlen += c.qlen;
    sum.backlog += c.backlog;
  }
  return sum;
}

void MqQdisc::attach_watchdog(Watchdog* watchdog) {
  Qdisc::attach_watchdog(watchdog);
  for (const auto& child : children_) child->attach_watchdog(watchdog);
}

}  // namespace bpfq::sched
