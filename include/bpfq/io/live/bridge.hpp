#pragma once
// The live datapath: a bump in the wire between two interfaces. A frame received on one port
// leaves on the other through that side's egress device (clsact egress, then its qdisc tree),
// driven by the engine's QdiscRunner on real time: CLOCK_MONOTONIC, a timerfd watchdog, and a
// Transmitter that is the other port's TX ring paced at the device's line rate.
//
//   Bridge bridge(pool, clock, {Side{port0, &dev0, rate0}, Side{port1, &dev1, rate1}});
//   bridge.watch(signal_fd, [&] { return true; });  // readable: stop
//   bridge.run();          // until a watch says stop
//   bridge.finish(1s);     // stop reading, send what the trees hold, release the rest (counted)
//
// Single-threaded: one poll() loop serves both ports, the four timers and the watched fds.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <bpfq/io/live/port.hpp>
#include <bpfq/io/live/timerfd_timer.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc_runner.hpp>

namespace bpfq::io::live {

// One direction's accounting, kept by the side frames leave through: every packet received on the
// other side is offered to this side's device and ends sent, dropped (by the device or the tree,
// whose stats say why) or queued; unsent_at_exit counts what finish() could not send.
struct DirectionStats {
  uint64_t offered = 0;         // packets handed to the device (dev_queue_xmit)
  uint64_t sent = 0;            // frames put on the TX port
  uint64_t sent_bytes = 0;      // their wire bytes (qdisc_pkt_len)
  uint64_t unsent_at_exit = 0;  // packets the trees gave back at exit but the port could not take
  uint64_t bundles_cut = 0;     // GSO bundles received and cut into wire frames (Side::cut_gso)
  uint64_t cut_no_buffer = 0;   // segments of them not made: the packet pool was exhausted
};

class Bridge {
 public:
  // One interface: its port, the device (egress tree) frames leaving through it cross, and its
  // line rate (0: as fast as the TX ring drains). Frames received on one side leave on the other.
  // A GSO bundle stays one packet, as in Linux's qdiscs on a TSO device, counted by its wire
  // bytes; with cut_gso it is cut into the frames a wire of that rate carries before the tree.
  struct Side {
    Port* port;
    sched::Device* egress;
    uint64_t rate_bps;
    bool cut_gso;
  };

  Bridge(sched::PacketPool& pool, const runtime::Clock& clock, std::array<Side, 2> sides);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // While forwarding, a readable fd calls on_readable; true from it ends run() (a signalfd, a
  // duration timer), false goes on (a control socket).
  void watch(int fd, std::function<bool()> on_readable);
  // Forwards until a watch says stop. A program fault never stops forwarding.
  void run();
  // Stops reading; keeps sending for at most grace_ns while the trees hold packets, then
  // releases what remains through a reset of each root (counted as drops).
  void finish(uint64_t grace_ns);

  // Side i's frames leave through device from now on (a tc line changed its tree while
  // forwarding): what the old device's root held is released and counted as its drops.
  void switch_device(int i, sched::Device& device);

  // The direction leaving through side i (received on side 1 - i).
  const DirectionStats& stats(int i) const;
  sched::QdiscRunner& runner(int i);

 private:
  class Egress;

  // One pass: poll (timeout_ms, -1: until something happens), receive if reading, fire timers,
  // refill the TX rings. True if a port had a full batch waiting (call again without sleeping).
  // stop: set when a watch asked for it (only while reading).
  bool step(bool reading, int timeout_ms, bool& stop);

  sched::PacketPool& pool_;
  const runtime::Clock& clock_;
  std::array<Side, 2> sides_;
  std::array<std::unique_ptr<Egress>, 2> egress_;  // egress_[i]: leaving through sides_[i]
  std::vector<std::pair<int, std::function<bool()>>> watches_;
};

}  // namespace bpfq::io::live
