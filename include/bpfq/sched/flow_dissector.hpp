#pragma once
// The flow dissector: Ethernet (up to two 802.1Q/802.1ad tags), IPv4, IPv6 (hop-by-hop,
// routing, destination-options and fragment headers), TCP/UDP/UDP-Lite/SCTP/DCCP ports and
// ICMP/ICMPv6 type/code/id, as Linux's flow keys. Reads only inside the frame, whatever its
// length or contents; a cut header yields Truncated with the keys found before it.
#include <array>
#include <cstdint>
#include <span>

namespace bpfq::sched {

enum class DissectStatus : uint8_t {
  Ok,         // parsed as far as the keys go (a fragment or an unknown L4 protocol stops early)
  NotIp,      // no IPv4/IPv6 header after Ethernet and VLAN tags (n_proto says what it is)
  Truncated,  // the frame ends inside a header the keys need
  Malformed,  // a header contradicts itself (IPv4 IHL < 5, wrong IP version, ...)
};

enum class AddrType : uint8_t { None, Ipv4, Ipv6 };

struct FlowKeys {
  DissectStatus status = DissectStatus::Truncated;
  AddrType addr_type = AddrType::None;
  uint8_t ip_proto = 0;     // IPPROTO_* of the transport header (after IPv6 extension headers)
  uint8_t vlan_count = 0;   // VLAN tags in the frame (0..2)
  uint16_t n_proto = 0;     // ethertype of the network header, host order (0x0800, 0x86dd, ...)
  uint16_t vlan_id = 0;     // outer tag's VID (12 bits)
  uint16_t vlan_tpid = 0;   // outer tag's TPID (0x8100, 0x88a8)
  uint16_t cvlan_id = 0;    // inner tag's VID
  // Addresses in network byte order; IPv4 uses bytes 0..3, the rest stay zero.
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint16_t sport = 0;       // host order; 0 unless the protocol has ports and they were parsed
  uint16_t dport = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;     // echo request/reply only, host order
  uint8_t dsfield = 0;      // IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN)
  uint32_t flow_label = 0;  // IPv6, 20 bits
  bool is_fragment = false;
  bool first_fragment = false;
  bool ports_parsed = false;  // sport/dport come from the transport header
  uint16_t nhoff = 0;       // offset of the network header in the frame
  uint16_t thoff = 0;       // offset of the transport header (0 if not reached)
};

struct DissectOptions {
  // Linux's FLOW_DISSECTOR_F_PARSE_1ST_FRAG: read the ports of a first fragment. skb_get_hash
  // does not, so every fragment of a datagram hashes alike; the default follows it.
  bool parse_first_fragment = false;
};

FlowKeys dissect(std::span<const uint8_t> frame, const DissectOptions& options = {});

}  // namespace bpfq::sched
