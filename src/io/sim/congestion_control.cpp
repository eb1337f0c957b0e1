#include "congestion_control.hpp"

#include <algorithm>
#include <cmath>

namespace bpfq::io::sim {

void NewRenoAvoidance::on_ack(double& cwnd, uint32_t acked_segments, uint64_t, uint64_t) {
  cwnd += static_cast<double>(acked_segments) / cwnd;
}

double NewRenoAvoidance::on_congestion(double cwnd) { return std::max(cwnd / 2, 2.0); }

void CubicAvoidance::on_ack(double& cwnd, uint32_t acked_segments, uint64_t now_ns, uint64_t srtt_ns) {
  if (!in_epoch_) {
    in_epoch_ = true;
    epoch_start_ = now_ns;
    if (cwnd < w_max_) {
      k_ = std::cbrt((w_max_ - cwnd) / kC);
      origin_ = w_max_;
    } else {
      k_ = 0;
      origin_ = cwnd;
    }
    w_est_ = cwnd;
  }
  double acked = static_cast<double>(acked_segments);
  // The target one RTT ahead (RFC 9438 4.2), at most 1.5 cwnd.
  double t = static_cast<double>(now_ns - epoch_start_ + srtt_ns) / 1e9;
  double target = origin_ + kC * std::pow(t - k_, 3);
  target = std::clamp(target, cwnd, 1.5 * cwnd);
  // Reno-friendly region (RFC 9438 4.3): W_est grows like Reno with alpha = 3(1-b)/(1+b).
  constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);
  w_est_ += kAlpha * acked / cwnd;
  if (target > cwnd) cwnd += (target - cwnd) / cwnd * acked;
  else cwnd += 0.01 * acked / cwnd;
  if (w_est_ > cwnd) cwnd = w_est_;
}

double CubicAvoidance::on_congestion(double cwnd) {
  // Fast convergence: release bandwidth faster when the window keeps shrinking.
  w_max_ = cwnd < w_max_ ? cwnd * (1 + kBeta) / 2 : cwnd;
  in_epoch_ = false;
  return std::max(cwnd * kBeta, 2.0);
}

std::unique_ptr<CongestionAvoidance> make_congestion_avoidance(CongestionControl cc) {
  if (cc == CongestionControl::NewReno) return std::make_unique<NewRenoAvoidance>();
  return std::make_unique<CubicAvoidance>();
}

}  // namespace bpfq::io::sim
