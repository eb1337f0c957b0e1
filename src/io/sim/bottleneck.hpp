#pragma once
// The bottleneck link: the simulator's datapath under the engine's QdiscRunner. It supplies what
// a datapath must — the Transmitter (serialisation at rate_bps, one packet at a time) and a
// one-shot Timer on the event loop for the watchdog — and the runner does the rest: enqueue
// through the device, dequeue while the link is idle, wake at THROTTLE times.
#include <cstdint>
#include <optional>

#include <bpfq/io/sim/event_loop.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/qdisc.hpp>
#include <bpfq/sched/qdisc_runner.hpp>

#include "deadline_timer.hpp"

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

// What the bottleneck drives: a device (its clsact egress and root qdisc) or a bare qdisc.
struct Egress {
  sched::Device* device = nullptr;
  sched::Qdisc* qdisc = nullptr;  // used when device is null
};

class Bottleneck final : public EventTarget, public sched::Transmitter, public sched::Timer {
 public:
  Bottleneck(EventLoop& loop, runtime::ManualClock& clock, Egress egress, uint64_t rate_bps,
             BottleneckListener& listener);

  // Takes over pkt's reference, whatever the verdict.
  sched::EnqueueResult enqueue(sched::Packet* pkt) { return runner_->enqueue(pkt); }
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  // Transmitter: the link is idle, and serialising a packet.
  bool can_transmit() const override { return !busy_; }
  bool transmit(sched::Packet* pkt, uint64_t now_ns) override;
  // Timer: the watchdog's wake-up as an event.
  void arm(uint64_t at_ns) override { timer_.arm(at_ns); }
  void cancel() override { timer_.cancel(); }

  sched::QdiscRunner& runner() { return *runner_; }
  sched::Qdisc* qdisc() const { return runner_->root(); }
  uint64_t serialisation_ns(uint32_t bytes) const;
  // Fully serialised onto the wire.
  uint64_t packets_sent() const { return packets_sent_; }
  uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  enum Tag : uint32_t { kTxDone, kWatchdog };

  EventLoop& loop_;
  uint64_t rate_bps_;
  BottleneckListener& listener_;
  DeadlineTimer timer_;
  std::optional<sched::QdiscRunner> runner_;
  bool busy_ = false;
  uint64_t packets_sent_ = 0;
  uint64_t bytes_sent_ = 0;
};

}  // namespace bpfq::io::sim
