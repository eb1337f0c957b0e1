#include "frame_offload.hpp"

#include <cstring>

namespace bpfq::io::live {
namespace {

constexpr uint32_t kMacBytes = 12;  // destination and source MAC: a VLAN tag goes after them
constexpr uint32_t kVlanBytes = 4;

// The header bytes every segment repeats: up to the end of the TCP (or UDP) header, which the
// checksum offset locates. virtio's own hdr_len is only a hint (Linux fills it with the linear
// length), so it is a fallback.
uint16_t segment_header_len(const sched::Packet& pkt, const VnetHeader& vnet) {
  const uint32_t l4 = vnet.csum_start;
  const uint8_t type = static_cast<uint8_t>(vnet.gso_type & ~kGsoEcn);
  if ((type == kGsoTcpV4 || type == kGsoTcpV6) && l4 + 20 <= pkt.len())
    return static_cast<uint16_t>(l4 + (pkt.data()[l4 + 12] >> 4) * 4u);
  if (type == kGsoUdpL4 && l4 + 8 <= pkt.len()) return static_cast<uint16_t>(l4 + 8);
  return vnet.hdr_len;
}

}  // namespace

bool fill_packet(sched::Packet& pkt, std::span<const uint8_t> frame, const VnetHeader& vnet,
                 std::optional<std::pair<uint16_t, uint16_t>> vlan) {
  const uint32_t extra = vlan ? kVlanBytes : 0;
  if (frame.size() < kMacBytes || frame.size() + extra > pkt.max_len()) return false;
  uint8_t* d = pkt.data();
  if (vlan) {
    std::memcpy(d, frame.data(), kMacBytes);
    const uint8_t tag[kVlanBytes] = {uint8_t(vlan->first >> 8), uint8_t(vlan->first), uint8_t(vlan->second >> 8),
                                     uint8_t(vlan->second)};
    std::memcpy(d + kMacBytes, tag, kVlanBytes);
    std::memcpy(d + kMacBytes + kVlanBytes, frame.data() + kMacBytes, frame.size() - kMacBytes);
  } else {
    std::memcpy(d, frame.data(), frame.size());
  }
  if (!pkt.frame_written(static_cast<uint32_t>(frame.size() + extra))) return false;
  sched::Packet::Offload& o = pkt.offload;
  o.flags = vnet.flags;
  o.gso_type = vnet.gso_type;
  o.csum_start = static_cast<uint16_t>(vnet.csum_start + (vnet.flags & kVnetNeedsCsum ? extra : 0));
  o.csum_offset = vnet.csum_offset;
  o.gso_size = vnet.gso_size;
  o.hdr_len = 0;
  if ((o.flags & kVnetNeedsCsum) && o.csum_start + o.csum_offset + 2u > pkt.len()) return false;
  if (vnet.gso_type == kGsoNone) return true;
  if (vnet.gso_size == 0) return false;
  VnetHeader shifted = vnet;
  shifted.csum_start = o.csum_start;
  o.hdr_len = segment_header_len(pkt, shifted);
  if (o.hdr_len >= pkt.len()) return false;
  const uint32_t payload = pkt.len() - o.hdr_len;
  const uint32_t segs = (payload + o.gso_size - 1) / o.gso_size;
  pkt.set_gso(o.gso_size, static_cast<uint16_t>(segs), o.hdr_len);
  return true;
}

VnetHeader vnet_header(const sched::Packet& pkt) {
  VnetHeader h{};
  h.flags = pkt.offload.flags;
  h.gso_type = pkt.offload.gso_type;
  h.hdr_len = pkt.offload.hdr_len;
  h.gso_size = pkt.offload.gso_size;
  h.csum_start = pkt.offload.csum_start;
  h.csum_offset = pkt.offload.csum_offset;
  return h;
}

}  // namespace bpfq::io::live

