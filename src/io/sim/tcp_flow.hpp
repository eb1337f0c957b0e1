#pragma once
// One TCP connection: its sender and receiver halves, started (and for bulk flows stopped)
// at the scenario's times.
#include <bpfq/io/sim/scenario.hpp>

#include "flow.hpp"
#include "tcp_receiver.hpp"
#include "tcp_sender.hpp"

namespace bpfq::io::sim {

class TcpFlow final : public Flow {
 public:
  // rtt and queue_delay may be shared by a group of flows.
  TcpFlow(Network& net, uint32_t id, CongestionControl cc, uint64_t bytes, bool ecn, bool sack, bool ipv6,
          DelayHistogram& rtt, DelayHistogram& queue_delay);

  // Schedules the start (and, with stop_ns != 0, the end of writing).
  void schedule(uint64_t start_ns, uint64_t stop_ns);
  void on_forward(const FrameInfo& info, sched::Packet& pkt) override;
  void on_reverse(const FrameInfo& info, sched::Packet& pkt) override;
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  const TcpSender& sender() const { return sender_; }
  uint64_t stop_ns() const { return stop_ns_; }

 private:
  enum Tag : uint32_t { kStart, kStop };
  Network& net_;
  TcpSender sender_;
  TcpReceiver receiver_;
  uint64_t stop_ns_ = 0;
};

}  // namespace bpfq::io::sim
