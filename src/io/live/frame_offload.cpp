#include "frame_offload.hpp"

#include <algorithm>
#include <cstring>

namespace bpfq::io::live {
namespace {

constexpr uint32_t kMacBytes = 12;  // destination and source MAC: a VLAN tag goes after them

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

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }
void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

// The ones'-complement sum of bytes as 16-bit words, not folded.
uint64_t sum16(const uint8_t* p, uint32_t n, uint64_t sum = 0) {
  for (uint32_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

constexpr uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd;
constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

}  // namespace

bool fill_packet(sched::Packet& pkt, std::span<const uint8_t> frame, const VnetHeader& vnet,
                 std::optional<std::pair<uint16_t, uint16_t>> vlan) {
  const uint32_t at = vlan ? kVlanBytes : 0;
  if (frame.size() + at > pkt.max_len()) return false;
  std::memcpy(pkt.data() + at, frame.data(), frame.size());
  return finish_frame(pkt, static_cast<uint32_t>(frame.size()), vnet, vlan);
}

bool finish_frame(sched::Packet& pkt, uint32_t len, const VnetHeader& vnet,
                  std::optional<std::pair<uint16_t, uint16_t>> vlan) {
  const uint32_t extra = vlan ? kVlanBytes : 0;
  if (len < kMacBytes || len + extra > pkt.max_len()) return false;
  uint8_t* d = pkt.data();
  if (vlan) {  // the MAC addresses move to the front, the tag goes after them
    std::memmove(d, d + kVlanBytes, kMacBytes);
    const uint8_t tag[kVlanBytes] = {uint8_t(vlan->first >> 8), uint8_t(vlan->first), uint8_t(vlan->second >> 8),
                                     uint8_t(vlan->second)};
    std::memcpy(d + kMacBytes, tag, kVlanBytes);
  }
  if (!pkt.frame_written(len + extra)) return false;
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

std::optional<Segmented> segment_gso(const sched::Packet& bundle, sched::PacketPool& pool,
                                     const std::function<void(sched::Packet*)>& on_segment) {
  const sched::Packet::Offload& o = bundle.offload;
  const uint8_t type = static_cast<uint8_t>(o.gso_type & ~kGsoEcn);
  const bool tcp = type == kGsoTcpV4 || type == kGsoTcpV6;
  if ((!tcp && type != kGsoUdpL4) || !(o.flags & kVnetNeedsCsum) || o.gso_size == 0) return std::nullopt;
  const uint8_t* d = bundle.data();
  const uint32_t len = bundle.len();
  if (len < kMacBytes + 2) return std::nullopt;
  // The IP header after the MAC addresses and up to two VLAN tags; the L4 header where the
  // checksum starts; the headers every segment repeats end with it (fill_packet's hdr_len).
  uint32_t l3 = kMacBytes;
  uint16_t ethertype = get16(d + l3);
  for (int tags = 0; tags < 2 && (ethertype == 0x8100 || ethertype == 0x88a8) && l3 + 6 <= len; ++tags) {
    l3 += kVlanBytes;
    ethertype = get16(d + l3);
  }
  l3 += 2;
  const uint32_t l4 = o.csum_start, hdr = o.hdr_len;
  const bool v4 = ethertype == kIpv4;
  if ((!v4 && ethertype != kIpv6) || (type == kGsoTcpV4 && !v4) || (type == kGsoTcpV6 && v4)) return std::nullopt;
  if (l4 < l3 + (v4 ? 20u : 40u) || hdr < l4 + (tcp ? 20u : 8u) || hdr >= len || l4 + o.csum_offset + 2u > hdr)
    return std::nullopt;
  if (v4 && ((d[l3] & 0xfu) < 5 || l3 + (d[l3] & 0xfu) * 4u > l4)) return std::nullopt;

  Segmented out;
  const uint32_t payload = len - hdr;
  const uint32_t count = (payload + o.gso_size - 1) / o.gso_size;
  // The pseudo header without its length: the addresses and the protocol.
  const uint64_t pseudo = v4 ? sum16(d + l3 + 12, 8, tcp ? 6 : 17) : sum16(d + l3 + 8, 32, tcp ? 6 : 17);
  for (uint32_t i = 0; i < count; ++i) {
    sched::Packet* seg = pool.alloc();
    if (!seg) {
      out.no_buffer = count - i;
      break;
    }
    const uint32_t chunk = std::min<uint32_t>(o.gso_size, payload - i * o.gso_size);
    const uint32_t seg_len = hdr + chunk;
    uint8_t* s = seg->data();
    std::memcpy(s, d, hdr);
    std::memcpy(s + hdr, d + hdr + i * o.gso_size, chunk);
    seg->frame_written(seg_len);  // fits: a segment is shorter than its bundle, same pool
    if (v4) {
      put16(s + l3 + 2, seg_len - l3);
      put16(s + l3 + 4, get16(d + l3 + 4) + i);
      put16(s + l3 + 10, 0);
      put16(s + l3 + 10, static_cast<uint16_t>(~fold(sum16(s + l3, (s[l3] & 0xfu) * 4u))));
    } else {
      put16(s + l3 + 4, seg_len - l3 - 40);
    }
    const uint32_t l4_len = seg_len - l4;
    if (tcp) {
      put32(s + l4 + 4, get32(d + l4 + 4) + i * o.gso_size);
      if (i + 1 < count) s[l4 + 13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
      if (i > 0) s[l4 + 13] &= static_cast<uint8_t>(~kTcpCwr);
    } else {
      put16(s + l4 + 4, l4_len);
    }
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum; the kernel adds the rest.
    put16(s + l4 + o.csum_offset, fold(pseudo + l4_len));
    seg->offload = {kVnetNeedsCsum, kGsoNone, 0, 0, o.csum_start, o.csum_offset};
    seg->created_ns = bundle.created_ns;
    ++out.segments;
    on_segment(seg);
  }
  return out;
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

