#pragma once
// A UDP source (constant rate, Poisson or exponential on/off) and its sink, which measures the
// one-way delay from the packet's creation to its arrival.
#include <bpfq/io/sim/scenario.hpp>

#include "flow.hpp"
#include "rng.hpp"

namespace bpfq::io::sim {

class Network;

class UdpFlow final : public Flow {
 public:
  UdpFlow(Network& net, uint32_t id, const UdpFlowSpec& spec);
  void schedule();
  void on_forward(const FrameInfo& info, sched::Packet& pkt) override;
  void on_reverse(const FrameInfo&, sched::Packet&) override {}
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  const UdpFlowSpec& spec() const { return spec_; }
  uint64_t end_ns() const;
  DelayHistogram one_way_delay;
  DelayHistogram own_queue_delay;

 private:
  void send_one();
  uint64_t next_gap_ns();

  Network& net_;
  UdpFlowSpec spec_;
  Rng rng_;
  double mean_gap_ns_;  // at rate_bps for this datagram size
  uint64_t on_until_ = 0;
  uint16_t ip_id_ = 0;
};

}  // namespace bpfq::io::sim
