#pragma once
// The frames the simulator builds and reads back. Every flow has an id; its sender's IPv4
// address encodes it (10.64.0.0 + id), the receiver is 10.0.0.2. So a frame names its flow in
// its own bytes, as a live host would demultiplex it, whatever a qdisc does with skb metadata.
#include <array>
#include <cstdint>
#include <span>

#include <bpfq/sched/packet_builder.hpp>

namespace bpfq::io::sim {

inline constexpr uint32_t kSenderBase = (10u << 24) | (64u << 16);  // 10.64.0.0
inline constexpr uint32_t kReceiverAddress = (10u << 24) | 2u;      // 10.0.0.2
inline constexpr uint32_t kMaxFlows = 1u << 22;

// TCP flags
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

inline constexpr uint32_t kIpv4TcpHeaders = 40;  // IPv4 + TCP, no options: MSS = MTU - 40
inline constexpr uint32_t kEthernetHeader = 14;

sched::IpBytes ipv4_bytes(uint32_t address);

// A FrameSpec between flow `flow`'s sender and the receiver; forward = sender -> receiver.
sched::FrameSpec frame_spec(uint32_t flow, bool forward, sched::L4 l4);

// What the simulator reads back from a frame.
struct FrameInfo {
  bool valid = false;  // IPv4 from or to a flow's sender
  bool forward = false;
  uint32_t flow = 0;
  uint8_t proto = 0;
  uint8_t ecn = 0;
  uint32_t payload_len = 0;  // bytes after the transport header
  // tcp
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  std::array<sched::TcpSackBlock, sched::kMaxTcpSackBlocks> sack{};  // as the option lists them
  uint8_t sack_count = 0;
  // icmp
  uint8_t icmp_type = 0;
  uint16_t icmp_seq = 0;
};

// Reads only inside frame; valid = false for anything it does not recognise.
FrameInfo read_frame(std::span<const uint8_t> frame);

}  // namespace bpfq::io::sim
