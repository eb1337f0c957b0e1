#pragma once
// Frames with offload state (a virtio_net_hdr, as AF_PACKET's PACKET_VNET_HDR hands them over)
// turned into packets and back. A GSO bundle is one packet to the qdisc, as in Linux, counted
// by the bytes its segments put on the wire (skb->wire_len, Linux's qdisc_pkt_len).
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include <bpfq/sched/packet.hpp>

namespace bpfq::io::live {

// struct virtio_net_hdr of <linux/virtio_net.h> (that header does not compile as C++): what a
// PACKET_VNET_HDR socket puts in front of each frame, little-endian on every host bpfq runs on.
struct VnetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4, kGsoUdpL4 = 5, kGsoEcn = 0x80;

// Copies frame into pkt with the offload state of vnet; vlan (tpid, tci) is a tag the kernel
// stripped on receive, put back after the MAC addresses. False if the frame does not fit or its
// offload state is inconsistent (the caller drops and counts it).
bool fill_packet(sched::Packet& pkt, std::span<const uint8_t> frame, const VnetHeader& vnet,
                 std::optional<std::pair<uint16_t, uint16_t>> vlan);

// The virtio_net_hdr that sends pkt as it was received (all zero for a plain frame).
VnetHeader vnet_header(const sched::Packet& pkt);


}  // namespace bpfq::io::live
