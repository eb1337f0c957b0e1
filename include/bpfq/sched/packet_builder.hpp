#pragma once
// Builds real frames for tests and the simulator: Ethernet (optional VLAN tags) + IPv4/IPv6
// (optional IPv6 extension headers, fragments) + TCP/UDP/ICMP(v6), with correct lengths, the
// IPv4 header checksum and the transport checksum over the pseudo-header. TCP may carry SACK
// blocks (RFC 2018) as a real option.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace bpfq::sched {

struct Packet;

using MacAddress = std::array<uint8_t, 6>;
using IpBytes = std::array<uint8_t, 16>;  // IPv4 in bytes 0..3

// Text to address bytes ("10.0.0.1", "2001:db8::1"); throw bpfq::Error on bad text.
IpBytes ipv4_address(std::string_view text);
IpBytes ipv6_address(std::string_view text);

enum class L4 : uint8_t { Tcp, Udp, Icmp /* ICMPv6 over IPv6 */, None /* raw payload */ };

struct VlanTag {
  uint16_t tpid = 0x8100;  // 0x8100 (802.1Q) or 0x88a8 (802.1ad)
  uint16_t tci = 0;        // PCP(3) DEI(1) VID(12)
};

// IPv6 extension header to insert before the transport header.
struct Ipv6Extension {
  uint8_t type = 0;         // 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment
  uint8_t length_units = 0; // hdr ext len (8-byte units beyond the first 8); ignored for fragment
  uint16_t frag_offset = 0; // fragment header: offset in 8-byte units
  bool more_fragments = false;
};

// One SACK block: the sequence numbers of its first byte and of the byte after its last.
struct TcpSackBlock {
  uint32_t left = 0;
  uint32_t right = 0;
  bool operator==(const TcpSackBlock&) const = default;
};
inline constexpr uint32_t kMaxTcpSackBlocks = 4;  // what fits in the 40 bytes of TCP options

struct FrameSpec {
  MacAddress src_mac{0x02, 0, 0, 0, 0, 0x01};
  MacAddress dst_mac{0x02, 0, 0, 0, 0, 0x02};
  std::vector<VlanTag> vlans;  // outermost first, at most 2
  bool ipv6 = false;
  IpBytes src_ip{10, 0, 0, 1};  // 10.0.0.1 (literal bytes: no parsing per FrameSpec)
  IpBytes dst_ip{10, 0, 0, 2};  // 10.0.0.2
  L4 l4 = L4::Udp;
  uint16_t sport = 1000;
  uint16_t dport = 2000;
  uint32_t payload_len = 0;  // bytes after the transport header, filled with (i & 0xff)
  uint8_t dscp = 0;          // 6 bits
  uint8_t ecn = 0;           // 2 bits: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE
  uint8_t ttl = 64;          // hop limit for IPv6
  uint16_t ip_id = 0;        // IPv4 identification
  uint32_t flow_label = 0;   // IPv6, 20 bits
  // IPv4 fragmentation fields; a non-first fragment (offset != 0) carries no transport header.
  uint16_t frag_offset = 0;  // 8-byte units
  bool more_fragments = false;
  bool dont_fragment = false;
  std::vector<Ipv6Extension> ipv6_extensions;  // a fragment header with offset != 0 ends the headers
  // TCP
  uint32_t tcp_seq = 1;
  uint32_t tcp_ack = 0;
  uint8_t tcp_flags = 0x10;  // ACK
  uint16_t tcp_window = 65535;
  // SACK option (kind 5) after two NOPs, first block first; none when tcp_sack_count == 0.
  std::array<TcpSackBlock, kMaxTcpSackBlocks> tcp_sack{};
  uint8_t tcp_sack_count = 0;  // at most kMaxTcpSackBlocks
  // ICMP / ICMPv6
  uint8_t icmp_type = 8;     // 8 echo request (128 for ICMPv6)
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 1;
  uint16_t icmp_seq = 1;
  uint8_t raw_proto = 253;   // L4::None: the IP protocol / next header to announce
};

// The frame's length for spec (no checksum work).
uint32_t frame_length(const FrameSpec& spec);
// Writes the frame into out; returns its length, or 0 if out is too small (nothing written).
uint32_t build_frame(const FrameSpec& spec, std::span<uint8_t> out);
std::vector<uint8_t> build_frame(const FrameSpec& spec);
// Builds into a packet's buffer (Packet::assign semantics); false if it does not fit.
bool build_into(Packet& pkt, const FrameSpec& spec);

}  // namespace bpfq::sched
