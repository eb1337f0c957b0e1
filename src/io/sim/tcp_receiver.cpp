#include "tcp_receiver.hpp"

#include <algorithm>

#include <bpfq/sched/packet_builder.hpp>

#include "flow.hpp"
#include "network.hpp"

namespace bpfq::io::sim {

TcpReceiver::TcpReceiver(Network& net, Flow& flow, uint32_t isn, bool sack)
    : net_(net),
      flow_(flow),
      ack_frame_(frame_spec(flow.id(), false, sched::L4::Tcp, flow.ipv6())),
      isn_(isn),
      sack_(sack),
      delayed_ack_(net.loop(), *this, 0) {}

void TcpReceiver::insert_out_of_order(uint64_t start, uint64_t end) {
  auto it = out_of_order_.upper_bound(start);
  if (it != out_of_order_.begin() && std::prev(it)->second >= start) {
    --it;
    start = it->first;
    end = std::max(end, it->second);
    it = out_of_order_.erase(it);
  }
  while (it != out_of_order_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = out_of_order_.erase(it);
  }
  out_of_order_.emplace(start, end);
  // The block holding the latest segment goes first.
  std::copy_backward(recent_.begin(), recent_.begin() + std::min<uint32_t>(recent_count_, kSackBlocks),
                     recent_.begin() + std::min<uint32_t>(recent_count_, kSackBlocks) + 1);
  recent_[0] = start;
  recent_count_ = std::min<uint32_t>(recent_count_ + 1, kSackBlocks + 1);
}

uint8_t TcpReceiver::fill_sack_blocks(sched::FrameSpec& spec) {
  // Each remembered byte names the block now holding it; blocks that were merged or
  // acknowledged since drop out, and no block is listed twice.
  std::array<uint64_t, kSackBlocks + 1> kept{};
  uint32_t kept_count = 0;
  auto listed = [&](uint64_t block_start) {
    return std::find(kept.begin(), kept.begin() + kept_count, block_start) != kept.begin() + kept_count;
  };
  uint8_t n = 0;
  for (uint32_t i = 0; i < recent_count_; ++i) {
    auto it = out_of_order_.upper_bound(recent_[i]);
    if (it == out_of_order_.begin()) continue;
    --it;
    if (recent_[i] >= it->second) continue;
    if (listed(it->first)) continue;
    kept[kept_count++] = it->first;
    if (n < kSackBlocks) {
      spec.tcp_sack[n++] = {isn_ + static_cast<uint32_t>(it->first), isn_ + static_cast<uint32_t>(it->second)};
    }
  }
  // Older blocks not remembered (more holes than blocks fit): the lowest ones fill the rest.
  for (auto it = out_of_order_.begin(); it != out_of_order_.end() && n < kSackBlocks; ++it) {
    if (listed(it->first)) continue;
    spec.tcp_sack[n++] = {isn_ + static_cast<uint32_t>(it->first), isn_ + static_cast<uint32_t>(it->second)};
    if (kept_count < kept.size()) kept[kept_count++] = it->first;
  }
  recent_ = kept;
  recent_count_ = std::min<uint32_t>(kept_count, kSackBlocks);
  return n;
}

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
    insert_out_of_order(start, end);
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
  sched::FrameSpec spec = ack_frame_;
  spec.tcp_seq = 1;
  spec.tcp_ack = isn_ + static_cast<uint32_t>(rcv_nxt_);
  spec.tcp_flags = kTcpAck | (ece_ ? kTcpEce : 0);
  spec.payload_len = 0;
  if (sack_) spec.tcp_sack_count = fill_sack_blocks(spec);
  sched::build_into(*pkt, spec);
  ++acks_sent_;
  net_.send_reverse(pkt);
}

}  // namespace bpfq::io::sim
