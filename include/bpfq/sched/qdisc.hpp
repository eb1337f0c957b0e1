#pragma once
// The Qdisc contract, shaped like Linux's Qdisc_ops: every qdisc, native or eBPF, is driven by a
// datapath through enqueue / dequeue / peek / requeue / reset and reports QdiscStats.
//
// Ownership: enqueue() takes over one reference of the packet whatever the verdict (a dropped
// packet is released by the qdisc); a dequeued packet's reference passes to the caller.
// Accounting lives here, in the non-virtual entry points, so that conservation holds for every
// implementation: enqueued == sent + dropped + qlen (packets and bytes). Implementations call
// note_queued/note_unqueued as packets enter and leave their queues (queue_tail/unqueue_head/
// drop_queue for PacketQueues) and drop() to free one (drop_and_report() to refuse the offered
// packet).
// Hot paths never throw or allocate.
#include <cstdint>
#include <string_view>

#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/packet.hpp>
#include <bpfq/sched/packet_queue.hpp>
#include <bpfq/sched/qdisc_stats.hpp>
#include <bpfq/sched/watchdog.hpp>

namespace bpfq::sched {

// Linux's NET_XMIT_* codes, as qdisc_enqueue() returns them.
inline constexpr int kNetXmitSuccess = 0x00;
inline constexpr int kNetXmitDrop = 0x01;
inline constexpr int kNetXmitCn = 0x02;
inline constexpr int kNetXmitStolen = 0x00010000;  // __NET_XMIT_STOLEN
inline constexpr int kNetXmitBypass = 0x00020000;  // __NET_XMIT_BYPASS

enum class EnqueueVerdict : uint8_t {
  Queued,     // NET_XMIT_SUCCESS: the qdisc holds the packet
  Dropped,    // NET_XMIT_DROP: the packet was dropped (reason says why)
  // NET_XMIT_CN: congestion; the qdisc dropped a packet to cope with it. As in Linux this may be
  // the offered packet (RED's early drop) or another one (pfifo_head_drop drops the head,
  // sfq/fq_codel drop from the fattest flow); the stats record which. The sender should back
  // off (Linux TCP enters CWR on CN as on DROP), but net_xmit_eval() treats CN as success.
  Congested,
  Bypass,     // NET_XMIT_SUCCESS | __NET_XMIT_BYPASS: freed, reported as success
  Stolen,     // NET_XMIT_SUCCESS | __NET_XMIT_STOLEN: consumed elsewhere, reported as success
};

struct EnqueueResult {
  EnqueueVerdict verdict = EnqueueVerdict::Queued;
  DropReason reason = DropReason::Count;  // Dropped/Congested: the reason of the drop

  static constexpr EnqueueResult queued() { return {}; }
  static constexpr EnqueueResult dropped(DropReason r) { return {EnqueueVerdict::Dropped, r}; }
  static constexpr EnqueueResult congested(DropReason r = DropReason::Congestion) {
    return {EnqueueVerdict::Congested, r};
  }
  static constexpr EnqueueResult bypass() { return {EnqueueVerdict::Bypass, DropReason::Bypass}; }
  static constexpr EnqueueResult stolen() { return {EnqueueVerdict::Stolen, DropReason::Stolen}; }

  int net_xmit() const;
  bool operator==(const EnqueueResult&) const = default;
};

struct DequeueResult {
  enum class Kind : uint8_t { Packet, Empty, Throttled };
  Kind kind = Kind::Empty;
  Packet* packet = nullptr;         // Kind::Packet: the caller now owns this reference
  uint64_t throttled_until_ns = 0;  // Kind::Throttled: nothing to send before this time

  static DequeueResult of(Packet* p) { return p ? DequeueResult{Kind::Packet, p, 0} : empty(); }
  static DequeueResult empty() { return {}; }
  static DequeueResult throttled(uint64_t until_ns) { return {Kind::Throttled, nullptr, until_ns}; }
};

class Qdisc {
 public:
  virtual ~Qdisc();
  Qdisc(const Qdisc&) = delete;
  Qdisc& operator=(const Qdisc&) = delete;

  std::string_view kind() const { return kind_; }  // "pfifo", "bfifo", "pfifo_fast", "bpf", ...
  Handle handle() const { return handle_; }
  void set_handle(Handle h) { handle_ = h; }
  Handle parent() const { return parent_; }
  void set_parent(Handle h) { parent_ = h; }

  // Takes over one reference of pkt (pkt->next must be null); stamps pkt->enqueue_ns.
  EnqueueResult enqueue(Packet* pkt, uint64_t now_ns);
  // A requeued or peeked packet goes out first.
  DequeueResult dequeue(uint64_t now_ns);
  // The packet the next dequeue() returns, still owned by the qdisc, or nullptr. Qdiscs without
  // a cheap peek dequeue into a held slot, as Linux's qdisc_peek_dequeued (it then counts in
  // qlen/backlog until dequeued). Takes the time because that dequeue may need it.
  const Packet* peek(uint64_t now_ns);
  // Gives back a packet just dequeued that the device could not take (Linux dev_requeue_skb):
  // it goes out first on the next dequeue; requeues++, and it is no longer counted as sent.
  void requeue(Packet* pkt);
  // Releases every queued packet, counting each as a DropReason::Reset drop (Linux zeroes
  // qlen/backlog without counting drops; counting them keeps conservation provable).
  void reset();

  // The watchdog of the runner driving this qdisc's tree (Linux: every qdisc_watchdog wakes
  // the root); classful qdiscs hand it to their children. Null: not driven (tests, scratch).
  virtual void attach_watchdog(Watchdog* watchdog) { watchdog_ = watchdog; }
  Watchdog* watchdog() const { return watchdog_; }

  // A packet that programs hold by reference (in map values or objects) is counted as queued
  // by the qdisc in pkt->queued_in. Releasing its last reference (a map freeing a value, a
  // program dropping it) is a drop of that qdisc; any other release just returns it to the pool.
  static void release_reference(Packet* pkt, DropReason reason);

  const QdiscStats& stats() const { return stats_; }
  uint32_t qlen() const { return stats_.qlen; }
  uint64_t backlog() const { return stats_.backlog; }

 protected:
  Qdisc(std::string_view kind, Handle handle);

  virtual EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) = 0;
  // Must call note_unqueued() on the packet it returns.
  virtual DequeueResult do_dequeue(uint64_t now_ns) = 0;
  // Default: qdisc_peek_dequeued (dequeue into the held slot).
  virtual const Packet* do_peek(uint64_t now_ns);
  // Releases every queued packet through drop(pkt, DropReason::Reset).
  virtual void do_reset() = 0;

  // qlen/backlog bookkeeping as a packet enters / leaves the qdisc's queues.
  void note_queued(const Packet* pkt) {
    ++stats_.qlen;
    stats_.backlog += pkt->qdisc_len();
  }
  void note_unqueued(const Packet* pkt) {
    --stats_.qlen;
    stats_.backlog -= pkt->qdisc_len();
  }
  // The same for a qdisc that keeps its packets in PacketQueues: appends pkt to q / pops q's
  // head (nullptr when empty) / drops every packet of q, keeping qlen and backlog in step.
  void queue_tail(PacketQueue& q, Packet* pkt) {
    q.push_back(pkt);
    note_queued(pkt);
  }
  Packet* unqueue_head(PacketQueue& q) {
    Packet* pkt = q.pop_front();
    if (pkt) note_unqueued(pkt);
    return pkt;
  }
  void drop_queue(PacketQueue& q, DropReason reason) {
    while (Packet* pkt = unqueue_head(q)) drop(pkt, reason);
  }
  // Counts pkt as dropped for reason and releases the qdisc's reference.
  void drop(Packet* pkt, DropReason reason);
  // Drops the offered packet and reports it, as Linux's qdisc_drop() (frees, counts, returns
  // NET_XMIT_DROP): `return drop_and_report(pkt, reason);` from do_enqueue.
  EnqueueResult drop_and_report(Packet* pkt, DropReason reason) {
    drop(pkt, reason);
    return EnqueueResult::dropped(reason);
  }
  QdiscStats& mutable_stats() { return stats_; }
  // release_reference() freed the last reference of a packet queued here: it leaves the queue
  // as a drop for reason (DropReason::Reset while counting_reset_).
  void note_freed_while_queued(Packet* pkt, DropReason reason);
  bool counting_reset_ = false;
  // qdisc_watchdog_schedule_ns: be dequeued again at at_ns (see Watchdog).
  void schedule_watchdog(uint64_t at_ns) {
    if (watchdog_) watchdog_->schedule(at_ns);
  }

 private:
  std::string_view kind_;
  Handle handle_;
  Handle parent_ = Handle::root();
  PacketQueue held_;  // requeued / peeked packets (Linux's gso_skb list)
  QdiscStats stats_;
  Watchdog* watchdog_ = nullptr;
};

}  // namespace bpfq::sched
