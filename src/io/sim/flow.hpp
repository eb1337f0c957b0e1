#pragma once
// A flow's two ends as the network sees them: the frames arriving at its receiver (forward)
// and back at its sender (reverse), and the counters every kind of flow keeps.
#include <cstdint>

#include <bpfq/io/sim/event_loop.hpp>

#include "delay_histogram.hpp"
#include "sim_frame.hpp"

namespace bpfq::io::sim {

struct FlowCounters {
  uint64_t packets_sent = 0;       // handed to the bottleneck
  uint64_t packets_dequeued = 0;   // left the qdisc onto the wire
  uint64_t packets_queued_at_end = 0;
  uint64_t packets_delivered = 0;  // arrived at the receiver
  uint64_t bytes_delivered = 0;    // application bytes
  uint64_t ecn_marks = 0;          // CE seen by the receiver

  // Dropped inside the qdisc: whatever was sent and neither left it nor stayed queued.
  uint64_t drops() const { return packets_sent - packets_dequeued - packets_queued_at_end; }
};

class Flow : public EventTarget {
 public:
  explicit Flow(uint32_t id, bool ipv6 = false) : id_(id), ipv6_(ipv6) {}
  virtual ~Flow() = default;
  uint32_t id() const { return id_; }
  bool ipv6() const { return ipv6_; }  // its frames are IPv6 (else IPv4)

  // Called by the network, which releases pkt afterwards.
  virtual void on_forward(const FrameInfo& info, sched::Packet& pkt) = 0;
  virtual void on_reverse(const FrameInfo& info, sched::Packet& pkt) = 0;

  FlowCounters counters;
  DelayHistogram* queue_delay = nullptr;  // its own or its group's

 private:
  uint32_t id_;
  bool ipv6_;
};

}  // namespace bpfq::io::sim
