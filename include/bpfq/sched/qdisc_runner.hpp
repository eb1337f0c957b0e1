#pragma once
// The loop that drives a qdisc tree on a device (Linux's dev_queue_xmit + qdisc_run +
// qdisc_watchdog): enqueue through the device (clsact egress, then the root qdisc), then dequeue
// while the device accepts, give a packet back (requeue) when it does not, and wake at the
// earliest THROTTLE time either side asked for. Every datapath uses this one loop; a datapath
// supplies only a clock, a one-shot Timer and the Transmitter below the qdisc.
//
//   QdiscRunner runner(device, clock, timer, link);
//   runner.enqueue(pkt);      // a packet to send
//   runner.on_timer();        // the Timer fired
//   runner.wake();            // the link can take packets again (netif_wake_queue)
#include <cstdint>
#include <functional>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/qdisc.hpp>
#include <bpfq/sched/watchdog.hpp>

namespace bpfq::sched {

// What lies below the qdisc: the link (simulated serialisation) or a port's TX ring.
class Transmitter {
 public:
  // Whether a packet offered now would be taken (a free TX slot, an idle link).
  virtual bool can_transmit() const = 0;
  // Takes over pkt and starts sending it; false (pkt not taken) if the device turned out busy:
  // the runner requeues it (NETDEV_TX_BUSY).
  virtual bool transmit(Packet* pkt, uint64_t now_ns) = 0;

 protected:
  ~Transmitter() = default;
};

struct RunnerStats {
  uint64_t dequeue_calls = 0;
  uint64_t requeued = 0;     // packets it refused, given back to the qdisc
  uint64_t drained = 0;      // packets handed to drain()'s callback
  uint64_t reset_at_end = 0; // packets drain() could not get out and released by reset
};

class QdiscRunner {
 public:
  // Drives device's root qdisc (the device may change its root between calls).
  QdiscRunner(Device& device, const runtime::Clock& clock, Timer& timer, Transmitter& tx);
  // Drives a bare qdisc, without a device in front (no clsact).
  QdiscRunner(Qdisc& root, const runtime::Clock& clock, Timer& timer, Transmitter& tx);
  ~QdiscRunner();
  QdiscRunner(const QdiscRunner&) = delete;
  QdiscRunner& operator=(const QdiscRunner&) = delete;

  // dev_queue_xmit: takes over pkt's reference whatever the verdict, then runs the qdisc.
  EnqueueResult enqueue(Packet* pkt);
  // qdisc_run: dequeue while the Transmitter accepts.
  void run();
  // The datapath's Timer fired.
  void on_timer();
  // The Transmitter can take packets again.
  void wake() { run(); }

  // End of a run: dequeues whatever the tree still holds, ignoring the Transmitter, handing
  // each packet to on_packet (which takes its reference). A throttled tree is asked again at
  // the time it names: advance(t) must move the clock the programs read to t (virtual time);
  // without advance (real time) the drain stops at the first throttle. What cannot be dequeued
  // is released by a reset of the root (counted as DropReason::Reset drops).
  void drain(const std::function<void(Packet*)>& on_packet, const std::function<void(uint64_t)>& advance = {});

  Qdisc* root() const;
  Watchdog& watchdog() { return watchdog_; }
  const Watchdog& watchdog() const { return watchdog_; }
  const RunnerStats& stats() const { return stats_; }

 private:
  DequeueResult dequeue(uint64_t now_ns);

  Device* device_ = nullptr;
  Qdisc* bare_root_ = nullptr;
  const runtime::Clock& clock_;
  Transmitter& tx_;
  Watchdog watchdog_;
  RunnerStats stats_;
  bool running_ = false;  // transmit() may call back into wake()
};

}  // namespace bpfq::sched
