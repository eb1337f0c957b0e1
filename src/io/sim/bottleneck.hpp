#pragma once
// The bottleneck link: drives the qdisc on its egress and serialises at rate_bps. When idle it
// dequeues; a Throttled answer arms the watchdog for that time; every enqueue onto an idle
// link tries a dequeue, as Linux's qdisc_run after dev_queue_xmit.
#include <cstdint>

#include <bpfq/io/sim/event_loop.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::io::sim {

class BottleneckListener {
 public:
  // A packet left the qdisc after sojourn_ns and starts serialisation.
  virtual void on_dequeued(sched::Packet& pkt, uint64_t sojourn_ns) = 0;
  // Its last bit left the link; the listener now owns the packet.
  virtual void on_transmitted(sched::Packet* pkt) = 0;

 protected:
  ~BottleneckListener() = default;
};

class Bottleneck final : public EventTarget {
 public:
  Bottleneck(EventLoop& loop, sched::Qdisc& qdisc, uint64_t rate_bps, BottleneckListener& listener)
      : loop_(loop), qdisc_(qdisc), rate_bps_(rate_bps), listener_(listener) {}

  // Takes over pkt's reference, whatever the verdict.
  sched::EnqueueResult enqueue(sched::Packet* pkt);
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  uint64_t serialisation_ns(uint32_t bytes) const;
  // Fully serialised onto the wire.
  uint64_t packets_sent() const { return packets_sent_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t watchdog_wakeups() const { return watchdog_wakeups_; }

 private:
  enum Tag : uint32_t { kTxDone, kWatchdog };
  void try_transmit();

  EventLoop& loop_;
  sched::Qdisc& qdisc_;
  uint64_t rate_bps_;
  BottleneckListener& listener_;
  bool busy_ = false;
  uint64_t watchdog_at_ = 0;  // 0: not armed
  uint64_t packets_sent_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t watchdog_wakeups_ = 0;
};

}  // namespace bpfq::io::sim
