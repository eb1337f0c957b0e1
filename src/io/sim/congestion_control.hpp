#pragma once
// Window growth and reduction of a TCP sender, in segments. The sender runs slow start,
// recovery and the RTO itself; these decide congestion-avoidance growth and the reduction.
#include <cstdint>
#include <memory>

#include <bpfq/io/sim/scenario.hpp>

namespace bpfq::io::sim {

class CongestionAvoidance {
 public:
  virtual ~CongestionAvoidance() = default;
  // New data acknowledged in congestion avoidance (cwnd >= ssthresh, not in recovery).
  virtual void on_ack(double& cwnd, uint32_t acked_segments, uint64_t now_ns, uint64_t srtt_ns) = 0;
  // A congestion signal (3 duplicate ACKs, ECE, RTO) at window cwnd: the new ssthresh.
  virtual double on_congestion(double cwnd) = 0;
};

// RFC 5681: +1 segment per window, halve on congestion.
class NewRenoAvoidance final : public CongestionAvoidance {
 public:
  void on_ack(double& cwnd, uint32_t acked_segments, uint64_t now_ns, uint64_t srtt_ns) override;
  double on_congestion(double cwnd) override;
};

// RFC 9438 CUBIC: W(t) = C (t - K)^3 + W_max, beta 0.7, fast convergence and the
// Reno-friendly estimate W_est.
class CubicAvoidance final : public CongestionAvoidance {
 public:
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;
  void on_ack(double& cwnd, uint32_t acked_segments, uint64_t now_ns, uint64_t srtt_ns) override;
  double on_congestion(double cwnd) override;

 private:
  double w_max_ = 0;
  double k_ = 0;            // seconds until W(t) reaches the origin again
  double origin_ = 0;
  double w_est_ = 0;
  uint64_t epoch_start_ = 0;
  bool in_epoch_ = false;
};

std::unique_ptr<CongestionAvoidance> make_congestion_avoidance(CongestionControl cc);

}  // namespace bpfq::io::sim
