#pragma once
// The receiving half of a simulated TCP connection: cumulative ACKs read from and written to
// real frames, delayed ACKs (every second full segment or after 40 ms; at once for
// out-of-order data, a filled hole, PSH and a change to CE), and the ECN echo of RFC 3168
// (ECE on every ACK from a CE mark until a segment with CWR). With SACK, ACKs list up to 3
// out-of-order blocks (RFC 2018): the one holding the latest segment first, then the blocks
// reported most recently, so that each block is repeated in several ACKs.
#include <array>
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

  static constexpr uint32_t kSackBlocks = 3;

  TcpReceiver(Network& net, Flow& flow, uint32_t isn, bool sack);

  void on_segment(const FrameInfo& info);
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  uint64_t bytes_in_order() const { return rcv_nxt_; }
  uint64_t acks_sent() const { return acks_sent_; }

 private:
  void send_ack();
  // Adds [start, end) to the out-of-order blocks, merging those it touches.
  void insert_out_of_order(uint64_t start, uint64_t end);
  // The SACK blocks for the next ACK, in the order RFC 2018 asks for; returns their count.
  uint8_t fill_sack_blocks(sched::FrameSpec& spec);

  Network& net_;
  Flow& flow_;
  const sched::FrameSpec ack_frame_;  // what every ACK shares: addresses, ports, protocol
  uint32_t isn_;
  bool sack_;
  uint64_t rcv_nxt_ = 0;
  std::map<uint64_t, uint64_t> out_of_order_;  // start -> end (exclusive), disjoint, not adjacent
  // A byte of each block in the order it was last reported or received, latest first.
  std::array<uint64_t, kSackBlocks + 1> recent_{};
  uint32_t recent_count_ = 0;
  uint32_t unacked_segments_ = 0;
  bool ece_ = false;
  DeadlineTimer delayed_ack_;
  uint64_t acks_sent_ = 0;
};

}  // namespace bpfq::io::sim
