#pragma once
// The topology every flow talks to: senders -> bottleneck (qdisc + serialisation) ->
// propagation rtt/2 -> receiver, and the uncongested reverse path of rtt/2. It allocates
// frames from the pool, demultiplexes arrivals to flows by the addresses in their bytes and
// keeps the link-wide time series.
#include <cstdint>
#include <memory>
#include <vector>

#include <bpfq/io/sim/event_loop.hpp>
#include <bpfq/io/sim/report.hpp>
#include <bpfq/io/sim/scenario.hpp>
#include <bpfq/io/sim/simulation.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

#include "bottleneck.hpp"
#include "delay_histogram.hpp"
#include "flow.hpp"
#include "packet_owners.hpp"

namespace bpfq::io::sim {

class Network final : public EventTarget, public BottleneckListener {
 public:
  Network(const Scenario& scenario, EventLoop& loop, runtime::ManualClock& clock, sched::PacketPool& pool, Egress egress);

  EventLoop& loop() { return loop_; }
  uint64_t now() const { return loop_.now(); }
  const Scenario& scenario() const { return scenario_; }
  // When a source given stop_ns (0: none) stops offering traffic: then, or at the end of the run.
  uint64_t stop_time(uint64_t stop_ns) const { return stop_ns ? stop_ns : scenario_.duration_ns; }

  // Registers flow under its id (ids are dense, starting at 0). A flow whose frames do not name
  // it in their bytes (replay) is identified by the packets it sends: by_packet = true.
  void add_flow(Flow& flow, bool by_packet = false);
  void set_frame_tap(const FrameTap* tap) { tap_ = tap && (tap->departed || tap->arrived) ? tap : nullptr; }
  uint32_t next_flow_id() const { return static_cast<uint32_t>(flows_.size()); }

  // A packet from the pool, or nullptr (counted) when it is exhausted.
  sched::Packet* alloc();
  // Sender -> bottleneck. Takes the reference.
  void send_forward(Flow& flow, sched::Packet* pkt);
  // Receiver -> sender, uncongested. Takes the reference.
  void send_reverse(sched::Packet* pkt);

  void on_event(uint32_t tag, sched::Packet* pkt) override;
  void on_dequeued(sched::Packet& pkt, uint64_t sojourn_ns) override;
  void on_transmitted(sched::Packet* pkt) override;

  // After the run: dequeues what the qdisc still holds (moving the clock through its throttle
  // times), counting it per flow as queued.
  void drain_qdisc();

  // Starts the periodic time-series sample; flows_in_series are the flows with a column.
  void start_sampling(std::vector<Flow*> flows_in_series, ProgressCallback progress);

  Bottleneck& bottleneck() { return bottleneck_; }
  uint64_t packets_built() const { return packets_built_; }
  uint64_t pool_exhausted() const { return pool_exhausted_; }
  uint64_t unknown_frames() const { return unknown_frames_; }
  TimeSeries& series() { return series_; }

 private:
  enum Tag : uint32_t { kForwardArrival, kReverseArrival, kSample };
  Flow* flow_of(const FrameInfo& info) const;
  // On the forward path: a by-packet flow's packet, else the flow the bytes name.
  Flow* forward_flow_of(const sched::Packet& pkt, const FrameInfo& info) const;
  void sample();

  const Scenario& scenario_;
  EventLoop& loop_;
  runtime::ManualClock& clock_;
  sched::PacketPool& pool_;
  Bottleneck bottleneck_;
  uint64_t forward_delay_ns_;
  uint64_t reverse_delay_ns_;
  // Packets in flight each way: a fixed delay, so each direction is a FIFO lane of the loop.
  uint32_t forward_lane_;
  uint32_t reverse_lane_;
  std::vector<Flow*> flows_;
  std::vector<bool> by_packet_;        // per flow id
  std::unique_ptr<PacketOwners> owners_;  // only once a by-packet flow exists
  const FrameTap* tap_ = nullptr;
  uint64_t packets_built_ = 0;
  uint64_t pool_exhausted_ = 0;
  uint64_t unknown_frames_ = 0;

  // Time series accumulators for the current interval.
  TimeSeries series_;
  std::vector<Flow*> series_flows_;
  std::vector<uint64_t> series_flow_bytes_;  // bytes_delivered at the last sample
  uint64_t interval_delay_sum_ = 0;
  uint64_t interval_delay_count_ = 0;
  uint64_t interval_delay_max_ = 0;
  uint64_t interval_link_bytes_ = 0;
  ProgressCallback progress_;
};

}  // namespace bpfq::io::sim
