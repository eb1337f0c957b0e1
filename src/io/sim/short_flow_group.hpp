#pragma once
// Short TCP flows arriving as a Poisson process with sizes from a distribution; each becomes
// a TcpFlow of its own (5-tuple, state), sharing the group's delay histograms.
#include <memory>
#include <vector>

#include <bpfq/io/sim/report.hpp>
#include <bpfq/io/sim/scenario.hpp>

#include "delay_histogram.hpp"
#include "rng.hpp"
#include "tcp_flow.hpp"

namespace bpfq::io::sim {

class Network;

class ShortFlowGroup final : public EventTarget {
 public:
  ShortFlowGroup(Network& net, uint32_t index, const ShortFlowSpec& spec);
  void schedule();
  void on_event(uint32_t tag, sched::Packet* pkt) override;
  ShortFlowsReport report() const;

 private:
  uint64_t draw_size();
  uint64_t end_ns() const;

  Network& net_;
  ShortFlowSpec spec_;
  Rng rng_;
  DelayHistogram rtt_;
  DelayHistogram queue_delay_;
  std::vector<std::unique_ptr<TcpFlow>> flows_;
};

}  // namespace bpfq::io::sim
