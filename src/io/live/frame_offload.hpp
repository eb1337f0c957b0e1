#pragma once
// Frames with offload state (a virtio_net_hdr, as AF_PACKET's PACKET_VNET_HDR hands them over)
// turned into packets and back. A GSO bundle is one packet to the qdisc, as in Linux, counted
// by the bytes its segments put on the wire (skb->wire_len, Linux's qdisc_pkt_len).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>

#include <bpfq/sched/packet.hpp>
#include <bpfq/sched/packet_pool.hpp>

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

constexpr uint32_t kVlanBytes = 4;

// Copies frame into pkt with the offload state of vnet; vlan (tpid, tci) is a tag the kernel
// stripped on receive, put back after the MAC addresses. False if the frame does not fit or its
// offload state is inconsistent (the caller drops and counts it).
bool fill_packet(sched::Packet& pkt, std::span<const uint8_t> frame, const VnetHeader& vnet,
                 std::optional<std::pair<uint16_t, uint16_t>> vlan);
// The same for a frame of len bytes a port received straight into pkt, at pkt.data() plus
// kVlanBytes when vlan is set (room for the tag), else at pkt.data().
bool finish_frame(sched::Packet& pkt, uint32_t len, const VnetHeader& vnet,
                  std::optional<std::pair<uint16_t, uint16_t>> vlan);

// The virtio_net_hdr that sends pkt as it was received (all zero for a plain frame).
VnetHeader vnet_header(const sched::Packet& pkt);

// A GSO bundle of TCP (IPv4, IPv6) or UDP (GSO_UDP_L4) cut into the frames a wire carries, as
// Linux's skb_gso_segment: each segment repeats the headers with its own IP length (IPv4: id + i
// and a new header checksum), TCP sequence number and flags (FIN and PSH on the last, CWR on the
// first) or UDP length, and a partial checksum the kernel finishes on the way out. Each segment
// is a packet from pool (created_ns of the bundle) handed to on_segment, which takes it.
struct Segmented {
  uint32_t segments = 0;   // handed to on_segment
  uint32_t no_buffer = 0;  // not made: the pool was exhausted (the caller counts them)
};
// nullopt: bundle is not a GSO frame bpfq cuts (a plain frame, UFO, no partial checksum); the
// caller keeps it whole.
std::optional<Segmented> segment_gso(const sched::Packet& bundle, sched::PacketPool& pool,
                                     const std::function<void(sched::Packet*)>& on_segment);

}  // namespace bpfq::io::live
