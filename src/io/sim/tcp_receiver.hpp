#pragma once
// The receiving half of a simulated TCP connection: cumulative ACKs read from and written to
// real frames, delayed ACKs (every second full segment or after 40 ms; at once for
// out-of-order data, a filled hole, PSH and a change to CE), and the ECN echo of RFC 3168
// (ECE on every ACK from a CE mark until a segment with CWR).
#include <cstdint>
#include <map>

#include <bpfq/io/sim/event_loop.hpp>

#include "deadline_timer.hpp"
#include "sim_frame.hpp"

namespace bpfq::io::sim {

class Network;
class Flow;

class TcpReceiver final : public EventTarget {
 public:
  static constexpr uint64_t kDelayedAckNs = 40'000'000;

  TcpReceiver(Network& net, Flow& flow, uint32_t isn);

  void on_segment(const FrameInfo& info);
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  uint64_t bytes_in_order() const { return rcv_nxt_; }
  uint64_t acks_sent() const { return acks_sent_; }

 private:
  void send_ack();

  Network& net_;
  Flow& flow_;
  uint32_t isn_;
  uint64_t rcv_nxt_ = 0;
  std::map<uint64_t, uint64_t> out_of_order_;  // start -> end (exclusive), disjoint
  uint32_t unacked_segments_ = 0;
  bool ece_ = false;
  DeadlineTimer delayed_ack_;
  uint64_t acks_sent_ = 0;
};

}  // namespace bpfq::io::sim
