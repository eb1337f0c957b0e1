#pragma once
// ICMP (ICMPv6 over IPv6) echo probes, as ping sends them: a request every interval through the bottleneck, an
// echo reply from the receiver on the reverse path, the RTT measured at the sender.
#include <array>

#include <bpfq/io/sim/scenario.hpp>

#include "flow.hpp"

namespace bpfq::io::sim {

class Network;

class PingFlow final : public Flow {
 public:
  PingFlow(Network& net, uint32_t id, const PingSpec& spec);
  void schedule();
  void on_forward(const FrameInfo& info, sched::Packet& pkt) override;
  void on_reverse(const FrameInfo& info, sched::Packet& pkt) override;
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  uint64_t end_ns() const;
  uint64_t replies() const { return replies_; }
  DelayHistogram rtt;
  DelayHistogram own_queue_delay;

 private:
  static constexpr size_t kOutstanding = 4096;  // send times kept, by sequence number
  Network& net_;
  PingSpec spec_;
  uint16_t next_seq_ = 1;
  uint64_t replies_ = 0;
  std::array<uint64_t, kOutstanding> sent_ns_{};
};

}  // namespace bpfq::io::sim
