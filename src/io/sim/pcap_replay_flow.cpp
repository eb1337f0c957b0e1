#include "pcap_replay_flow.hpp"

#include <algorithm>
#include <cmath>

#include "network.hpp"
#include "pcap_reader.hpp"

namespace bpfq::io::sim {

namespace {
// Two VLAN tags: the longest Ethernet header a frame of MTU-sized IP may carry.
constexpr uint32_t kMaxL2Header = kEthernetHeader + 8;
constexpr uint32_t kPacketDataRoom = 2048;  // the simulation pool's buffers
}  // namespace

PcapReplayFlow::PcapReplayFlow(Network& net, uint32_t id, const PcapReplaySpec& spec)
    : Flow(id), net_(net), spec_(spec) {
  queue_delay = &own_queue_delay;
  load();
}

void PcapReplayFlow::load() {
  const Capture capture = read_capture(spec_.file);
  const bool ethernet = capture.linktype == kLinktypeEthernet;
  const uint32_t max_len = std::min(net_.scenario().mtu + kMaxL2Header, kPacketDataRoom);
  bool have_first = false;
  uint64_t first_ts = 0, last_at = spec_.start_ns;
  for (const CapturedFrame& f : capture.frames) {
    if (!ethernet || f.caplen < f.len || f.len < kEthernetHeader || f.len > max_len) {
      ++skipped_;
      continue;
    }
    if (!have_first) {
      first_ts = f.ts_ns;
      have_first = true;
    }
    // A timestamp before the previous frame's keeps file order (sent right after it).
    const uint64_t since = f.ts_ns > first_ts ? f.ts_ns - first_ts : 0;
    const auto scaled = static_cast<uint64_t>(std::llround(static_cast<double>(since) / spec_.speed));
    const uint64_t at = std::max(last_at, spec_.start_ns + scaled);
    frames_.push_back({at, bytes_.size(), f.len});
    bytes_.insert(bytes_.end(), capture.bytes.begin() + static_cast<std::ptrdiff_t>(f.offset),
                  capture.bytes.begin() + static_cast<std::ptrdiff_t>(f.offset + f.len));
    last_at = at;
  }
}

void PcapReplayFlow::schedule() {
  if (!frames_.empty()) net_.loop().schedule_at(frames_.front().at_ns, *this, 0);
}

void PcapReplayFlow::on_event(uint32_t, sched::Packet*) {
  // Every frame due now goes out in file order.
  while (next_ < frames_.size() && frames_[next_].at_ns <= net_.now()) {
    const Frame& f = frames_[next_++];
    sched::Packet* pkt = net_.alloc();
    if (!pkt) continue;  // lost in the sender's host, counted as pool_exhausted
    pkt->assign(std::span<const uint8_t>(bytes_.data() + f.offset, f.len));
    net_.send_forward(*this, pkt);
  }
  if (next_ < frames_.size()) net_.loop().schedule_at(frames_[next_].at_ns, *this, 0);
}

void PcapReplayFlow::on_forward(const FrameInfo&, sched::Packet& pkt) { counters.bytes_delivered += pkt.len(); }

}  // namespace bpfq::io::sim
