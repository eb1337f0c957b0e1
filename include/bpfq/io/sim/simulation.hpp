#pragma once
// Runs a Scenario against any sched::Qdisc placed on the bottleneck's egress and returns the
// Report. Single thread, virtual time: the same scenario, seed and qdisc give the same report.
//
//   sim::Simulation s(sim::preset("bufferbloat"));
//   sched::PfifoQdisc q(1000);                 // or a BpfQdisc built with s.clock(), s.pool()
//   sim::Report r = s.run(q);
//
// The qdisc must use s.pool()'s packets only as handed in, and read time from s.clock() (or
// the now_ns the simulator passes). run() drains and resets the qdisc at the end, so that every
// packet returns to the pool before the Simulation is destroyed.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include <bpfq/io/sim/report.hpp>
#include <bpfq/io/sim/scenario.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::io::sim {

struct Egress;  // bottleneck.hpp

struct Progress {
  uint64_t now_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t events = 0;
};
// Called once per sample interval of virtual time.
using ProgressCallback = std::function<void(const Progress&)>;

// Observes the frames crossing the bottleneck (captures, tests). departed: the qdisc released
// the frame and its first bit went onto the wire (called once it is fully serialised, so every
// frame reported counts in link.packets_sent). arrived: it reached the receiver; flow is the
// id of the flow it belongs to (report order), UINT32_MAX if none.
struct FrameTap {
  std::function<void(uint64_t departure_ns, std::span<const uint8_t> frame)> departed;
  std::function<void(uint64_t arrival_ns, uint32_t flow, std::span<const uint8_t> frame)> arrived;
};

// What a qdisc factory may need to build a qdisc for this simulation.
struct SimContext {
  runtime::Clock& clock;
  sched::PacketPool& pool;
  sched::DeviceParams device;  // mtu from the scenario, tx_queue_len 1000
  uint64_t seed;
};
using QdiscFactory = std::function<std::unique_ptr<sched::Qdisc>(const SimContext&)>;

class Simulation {
 public:
  // Validates the scenario (bpfq::Error) and creates the clock and the packet pool.
  explicit Simulation(Scenario scenario);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  runtime::ManualClock& clock() { return clock_; }
  sched::PacketPool& pool() { return *pool_; }
  sched::DeviceParams device() const;
  const Scenario& scenario() const { return scenario_; }
  SimContext context();

  void set_progress(ProgressCallback callback) { progress_ = std::move(callback); }
  // Besides Scenario::pcap_output, which the run writes itself.
  void set_frame_tap(FrameTap tap) { tap_ = std::move(tap); }

  // Runs the scenario once from time 0 with qdisc on the bottleneck. A Simulation runs once;
  // a second call throws bpfq::Error.
  Report run(sched::Qdisc& qdisc);
  // The same with a device on the bottleneck: its clsact egress program runs before its root.
  Report run(sched::Device& device);

 private:
  Report run(Egress egress);

  Scenario scenario_;
  runtime::ManualClock clock_;
  std::unique_ptr<sched::PacketPool> pool_;
  ProgressCallback progress_;
  FrameTap tap_;
  bool ran_ = false;
};

// Builds a Simulation, the qdisc from factory, runs it.
Report simulate(const Scenario& scenario, const QdiscFactory& factory, ProgressCallback progress = {});

}  // namespace bpfq::io::sim
