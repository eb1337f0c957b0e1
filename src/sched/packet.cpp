#include <bpfq/sched/packet.hpp>

#include <arpa/inet.h>

#include <cstring>

#include <bpfq/sched/flow_dissector.hpp>
#include <bpfq/sched/flow_hash.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "frame_parse.hpp"

namespace bpfq::sched {
namespace {

// eth_type_trans(): an ethertype names the protocol; a value below 0x0600 is an 802.3 length,
// for which Linux reports ETH_P_802_3 (raw IPX, 0xffff payload) or ETH_P_802_2 (LLC).
uint16_t protocol_of_frame(std::span<const uint8_t> frame) {
  if (frame.size() < kEthHeaderLen) return 0;
  const uint16_t type = load_be16(&frame[12]);
  if (type >= 0x0600) return type;
  if (frame.size() >= 16 && frame[14] == 0xFF && frame[15] == 0xFF) return 0x0001;  // ETH_P_802_3
  return 0x0004;                                                                     // ETH_P_802_2
}

}  // namespace

bool Packet::set_len(uint32_t len) {
  if (len > max_len()) return false;
  skb.len = len;
  skb.wire_len = len;
  skb.data_end = skb.data + len;
  return true;
}

bool Packet::assign(std::span<const uint8_t> frame) {
  if (frame.size() > max_len()) return false;
  if (!frame.empty()) std::memcpy(data(), frame.data(), frame.size());
  return frame_written(static_cast<uint32_t>(frame.size()));
}

bool Packet::frame_written(uint32_t len) {
  if (!set_len(len)) return false;
  skb.protocol = htons(protocol_of_frame(bytes()));
  clear_hash();
  return true;
}

void Packet::set_gso(uint16_t gso_size, uint16_t segs, uint16_t hdr_len) {
  skb.gso_size = gso_size;
  skb.gso_segs = segs;
  skb.wire_len = skb.len + (segs > 1 ? (segs - 1u) * hdr_len : 0u);
}

uint16_t Packet::ethertype() const { return ntohs(static_cast<uint16_t>(skb.protocol)); }

uint32_t Packet::get_hash() {
  if (skb.hash == 0) skb.hash = flow_hash(dissect(bytes()), pool->hash_key());
  return skb.hash;
}

}  // namespace bpfq::sched
