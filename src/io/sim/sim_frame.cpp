#include "sim_frame.hpp"

#include <algorithm>

#include <bpfq/sched/byte_order.hpp>

namespace bpfq::io::sim {

using sched::load_be16;
using sched::load_be32;

namespace {

// The SACK blocks among the TCP options; a malformed option list ends the reading there.
void read_sack_option(const uint8_t* options, uint32_t len, FrameInfo& info) {
  constexpr uint8_t kEnd = 0, kNop = 1, kSack = 5;
  uint32_t i = 0;
  while (i < len && options[i] != kEnd) {
    if (options[i] == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= len) return;
    uint32_t option_len = options[i + 1];
    if (option_len < 2 || i + option_len > len) return;
    if (options[i] == kSack && (option_len - 2) % 8 == 0) {
      uint32_t blocks = std::min<uint32_t>((option_len - 2) / 8, sched::kMaxTcpSackBlocks);
      for (uint32_t b = 0; b < blocks; ++b)
        info.sack[b] = {load_be32(options + i + 2 + 8 * b), load_be32(options + i + 6 + 8 * b)};
      info.sack_count = static_cast<uint8_t>(blocks);
    }
    i += option_len;
  }
}

}  // namespace

sched::IpBytes ipv4_bytes(uint32_t address) {
  sched::IpBytes ip{};
  sched::store_be32(ip.data(), address);
  return ip;
}

sched::IpBytes ipv6_sender(uint32_t flow) {
  sched::IpBytes ip = kSenderPrefix6;
  sched::store_be32(ip.data() + 12, flow);
  return ip;
}

sched::FrameSpec frame_spec(uint32_t flow, bool forward, sched::L4 l4, bool ipv6) {
  sched::FrameSpec spec;
  spec.l4 = l4;
  spec.ipv6 = ipv6;
  sched::IpBytes sender = ipv6 ? ipv6_sender(flow) : ipv4_bytes(kSenderBase + flow);
  sched::IpBytes receiver = ipv6 ? kReceiverAddress6 : ipv4_bytes(kReceiverAddress);
  // A port per flow too, so that port-based classifiers and hashes see distinct 5-tuples.
  uint16_t sender_port = static_cast<uint16_t>(10000 + flow % 50000);
  uint16_t receiver_port = l4 == sched::L4::Tcp ? 5201 : 5202;
  spec.src_ip = forward ? sender : receiver;
  spec.dst_ip = forward ? receiver : sender;
  spec.sport = forward ? sender_port : receiver_port;
  spec.dport = forward ? receiver_port : sender_port;
  spec.src_mac = forward ? sched::MacAddress{0x02, 0, 0, 0, 0, 0x01} : sched::MacAddress{0x02, 0, 0, 0, 0, 0x02};
  spec.dst_mac = forward ? sched::MacAddress{0x02, 0, 0, 0, 0, 0x02} : sched::MacAddress{0x02, 0, 0, 0, 0, 0x01};
  spec.icmp_id = static_cast<uint16_t>(flow);
  spec.ip_id = 0;
  return spec;
}

namespace {

// The flow a sender address names, or false if it is not one of the senders.
bool ipv6_flow(const uint8_t* address, uint32_t& flow) {
  if (!std::equal(address, address + 12, kSenderPrefix6.begin())) return false;
  flow = load_be32(address + 12);
  return flow < kMaxFlows;
}

// Fills in the addresses' flow and direction and finds the transport header; false if the frame
// is not one of the simulator's.
bool read_ip(std::span<const uint8_t> frame, FrameInfo& info, const uint8_t*& l4, uint32_t& l4_len) {
  if (frame.size() < kEthernetHeader + kIpv4Header) return false;
  const uint16_t ethertype = load_be16(&frame[12]);
  const uint8_t* ip = frame.data() + kEthernetHeader;
  if (ethertype == 0x0800) {
    uint32_t ihl = (ip[0] & 0x0f) * 4u;
    uint32_t total = load_be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || kEthernetHeader + total > frame.size()) return false;
    uint32_t src = load_be32(ip + 12), dst = load_be32(ip + 16);
    if (dst == kReceiverAddress && src - kSenderBase < kMaxFlows) {
      info.forward = true;
      info.flow = src - kSenderBase;
    } else if (src == kReceiverAddress && dst - kSenderBase < kMaxFlows) {
      info.forward = false;
      info.flow = dst - kSenderBase;
    } else {
      return false;
    }
    info.proto = ip[9];
    info.ecn = ip[1] & 3;
    l4 = ip + ihl;
    l4_len = total - ihl;
    return true;
  }
  if (ethertype == 0x86dd) {
    if (frame.size() < kEthernetHeader + kIpv6Header || (ip[0] >> 4) != 6) return false;
    uint32_t payload = load_be16(ip + 4);
    if (kEthernetHeader + kIpv6Header + payload > frame.size()) return false;
    const uint8_t* src = ip + 8;
    const uint8_t* dst = ip + 24;
    const auto is_receiver = [](const uint8_t* a) { return std::equal(a, a + 16, kReceiverAddress6.begin()); };
    if (is_receiver(dst) && ipv6_flow(src, info.flow)) {
      info.forward = true;
    } else if (is_receiver(src) && ipv6_flow(dst, info.flow)) {
      info.forward = false;
    } else {
      return false;
    }
    info.ipv6 = true;
    info.proto = ip[6];
    info.ecn = (ip[1] >> 4) & 3;  // traffic class = low nibble of byte 0, high nibble of byte 1
    l4 = ip + kIpv6Header;
    l4_len = payload;
    return true;
  }
  return false;
}

}  // namespace

FrameInfo read_frame(std::span<const uint8_t> frame) {
  FrameInfo info;
  const uint8_t* l4 = nullptr;
  uint32_t l4_len = 0;
  if (!read_ip(frame, info, l4, l4_len)) return FrameInfo{};
  switch (info.proto) {
    case kIpProtoTcp: {
      if (l4_len < 20) return info;
      uint32_t doff = (l4[12] >> 4) * 4u;
      if (doff < 20 || doff > l4_len) return info;
      info.seq = load_be32(l4 + 4);
      info.ack = load_be32(l4 + 8);
      info.flags = l4[13];
      read_sack_option(l4 + 20, doff - 20, info);
      info.payload_len = l4_len - doff;
      break;
    }
    case kIpProtoUdp:
      if (l4_len < 8) return info;
      info.payload_len = l4_len - 8;
      break;
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      if (l4_len < 8) return info;
      info.icmp_type = l4[0];
      info.icmp_seq = load_be16(l4 + 6);
      info.payload_len = l4_len - 8;
      break;
    default:
      return info;
  }
  info.valid = true;
  return info;
}

}  // namespace bpfq::io::sim
