#pragma once
// Bounds-checked reading of the Ethernet header and VLAN tags, shared by the dissector and ECN
// marking. Never reads outside the frame.
#include <cstddef>
#include <cstdint>
#include <span>

#include <bpfq/sched/byte_order.hpp>

namespace bpfq::sched {

inline constexpr uint16_t kEthPIp = 0x0800;
inline constexpr uint16_t kEthPIpv6 = 0x86DD;
inline constexpr uint16_t kEthP8021Q = 0x8100;
inline constexpr uint16_t kEthP8021AD = 0x88A8;
inline constexpr size_t kEthHeaderLen = 14;
inline constexpr int kMaxVlanTags = 2;

struct L2Header {
  bool truncated = true;
  uint16_t ethertype = 0;  // after the VLAN tags (a third tag's TPID if there are more than 2)
  size_t network_offset = 0;
  uint8_t vlan_count = 0;
  uint16_t tpid[kMaxVlanTags] = {};
  uint16_t tci[kMaxVlanTags] = {};
};

inline bool is_vlan_tpid(uint16_t type) { return type == kEthP8021Q || type == kEthP8021AD; }

inline L2Header parse_l2(std::span<const uint8_t> frame) {
  L2Header h;
  if (frame.size() < kEthHeaderLen) return h;
  size_t off = 12;
  uint16_t type = load_be16(&frame[off]);
  off += 2;
  while (is_vlan_tpid(type) && h.vlan_count < kMaxVlanTags) {
    if (frame.size() < off + 4) return h;  // cut inside a tag
    h.tpid[h.vlan_count] = type;
    h.tci[h.vlan_count] = load_be16(&frame[off]);
    ++h.vlan_count;
    type = load_be16(&frame[off + 2]);
    off += 4;
  }
  h.truncated = false;
  h.ethertype = type;
  h.network_offset = off;
  return h;
}

}  // namespace bpfq::sched
