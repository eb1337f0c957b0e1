#pragma once
// The frames the simulator builds and reads back. Every flow has an id; its sender's address
// encodes it (IPv4 10.64.0.0 + id, IPv6 fd00:0:0:64:: + id), the receiver is 10.0.0.2 or
// fd00::2. So a frame names its flow in its own bytes, as a live host would demultiplex it,
// whatever a qdisc does with skb metadata.
#include <array>
#include <cstdint>
#include <span>

#include <bpfq/sched/packet_builder.hpp>

namespace bpfq::io::sim {

inline constexpr uint32_t kSenderBase = (10u << 24) | (64u << 16);  // 10.64.0.0
inline constexpr uint32_t kReceiverAddress = (10u << 24) | 2u;      // 10.0.0.2
inline constexpr uint32_t kMaxFlows = 1u << 22;
// IPv6: the senders' /96 (the flow id fills the last 32 bits) and the receiver.
inline constexpr sched::IpBytes kSenderPrefix6{0xfd, 0, 0, 0, 0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0, 0, 0};
inline constexpr sched::IpBytes kReceiverAddress6{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

// TCP flags
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

// ICMP / ICMPv6 echo types.
inline constexpr uint8_t kEchoRequest = 8, kEchoReply = 0;
inline constexpr uint8_t kEchoRequest6 = 128, kEchoReply6 = 129;

inline constexpr uint32_t kIpv4TcpHeaders = 40;  // IPv4 + TCP, no options: MSS = MTU - 40
inline constexpr uint32_t kIpv6TcpHeaders = 60;  // IPv6 + TCP: MSS = MTU - 60
inline constexpr uint32_t kIpv4Header = 20;
inline constexpr uint32_t kIpv6Header = 40;
inline constexpr uint32_t kEthernetHeader = 14;

sched::IpBytes ipv4_bytes(uint32_t address);

sched::IpBytes ipv6_sender(uint32_t flow);

// A FrameSpec between flow `flow`'s sender and the receiver; forward = sender -> receiver.
// ipv6: IPv6 addresses (and ICMPv6 for L4::Icmp).
sched::FrameSpec frame_spec(uint32_t flow, bool forward, sched::L4 l4, bool ipv6 = false);

// What the simulator reads back from a frame.
struct FrameInfo {
  bool valid = false;  // IPv4/IPv6 from or to a flow's sender
  bool ipv6 = false;
  bool forward = false;
  uint32_t flow = 0;
  uint8_t proto = 0;    // IPv6: the next header after the fixed header (no extension headers)
  uint8_t ecn = 0;      // IPv4 TOS / IPv6 traffic class, low two bits
  uint32_t payload_len = 0;  // bytes after the transport header
  // tcp
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  std::array<sched::TcpSackBlock, sched::kMaxTcpSackBlocks> sack{};  // as the option lists them
  uint8_t sack_count = 0;
  // icmp / icmpv6
  uint8_t icmp_type = 0;
  uint16_t icmp_seq = 0;
};

// Reads only inside frame; valid = false for anything it does not recognise.
FrameInfo read_frame(std::span<const uint8_t> frame);

}  // namespace bpfq::io::sim
