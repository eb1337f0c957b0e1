#include <bpfq/sched/packet_builder.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/sched/packet.hpp>

#include "frame_parse.hpp"
#include "internet_checksum.hpp"

namespace bpfq::sched {
namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58;
constexpr uint8_t kNextFragment = 44;
constexpr size_t kTcpHeaderLen = 20, kUdpHeaderLen = 8, kIcmpHeaderLen = 8;
constexpr uint8_t kTcpOptionNop = 1, kTcpOptionSack = 5;

uint8_t l4_proto(const FrameSpec& s) {
  switch (s.l4) {
    case L4::Tcp: return kProtoTcp;
    case L4::Udp: return kProtoUdp;
    case L4::Icmp: return s.ipv6 ? kProtoIcmpv6 : kProtoIcmp;
    case L4::None: return s.raw_proto;
  }
  return s.raw_proto;
}

// A non-first fragment carries payload only.
bool has_transport_header(const FrameSpec& s) {
  if (!s.ipv6) return s.frag_offset == 0;
  for (const auto& e : s.ipv6_extensions)
    if (e.type == kNextFragment && e.frag_offset != 0) return false;
  return true;
}

// NOP, NOP, kind 5, length, then 8 bytes a block: a multiple of 4, as the data offset needs.
size_t tcp_options_len(const FrameSpec& s) {
  uint32_t blocks = std::min<uint32_t>(s.tcp_sack_count, kMaxTcpSackBlocks);
  return blocks == 0 ? 0 : 4 + 8 * size_t{blocks};
}

size_t transport_header_len(const FrameSpec& s) {
  if (!has_transport_header(s)) return 0;
  switch (s.l4) {
    case L4::Tcp: return kTcpHeaderLen + tcp_options_len(s);
    case L4::Udp: return kUdpHeaderLen;
    case L4::Icmp: return kIcmpHeaderLen;
    case L4::None: return 0;
  }
  return 0;
}

size_t extension_len(const Ipv6Extension& e) {
  return e.type == kNextFragment ? 8 : (size_t{e.length_units} + 1) * 8;
}

size_t ip_header_len(const FrameSpec& s) {
  if (!s.ipv6) return 20;
  size_t n = 40;
  for (const auto& e : s.ipv6_extensions) n += extension_len(e);
  return n;
}

IpBytes parse_address(std::string_view text, int family) {
  IpBytes out{};
  const std::string s(text);
  if (inet_pton(family, s.c_str(), out.data()) != 1)
    throw Error("'" + s + "' is not an " + (family == AF_INET ? "IPv4" : "IPv6") + " address",
                "packet builder", family == AF_INET ? "write it as 10.0.0.1" : "write it as 2001:db8::1");
  return out;
}

}  // namespace

IpBytes ipv4_address(std::string_view text) { return parse_address(text, AF_INET); }
IpBytes ipv6_address(std::string_view text) { return parse_address(text, AF_INET6); }

uint32_t frame_length(const FrameSpec& s) {
  return static_cast<uint32_t>(kEthHeaderLen + 4 * s.vlans.size() + ip_header_len(s) +
                               transport_header_len(s) + s.payload_len);
}

// Payload byte i is i mod 256: the pattern, and the checksum sums of its prefixes, computed once
// (the simulator builds every TCP segment, and filling and summing 1448 bytes one at a time was a
// third of a whole run).
struct PayloadPattern {
  // 16 periods: a full-size segment's payload is one memcpy (256-byte copies, six a segment, cost
  // as much again in start-up as in bytes: a quarter of a simulated run).
  std::array<uint8_t, 4096> bytes{};
  std::array<uint64_t, 257> prefix_sum{};  // checksum_add of the first k bytes
  PayloadPattern() {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
    for (size_t k = 0; k < prefix_sum.size(); ++k) prefix_sum[k] = checksum_add(0, bytes.data(), k);
  }
  void fill(uint8_t* p, size_t n) const {
    for (size_t off = 0; off < n; off += bytes.size()) std::memcpy(p + off, bytes.data(), std::min(bytes.size(), n - off));
  }
  // checksum_add of n payload bytes starting on a 16-bit word boundary: whole 256-byte periods are
  // 128 whole words each, so the periods' sums add up.
  uint64_t sum(size_t n) const { return n / 256 * prefix_sum[256] + prefix_sum[n % 256]; }
};
const PayloadPattern& payload_pattern() {
  static const PayloadPattern pattern;
  return pattern;
}

uint32_t build_frame(const FrameSpec& s, std::span<uint8_t> out) {
  const uint32_t total = frame_length(s);
  if (total > out.size()) return 0;
  uint8_t* f = out.data();
  std::memset(f, 0, total - s.payload_len);  // the headers; the payload is written whole below

  // Ethernet and VLAN tags.
  std::memcpy(f, s.dst_mac.data(), 6);
  std::memcpy(f + 6, s.src_mac.data(), 6);
  size_t off = 12;
  for (const auto& tag : s.vlans) {
    store_be16(f + off, tag.tpid);
    store_be16(f + off + 2, tag.tci);
    off += 4;
  }
  store_be16(f + off, s.ipv6 ? kEthPIpv6 : kEthPIp);
  off += 2;

  const size_t ip_off = off;
  const size_t l4_len = transport_header_len(s) + s.payload_len;
  const size_t l4_off = ip_off + ip_header_len(s);
  const uint8_t proto = l4_proto(s);
  const uint8_t tos = static_cast<uint8_t>((s.dscp & 0x3F) << 2 | (s.ecn & 3));
  const size_t alen = s.ipv6 ? 16 : 4;

  if (!s.ipv6) {
    uint8_t* ip = f + ip_off;
    ip[0] = 0x45;
    ip[1] = tos;
    store_be16(ip + 2, static_cast<uint16_t>(20 + l4_len));
    store_be16(ip + 4, s.ip_id);
    store_be16(ip + 6, static_cast<uint16_t>((s.dont_fragment ? 0x4000 : 0) |
                                             (s.more_fragments ? 0x2000 : 0) | (s.frag_offset & 0x1FFF)));
    ip[8] = s.ttl;
    ip[9] = proto;
    std::memcpy(ip + 12, s.src_ip.data(), 4);
    std::memcpy(ip + 16, s.dst_ip.data(), 4);
    store_be16(ip + 10, checksum_finish(checksum_add(0, ip, 20)));
  } else {
    uint8_t* ip = f + ip_off;
    store_be32(ip, 6u << 28 | uint32_t{tos} << 20 | (s.flow_label & 0xFFFFF));
    store_be16(ip + 4, static_cast<uint16_t>(ip_header_len(s) - 40 + l4_len));
    ip[7] = s.ttl;
    std::memcpy(ip + 8, s.src_ip.data(), 16);
    std::memcpy(ip + 24, s.dst_ip.data(), 16);
    uint8_t* next_field = ip + 6;
    size_t eoff = ip_off + 40;
    for (const auto& e : s.ipv6_extensions) {
      *next_field = e.type;
      uint8_t* h = f + eoff;
      if (e.type == kNextFragment) {
        store_be16(h + 2, static_cast<uint16_t>(e.frag_offset << 3 | (e.more_fragments ? 1 : 0)));
        store_be32(h + 4, s.ip_id);
      } else {
        h[1] = e.length_units;  // the options area stays zero: Pad1 options
      }
      next_field = h;
      eoff += extension_len(e);
    }
    *next_field = proto;
  }

  uint8_t* l4 = f + l4_off;
  const size_t hdr = transport_header_len(s);
  payload_pattern().fill(l4 + hdr, s.payload_len);
  if (hdr == 0) return total;  // raw payload, or a non-first fragment

  // Transport header; its checksum covers the bytes present (for a first fragment that is not
  // the whole datagram, which real stacks would checksum; no reader here cares).
  size_t csum_field = 0;
  switch (s.l4) {
    case L4::Tcp:
      store_be16(l4, s.sport);
      store_be16(l4 + 2, s.dport);
      store_be32(l4 + 4, s.tcp_seq);
      store_be32(l4 + 8, s.tcp_ack);
      l4[12] = static_cast<uint8_t>(hdr / 4 << 4);
      l4[13] = s.tcp_flags;
      store_be16(l4 + 14, s.tcp_window);
      if (size_t options = tcp_options_len(s); options != 0) {
        uint8_t* o = l4 + kTcpHeaderLen;
        o[0] = kTcpOptionNop;
        o[1] = kTcpOptionNop;
        o[2] = kTcpOptionSack;
        o[3] = static_cast<uint8_t>(options - 2);
        for (size_t i = 0; i < (options - 4) / 8; ++i) {
          store_be32(o + 4 + 8 * i, s.tcp_sack[i].left);
          store_be32(o + 8 + 8 * i, s.tcp_sack[i].right);
        }
      }
      csum_field = 16;
      break;
    case L4::Udp:
      store_be16(l4, s.sport);
      store_be16(l4 + 2, s.dport);
      store_be16(l4 + 4, static_cast<uint16_t>(l4_len));
      csum_field = 6;
      break;
    case L4::Icmp:
      l4[0] = s.icmp_type;
      l4[1] = s.icmp_code;
      store_be16(l4 + 4, s.icmp_id);
      store_be16(l4 + 6, s.icmp_seq);
      csum_field = 2;
      break;
    case L4::None:
      return total;
  }
  uint64_t sum = 0;
  if (s.ipv6 || s.l4 != L4::Icmp) {  // ICMPv4 has no pseudo-header
    sum = checksum_add(sum, s.src_ip.data(), alen);
    sum = checksum_add(sum, s.dst_ip.data(), alen);
    sum += proto;
    sum += s.ipv6 ? (l4_len >> 16) + (l4_len & 0xFFFF) : l4_len;
  }
  static_assert(kTcpHeaderLen % 2 == 0);  // every transport header is whole 16-bit words
  sum = checksum_add(sum, l4, hdr) + payload_pattern().sum(s.payload_len);
  uint16_t csum = checksum_finish(sum);
  if (csum == 0 && s.l4 == L4::Udp) csum = 0xFFFF;  // 0 means "no checksum" in UDP
  store_be16(l4 + csum_field, csum);
  return total;
}

std::vector<uint8_t> build_frame(const FrameSpec& spec) {
  std::vector<uint8_t> out(frame_length(spec));
  build_frame(spec, out);
  return out;
}

bool build_into(Packet& pkt, const FrameSpec& spec) {
  // 0: it does not fit (a frame is never empty). The bytes are in place: assign() without a copy.
  const uint32_t len = build_frame(spec, {pkt.data(), pkt.max_len()});
  return len != 0 && pkt.frame_written(len);
}

}  // namespace bpfq::sched
