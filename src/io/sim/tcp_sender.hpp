#pragma once
// The sending half of a simulated TCP connection, segment by segment: slow start, congestion
// avoidance (NewReno or CUBIC), fast retransmit and loss recovery, the RTO of RFC 6298 with
// exponential backoff and go-back-N after it, and the ECN response (RFC 3168: one reduction per
// window on ECE, CWR on the next new segment). Loss recovery is SACK-based (RFC 6675: a
// scoreboard of SACKed segments, pipe, NextSeg) or, with SACK off, NewReno's (RFC 6582).
// No timestamps, no receive-window limit. CUBIC flows leave slow start with HyStart, as Linux's do. Frames are real IPv4 or IPv6 TCP; ACKs are read back from their bytes.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <bpfq/io/sim/event_loop.hpp>
#include <bpfq/io/sim/scenario.hpp>

#include "congestion_control.hpp"
#include "deadline_timer.hpp"
#include "delay_histogram.hpp"
#include "sim_frame.hpp"

namespace bpfq::io::sim {

class Network;
class Flow;

struct TcpCounters {
  uint64_t retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t ecn_reductions = 0;
};

class TcpSender final : public EventTarget {
 public:
  static constexpr uint32_t kInitialWindow = 10;  // RFC 6928
  static constexpr uint64_t kInitialRto = 1'000'000'000;
  static constexpr uint64_t kMinRto = 200'000'000;  // Linux's TCP_RTO_MIN (RFC 6298 says 1 s)
  static constexpr uint64_t kMaxRto = 60'000'000'000;

  // bytes == 0: unlimited (bulk) until stop().
  static constexpr uint32_t kDupThresh = 3;

  TcpSender(Network& net, Flow& flow, CongestionControl cc, uint32_t mss, uint64_t bytes, bool ecn, bool sack,
            DelayHistogram& rtt);

  void start();
  // The application stops writing: only what was already sent still has to arrive.
  void stop();
  void on_ack(const FrameInfo& info);
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  bool completed() const { return completed_; }
  uint64_t start_ns() const { return start_ns_; }
  uint64_t completed_ns() const { return completed_ns_; }
  uint64_t bytes_acked() const { return snd_una_; }
  // The wire sequence number of byte 0 (the receiver's too).
  uint32_t isn() const { return isn_; }
  double cwnd() const { return cwnd_; }
  double ssthresh() const { return ssthresh_; }
  const TcpCounters& counters() const { return counters_; }

 private:
  enum Tag : uint32_t { kRtoTimer, kRetry };
  struct SentSegment {
    uint64_t seq = UINT64_MAX;  // which segment the slot holds
    uint64_t sent_ns = 0;
    bool retransmitted = false;  // ever: no RTT sample from it (Karn)
    bool sacked = false;         // the scoreboard (RFC 6675)
    bool recovery_rexmit = false;  // retransmitted in this loss recovery: in the pipe once more
  };
  // What RFC 6675's SetPipe and IsLost say about the outstanding segments.
  struct Scoreboard {
    uint64_t pipe = 0;       // segments
    uint64_t lost_below = 0; // unSACKed segments starting below this are lost (IsLost)
    uint64_t sacked_end = 0; // the end of the highest SACKed segment (0: none above snd_una)
  };

  uint32_t segment_len(uint64_t seq) const;
  // bytes in segments, a partial one counting whole.
  uint64_t segments(uint64_t bytes) const { return (bytes + mss_ - 1) / mss_; }
  void try_send();
  bool send_segment(uint64_t seq);  // false if the pool is exhausted
  SentSegment& slot(uint64_t seq);
  // The record of the segment at seq if the ring still holds it (no growth, unlike slot()).
  const SentSegment* recorded(uint64_t seq) const;
  SentSegment* recorded(uint64_t seq) {
    return const_cast<SentSegment*>(std::as_const(*this).recorded(seq));
  }
  void note_sent(uint64_t seq, bool retransmission);
  // The RTT sample for the segment at seq, or 0 if Karn's algorithm forbids one.
  uint64_t take_rtt_sample(uint64_t seq_of_last_acked);
  void arm_rto();  // the retransmission timer, rto_ns_ from now
  void on_rto();
  // A congestion episode (fast recovery or an RTO) begins at snd_max: sets recover_ and
  // suppresses ECN reductions for the window.
  void begin_episode();
  // What both fast recoveries share: one reduction, begin_episode, in_recovery_.
  void enter_fast_recovery();
  void enter_loss_recovery();
  // SACK: marks the segments the ACK's blocks cover.
  void mark_sacked(const FrameInfo& info);
  Scoreboard scan_scoreboard();
  uint32_t sacked_segments(uint64_t from, uint64_t to) const;  // SACKed segments starting in [from, to)
  void enter_sack_recovery();
  // Sends by NextSeg (RFC 6675 rules 1-3) while the pipe is below cwnd.
  void send_in_sack_recovery();
  void ecn_reduce();
  void hystart_on_rtt(uint64_t rtt_ns);

  Network& net_;
  Flow& flow_;
  std::unique_ptr<CongestionAvoidance> cc_;
  DelayHistogram& rtt_;
  uint32_t mss_;
  uint64_t limit_;  // bytes to send; UINT64_MAX while a bulk flow is writing
  bool ecn_;
  bool sack_;
  uint32_t isn_;
  const sched::FrameSpec segment_frame_;  // what every segment shares: addresses, ports, protocol

  uint64_t snd_una_ = 0;
  uint64_t snd_nxt_ = 0;
  uint64_t snd_max_ = 0;
  double cwnd_ = kInitialWindow;
  double ssthresh_ = 1e12;
  uint32_t dupacks_ = 0;
  bool in_recovery_ = false;
  bool recover_valid_ = false;
  uint64_t recover_ = 0;      // snd_max when loss recovery (or an RTO) began
  uint64_t ecn_recover_ = 0;  // snd_max at the last ECN reduction: one per window
  bool ecn_reduced_ = false;
  bool send_cwr_ = false;

  // RFC 6298
  bool have_rtt_ = false;
  double srtt_ns_ = 0;
  double rttvar_ns_ = 0;
  uint64_t rto_ns_ = kInitialRto;
  DeadlineTimer rto_timer_;

  // HyStart (delay increase, RFC 9406 without its conservative phase), as Linux's CUBIC
  // runs it: leave slow start when a round's minimum RTT rises by eta over the last round's.
  bool hystart_;
  uint64_t round_end_ = 0;
  uint64_t last_round_min_rtt_ = UINT64_MAX;
  uint64_t round_min_rtt_ = UINT64_MAX;
  uint32_t round_samples_ = 0;

  std::vector<SentSegment> sent_;  // ring indexed by segment number
  bool started_ = false;
  bool retry_pending_ = false;
  bool completed_ = false;
  uint64_t start_ns_ = 0;
  uint64_t completed_ns_ = 0;
  TcpCounters counters_;
};

}  // namespace bpfq::io::sim
