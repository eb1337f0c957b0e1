#pragma once
// Linux's multi-queue roots, mq (sch_mq.c) and mqprio in software mode (sch_mqprio.c, hw 0):
// one independent child qdisc per TX queue of the device, class handle.major:1 .. :N. A packet
// goes to the child of the queue TxQueueMap::pick gives it (skb_tx_hash: the flow hash, within
// its traffic class's queues for mqprio); skb->queue_mapping records the queue.
//
// Linux never enqueues to or dequeues from mq itself: each TX queue is a qdisc of its own, run
// by whichever CPU transmits on it, and the NIC serves the queues. Here the root stands in for
// that NIC when one runner drives the device (the simulator, ns-3): dequeue serves the non-empty
// queues round robin, one packet per turn, in queue order starting after the queue served last.
//
// The children share nothing mutable with each other or with the root: each has its own
// queues, program object, maps and PRNG stream, so that a thread per queue may drive
// tx_queue(i) directly, without locks, with its own pool, clock and runner (whose watchdog it
// attaches to the child). The root's own counters are then not involved; children_stats() is
// the sum tc shows for the root, as Linux's mq_dump adds up its queues. Drive an instance either
// through the root or through its queues, not both: the root counts only what passed it.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <bpfq/sched/qdisc.hpp>
#include <bpfq/sched/tx_queues.hpp>

namespace bpfq::sched {

class MqQdisc : public Qdisc {
 public:
  // kind: "mq" or "mqprio" (a string with static storage). children.size() must equal
  // map.num_tx_queues (bpfq::Error otherwise); child i gets parent class_of(i).
  MqQdisc(std::string_view kind, Handle handle, const TxQueueMap& map, std::vector<std::unique_ptr<Qdisc>> children);
  ~MqQdisc() override;

  const TxQueueMap& tx_queue_map() const { return map_; }
  uint32_t num_tx_queues() const { return map_.num_tx_queues; }
  // The child qdisc of TX queue i (0-based), class class_of(i).
  Qdisc& tx_queue(uint32_t i) const { return *children_[i]; }
  // TC_H_MAKE(major, i + 1): the class of TX queue i.
  Handle class_of(uint32_t i) const { return Handle::make(handle().major(), static_cast<uint16_t>(i + 1)); }
  // The queue a packet goes to (skb_tx_hash).
  uint32_t pick_tx_queue(Packet& pkt) const { return map_.pick(pkt); }

  // The children's counters added up (mq_dump). Equal to stats() while the root is what drives
  // the children, apart from a packet the root holds after a requeue or peek.
  QdiscStats children_stats() const;

  // Every child gets the watchdog too: one runner drives the whole tree.
  void attach_watchdog(Watchdog* watchdog) override;

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
  DequeueResult do_dequeue(uint64_t now_ns) override;
  void do_reset() override;

 private:
  // Runs op on child i and carries what it did to the child's queue and drops over to the
  // root's counters (qlen, backlog, drops by reason, overlimits).
  template <class Op>
  auto on_child(uint32_t i, Op&& op);

  TxQueueMap map_;
  std::vector<std::unique_ptr<Qdisc>> children_;
  uint32_t next_ = 0;  // the queue the round robin asks first
};

}  // namespace bpfq::sched
