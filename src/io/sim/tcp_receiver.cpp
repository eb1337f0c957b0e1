#include "tcp_receiver.hpp"

#include <algorithm>

#include <bpfq/sched/packet_builder.hpp>

#include "flow.hpp"
#include "network.hpp"

namespace bpfq::io::sim {

TcpReceiver::TcpReceiver(Network& net, Flow& flow, uint32_t isn)
    : net_(net), flow_(flow), isn_(isn), delayed_ack_(net.loop(), *this, 0) {}

void TcpReceiver::on_segment(const FrameInfo& info) {
  if (info.payload_len == 0) return;
  uint32_t wire_nxt = isn_ + static_cast<uint32_t>(rcv_nxt_);
  int64_t delta = static_cast<int32_t>(info.seq - wire_nxt);
  bool ce = info.ecn == 3;
  bool ece_before = ece_;
  if (info.flags & kTcpCwr) ece_ = false;
  if (ce) ece_ = true;
  bool ack_now = ece_ != ece_before || (info.flags & kTcpPsh);

  if (delta < 0) {
    // Data we already have (a spurious retransmission): tell the sender where we are.
    if (delta + static_cast<int64_t>(info.payload_len) <= 0) {
      send_ack();
      return;
    }
  }
  if (delta > 0) {
    uint64_t start = rcv_nxt_ + static_cast<uint64_t>(delta);
    uint64_t end = start + info.payload_len;
    auto [it, inserted] = out_of_order_.try_emplace(start, end);
    if (!inserted) it->second = std::max(it->second, end);
    send_ack();  // a duplicate ACK at once: the sender counts them
    return;
  }
  uint64_t end = rcv_nxt_ + static_cast<uint64_t>(static_cast<int64_t>(info.payload_len) + delta);
  uint64_t before = rcv_nxt_;
  rcv_nxt_ = std::max(rcv_nxt_, end);
  bool filled_hole = false;
  while (!out_of_order_.empty() && out_of_order_.begin()->first <= rcv_nxt_) {
    rcv_nxt_ = std::max(rcv_nxt_, out_of_order_.begin()->second);
    out_of_order_.erase(out_of_order_.begin());
    filled_hole = true;
  }
  flow_.counters.bytes_delivered += rcv_nxt_ - before;
  ++unacked_segments_;
  if (ack_now || filled_hole || !out_of_order_.empty() || unacked_segments_ >= 2) send_ack();
  else if (!delayed_ack_.armed()) delayed_ack_.arm(net_.now() + kDelayedAckNs);
}

void TcpReceiver::on_event(uint32_t, sched::Packet*) {
  if (delayed_ack_.expired()) send_ack();
}

void TcpReceiver::send_ack() {
  unacked_segments_ = 0;
  delayed_ack_.cancel();
  sched::Packet* pkt = net_.alloc();
  if (!pkt) return;  // the sender's RTO covers a lost ACK
  sched::FrameSpec spec = frame_spec(flow_.id(), false, sched::L4::Tcp);
  spec.tcp_seq = 1;
  spec.tcp_ack = isn_ + static_cast<uint32_t>(rcv_nxt_);
  spec.tcp_flags = kTcpAck | (ece_ ? kTcpEce : 0);
  spec.payload_len = 0;
  sched::build_into(*pkt, spec);
  ++acks_sent_;
  net_.send_reverse(pkt);
}

}  // namespace bpfq::io::sim
