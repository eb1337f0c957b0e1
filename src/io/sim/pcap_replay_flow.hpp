#pragma once
// Replays a capture's Ethernet frames into the bottleneck at their (shifted, scaled)
// timestamps. The whole capture is read when the flow is built, so a bad file is a load-time
// error and the run itself does no file I/O. Frames arrive at the receiver and are counted;
// nothing answers them.
#include <cstdint>
#include <vector>

#include <bpfq/io/sim/scenario.hpp>

#include "flow.hpp"

namespace bpfq::io::sim {

class Network;

class PcapReplayFlow final : public Flow {
 public:
  // Throws bpfq::Error if the file cannot be read as a capture.
  PcapReplayFlow(Network& net, uint32_t id, const PcapReplaySpec& spec);
  void schedule();
  void on_forward(const FrameInfo& info, sched::Packet& pkt) override;
  void on_reverse(const FrameInfo&, sched::Packet&) override {}
  void on_event(uint32_t tag, sched::Packet* pkt) override;

  const PcapReplaySpec& spec() const { return spec_; }
  uint64_t frames() const { return frames_.size(); }   // replayable frames in the file
  uint64_t skipped() const { return skipped_; }        // not Ethernet, cut short or too long
  uint64_t first_ns() const { return frames_.empty() ? spec_.start_ns : frames_.front().at_ns; }
  uint64_t last_ns() const { return frames_.empty() ? spec_.start_ns : frames_.back().at_ns; }
  DelayHistogram own_queue_delay;

 private:
  struct Frame {
    uint64_t at_ns;   // when it is sent, virtual time
    size_t offset;    // into bytes_
    uint32_t len;
  };
  void load();

  Network& net_;
  PcapReplaySpec spec_;
  std::vector<Frame> frames_;
  std::vector<uint8_t> bytes_;
  uint64_t skipped_ = 0;
  size_t next_ = 0;
};

}  // namespace bpfq::io::sim
