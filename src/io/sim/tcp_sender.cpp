#include "tcp_sender.hpp"

#include <algorithm>
#include <cmath>

#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "flow.hpp"
#include "network.hpp"

namespace bpfq::io::sim {
namespace {

constexpr uint64_t kUnlimited = UINT64_MAX;
constexpr uint64_t kRetryNs = 1'000'000;  // pool exhausted: try again in 1 ms

}  // namespace

TcpSender::TcpSender(Network& net, Flow& flow, CongestionControl cc, uint32_t mss, uint64_t bytes, bool ecn,
                     bool sack, DelayHistogram& rtt)
    : net_(net),
      flow_(flow),
      cc_(make_congestion_avoidance(cc)),
      rtt_(rtt),
      mss_(mss),
      limit_(bytes == 0 ? kUnlimited : bytes),
      ecn_(ecn),
      sack_(sack),
      isn_(flow.id() * 0x9e3779b9u + 1),
      segment_frame_(frame_spec(flow.id(), true, sched::L4::Tcp, flow.ipv6())),
      rto_timer_(net.loop(), *this, kRtoTimer),
      hystart_(cc == CongestionControl::Cubic),
      sent_(64) {}

uint32_t TcpSender::segment_len(uint64_t seq) const {
  return static_cast<uint32_t>(std::min<uint64_t>(mss_, limit_ - seq));
}

void TcpSender::start() {
  started_ = true;
  start_ns_ = net_.now();
  try_send();
}

void TcpSender::stop() {
  if (limit_ != kUnlimited) return;
  limit_ = snd_max_;
  if (snd_una_ == limit_ && !completed_) {
    completed_ = true;
    completed_ns_ = net_.now();
  }
}

const TcpSender::SentSegment* TcpSender::recorded(uint64_t seq) const {
  const SentSegment& s = sent_[(seq / mss_) & (sent_.size() - 1)];
  return s.seq == seq ? &s : nullptr;
}

TcpSender::SentSegment& TcpSender::slot(uint64_t seq) {
  uint64_t index = seq / mss_;
  SentSegment* s = &sent_[index & (sent_.size() - 1)];
  if (s->seq != seq && s->seq != UINT64_MAX && s->seq >= snd_una_) {
    // The ring is full of unacknowledged segments: double it, re-placing the live ones.
    std::vector<SentSegment> bigger(sent_.size() * 2);
    for (const SentSegment& old : sent_)
      if (old.seq != UINT64_MAX && old.seq >= snd_una_) bigger[(old.seq / mss_) & (bigger.size() - 1)] = old;
    sent_.swap(bigger);
    s = &sent_[index & (sent_.size() - 1)];
  }
  return *s;
}

void TcpSender::note_sent(uint64_t seq, bool retransmission) {
  SentSegment& s = slot(seq);
  if (s.seq != seq) s = SentSegment{seq, 0, false};
  s.sent_ns = net_.now();
  s.retransmitted = s.retransmitted || retransmission;
}

bool TcpSender::send_segment(uint64_t seq) {
  sched::Packet* pkt = net_.alloc();
  if (!pkt) {
    if (!retry_pending_) {
      retry_pending_ = true;
      net_.loop().schedule_in(kRetryNs, *this, kRetry);
    }
    return false;
  }
  uint32_t len = segment_len(seq);
  bool retransmission = seq < snd_max_;
  sched::FrameSpec spec = segment_frame_;
  spec.tcp_seq = isn_ + static_cast<uint32_t>(seq);
  spec.tcp_ack = 1;
  spec.tcp_flags = kTcpAck;
  if (seq + len == limit_) spec.tcp_flags |= kTcpPsh;  // the last segment: ACKed at once
  if (send_cwr_ && !retransmission) {
    spec.tcp_flags |= kTcpCwr;
    send_cwr_ = false;
  }
  spec.payload_len = len;
  spec.ecn = ecn_ ? 2 : 0;  // ECT(0)
  spec.ip_id = static_cast<uint16_t>(seq / mss_);
  sched::build_into(*pkt, spec);
  if (retransmission) ++counters_.retransmits;
  note_sent(seq, retransmission);
  net_.send_forward(flow_, pkt);
  return true;
}

void TcpSender::try_send() {
  if (!started_ || completed_) return;
  if (sack_ && in_recovery_) {
    send_in_sack_recovery();
    return;
  }
  while (snd_nxt_ < limit_) {
    if (sack_ && snd_nxt_ < snd_max_ && slot(snd_nxt_).sacked) {
      snd_nxt_ += segment_len(snd_nxt_);  // go-back-N after an RTO: the receiver has it
      continue;
    }
    uint64_t in_flight = segments(snd_nxt_ - snd_una_);
    if (static_cast<double>(in_flight) >= std::floor(cwnd_)) break;
    if (!send_segment(snd_nxt_)) break;
    snd_nxt_ += segment_len(snd_nxt_);
    snd_max_ = std::max(snd_max_, snd_nxt_);
  }
  if (snd_una_ < snd_max_ && !rto_timer_.armed()) arm_rto();
}

uint64_t TcpSender::take_rtt_sample(uint64_t seq_of_last_acked) {
  SentSegment& s = slot(seq_of_last_acked);
  if (s.seq != seq_of_last_acked || s.retransmitted) return 0;  // Karn's algorithm
  uint64_t r = net_.now() - s.sent_ns;
  rtt_.record(r);
  double sample = static_cast<double>(r);
  if (!have_rtt_) {
    have_rtt_ = true;
    srtt_ns_ = sample;
    rttvar_ns_ = sample / 2;
  } else {
    rttvar_ns_ = 0.75 * rttvar_ns_ + 0.25 * std::fabs(srtt_ns_ - sample);
    srtt_ns_ = 0.875 * srtt_ns_ + 0.125 * sample;
  }
  auto rto = static_cast<uint64_t>(srtt_ns_ + std::max(1e6, 4 * rttvar_ns_));
  rto_ns_ = std::clamp(rto, kMinRto, kMaxRto);
  return r;
}

void TcpSender::hystart_on_rtt(uint64_t rtt_ns) {
  if (snd_una_ >= round_end_) {  // a new round: one window of data has been acknowledged
    round_end_ = snd_max_;
    last_round_min_rtt_ = round_min_rtt_;
    round_min_rtt_ = UINT64_MAX;
    round_samples_ = 0;
  }
  if (rtt_ns == 0) return;
  round_min_rtt_ = std::min(round_min_rtt_, rtt_ns);
  ++round_samples_;
  constexpr uint32_t kMinSamples = 8;
  if (round_samples_ < kMinSamples || last_round_min_rtt_ == UINT64_MAX) return;
  uint64_t eta = std::clamp<uint64_t>(last_round_min_rtt_ / 8, 4'000'000, 16'000'000);
  if (round_min_rtt_ >= last_round_min_rtt_ + eta) ssthresh_ = cwnd_;
}

void TcpSender::arm_rto() { rto_timer_.arm(net_.now() + rto_ns_); }

void TcpSender::on_event(uint32_t tag, sched::Packet*) {
  if (tag == kRetry) {
    retry_pending_ = false;
    try_send();
    return;
  }
  if (rto_timer_.expired()) on_rto();
}

void TcpSender::on_rto() {
  if (completed_ || snd_una_ >= snd_max_) return;
  ++counters_.timeouts;
  // A timeout inside fast recovery ends the same congestion episode: ssthresh was already
  // reduced, and the inflated cwnd says nothing about the path (Linux keeps it too).
  if (!in_recovery_) {
    double flight = static_cast<double>(segments(snd_max_ - snd_una_));
    ssthresh_ = cc_->on_congestion(std::min(cwnd_, flight));
  }
  cwnd_ = 1;
  in_recovery_ = false;
  dupacks_ = 0;
  // Go-back-N skips what the receiver SACKed (RFC 6675 5.1: keep using the scoreboard after
  // an RTO; the simulated receiver never reneges). Retransmissions so far count as lost.
  for (SentSegment& s : sent_) s.recovery_rexmit = false;
  begin_episode();
  rto_ns_ = std::min(rto_ns_ * 2, kMaxRto);  // backoff until a new RTT sample
  snd_nxt_ = snd_una_;                       // go-back-N
  try_send();
  arm_rto();
}

void TcpSender::begin_episode() {
  recover_valid_ = true;
  recover_ = snd_max_;
  ecn_reduced_ = true;
  ecn_recover_ = snd_max_;
}

void TcpSender::enter_fast_recovery() {
  ++counters_.fast_retransmits;
  ssthresh_ = cc_->on_congestion(cwnd_);
  begin_episode();
  in_recovery_ = true;
}

void TcpSender::enter_loss_recovery() {
  enter_fast_recovery();
  send_segment(snd_una_);
  cwnd_ = ssthresh_ + 3;
}

void TcpSender::mark_sacked(const FrameInfo& info) {
  uint32_t wire_una = isn_ + static_cast<uint32_t>(snd_una_);
  for (uint32_t i = 0; i < info.sack_count; ++i) {
    int64_t left = static_cast<int32_t>(info.sack[i].left - wire_una);
    int64_t right = static_cast<int32_t>(info.sack[i].right - wire_una);
    if (right <= 0 || left >= right) continue;  // acknowledged already, or malformed
    uint64_t end = snd_una_ + static_cast<uint64_t>(right);
    if (end > snd_max_) continue;  // SACKs what was never sent
    // Segments start at multiples of the MSS; only those the block covers whole count.
    uint64_t begin = snd_una_ + static_cast<uint64_t>(std::max<int64_t>(left, 0));
    for (uint64_t seq = (begin + mss_ - 1) / mss_ * mss_; seq < end && seq + segment_len(seq) <= end; seq += mss_) {
      if (SentSegment* s = recorded(seq)) s->sacked = true;
    }
  }
}

uint32_t TcpSender::sacked_segments(uint64_t from, uint64_t to) const {
  uint32_t n = 0;
  for (uint64_t seq = from; seq < to; seq += mss_) {
    const SentSegment* s = recorded(seq);
    if (s && s->sacked) ++n;
  }
  return n;
}

TcpSender::Scoreboard TcpSender::scan_scoreboard() {
  // From the highest segment down: a segment with DupThresh SACKed segments above it is lost
  // (IsLost, DupThresh * MSS > 2 MSS of SACKed bytes); the pipe counts the segments neither
  // SACKed nor lost, and once more those retransmitted in this recovery (SetPipe).
  Scoreboard b;
  b.lost_below = snd_una_;
  uint32_t sacked_above = 0;
  uint64_t top = snd_una_ < snd_max_ ? (snd_max_ - 1) / mss_ * mss_ + mss_ : snd_una_;
  for (uint64_t seq = top; seq > snd_una_;) {
    seq -= mss_;
    const SentSegment* s = recorded(seq);
    if (s && s->sacked) {
      if (b.sacked_end == 0) b.sacked_end = seq + segment_len(seq);
      if (++sacked_above == kDupThresh) b.lost_below = seq;
      continue;
    }
    if (sacked_above < kDupThresh) ++b.pipe;
    if (s && s->recovery_rexmit) ++b.pipe;
  }
  return b;
}

void TcpSender::enter_sack_recovery() {
  enter_fast_recovery();  // recover_ = snd_max_: the RecoveryPoint
  cwnd_ = ssthresh_;  // one reduction for the whole episode; no inflation, the pipe counts
  if (send_segment(snd_una_)) slot(snd_una_).recovery_rexmit = true;
  send_in_sack_recovery();
}

void TcpSender::send_in_sack_recovery() {
  Scoreboard b = scan_scoreboard();
  uint64_t hole = snd_una_;  // walks up over segments SACKed or already retransmitted
  while (static_cast<double>(b.pipe) + 1 <= cwnd_) {
    while (hole < b.sacked_end) {
      const SentSegment* s = recorded(hole);
      if (!s || (!s->sacked && !s->recovery_rexmit)) break;
      hole += mss_;
    }
    bool below_sacked = hole < b.sacked_end;
    uint64_t seq;
    if (below_sacked && hole < b.lost_below) seq = hole;  // NextSeg rule 1: a lost segment
    else if (snd_nxt_ < limit_) seq = snd_nxt_;           // rule 2: new data
    else if (below_sacked) seq = hole;                    // rule 3: a hole not yet deemed lost
    else break;
    if (!send_segment(seq)) break;
    if (seq == snd_nxt_) {
      snd_nxt_ += segment_len(seq);
      snd_max_ = std::max(snd_max_, snd_nxt_);
    } else {
      slot(seq).recovery_rexmit = true;
      hole += mss_;
    }
    ++b.pipe;
  }
  if (snd_una_ < snd_max_ && !rto_timer_.armed()) arm_rto();
}

void TcpSender::ecn_reduce() {
  ++counters_.ecn_reductions;
  ssthresh_ = cc_->on_congestion(cwnd_);
  cwnd_ = ssthresh_;
  ecn_reduced_ = true;
  ecn_recover_ = snd_max_;
  send_cwr_ = true;
}

void TcpSender::on_ack(const FrameInfo& info) {
  if (!started_ || completed_) return;
  uint32_t wire_una = isn_ + static_cast<uint32_t>(snd_una_);
  int64_t delta = static_cast<int32_t>(info.ack - wire_una);
  if (delta < 0) return;  // older than snd_una
  uint64_t ack = snd_una_ + static_cast<uint64_t>(delta);
  if (ack > snd_max_) return;  // acknowledges nothing we sent
  bool ece = (info.flags & kTcpEce) != 0;

  if (ack > snd_una_) {
    uint64_t acked_bytes = ack - snd_una_;
    auto acked_segments = static_cast<uint32_t>(segments(acked_bytes));
    // Window growth counts what this ACK delivered: segments SACKed earlier arrived before.
    // (After an RTO a filled hole can acknowledge hundreds of SACKed segments at once.)
    if (sack_) acked_segments -= sacked_segments(snd_una_, ack);
    uint64_t last_seq = ((ack - 1) / mss_) * mss_;
    uint64_t rtt_sample = take_rtt_sample(last_seq);
    snd_una_ = ack;
    if (hystart_ && cwnd_ < ssthresh_ && !in_recovery_) hystart_on_rtt(rtt_sample);
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    dupacks_ = 0;
    if (sack_) mark_sacked(info);
    if (in_recovery_ && sack_) {
      if (ack < recover_) {
        arm_rto();  // a partial ACK: the holes keep being repaired by NextSeg
        try_send();
        return;
      }
      in_recovery_ = false;  // RecoveryPoint acknowledged; cwnd stays at ssthresh (RFC 6675)
    } else if (in_recovery_) {
      if (ack > recover_) {
        in_recovery_ = false;  // full ACK: deflate to ssthresh (RFC 6582 3.2 step 3)
        double flight = static_cast<double>(segments(snd_max_ - snd_una_));
        cwnd_ = std::min(ssthresh_, std::max(flight, 1.0) + 1);
      } else {
        // Partial ACK: the next hole is lost too; retransmit it, deflate by what was acked.
        // Each partial ACK restarts the timer ("slow but steady", RFC 6582 4.3): tail-drop
        // queues leave several holes per window, and an RTO's go-back-N would resend them all.
        send_segment(snd_una_);
        cwnd_ = std::max(cwnd_ - acked_segments + 1, 1.0);
        arm_rto();
        try_send();
        return;
      }
    } else if (cwnd_ < ssthresh_) {
      cwnd_ += acked_segments;  // slow start
    } else {
      cc_->on_ack(cwnd_, acked_segments, net_.now(), static_cast<uint64_t>(srtt_ns_));
    }
    if (ecn_reduced_ && snd_una_ > ecn_recover_) ecn_reduced_ = false;
    if (ece && ecn_ && !in_recovery_ && !ecn_reduced_) ecn_reduce();
    if (limit_ != kUnlimited && snd_una_ >= limit_) {
      completed_ = true;
      completed_ns_ = net_.now();
      rto_timer_.cancel();
      return;
    }
    rto_timer_.cancel();
    if (snd_una_ < snd_max_) arm_rto();
  } else if (snd_una_ < snd_max_) {
    ++dupacks_;
    if (sack_) mark_sacked(info);
    if (in_recovery_) {
      if (!sack_) cwnd_ += 1;  // each duplicate means a segment left the network
    } else if (sack_ && (!recover_valid_ || ack >= recover_) &&
               (dupacks_ >= kDupThresh || scan_scoreboard().lost_below > snd_una_)) {
      // RFC 6675 section 5: DupThresh duplicates, or IsLost(HighACK + 1), start recovery
      // (not for duplicates of data sent before the last recovery or RTO began).
      enter_sack_recovery();
    } else if (dupacks_ < 3) {
      // Limited transmit (RFC 3042): a new segment per early duplicate keeps the ACK clock
      // going, so that small windows still reach three duplicates instead of an RTO.
      if (snd_nxt_ < limit_ && snd_nxt_ == snd_max_ && send_segment(snd_nxt_)) {
        snd_nxt_ += segment_len(snd_nxt_);
        snd_max_ = snd_nxt_;
      }
    } else if (!sack_ && dupacks_ == 3 && (!recover_valid_ || ack > recover_)) {
      // RFC 6582 4.1: duplicates of data sent before the last recovery start no new one.
      enter_loss_recovery();
    }
    if (ece && ecn_ && !in_recovery_ && !ecn_reduced_) ecn_reduce();
  }
  try_send();
}

}  // namespace bpfq::io::sim
