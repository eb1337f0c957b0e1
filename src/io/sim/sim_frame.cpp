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

sched::FrameSpec frame_spec(uint32_t flow, bool forward, sched::L4 l4) {
  sched::FrameSpec spec;
  spec.l4 = l4;
  sched::IpBytes sender = ipv4_bytes(kSenderBase + flow);
  sched::IpBytes receiver = ipv4_bytes(kReceiverAddress);
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

FrameInfo read_frame(std::span<const uint8_t> frame) {
  FrameInfo info;
  if (frame.size() < kEthernetHeader + 20 || load_be16(&frame[12]) != 0x0800) return info;
  const uint8_t* ip = frame.data() + kEthernetHeader;
  uint32_t ihl = (ip[0] & 0x0f) * 4u;
  uint32_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || kEthernetHeader + total > frame.size()) return info;
  uint32_t src = load_be32(ip + 12), dst = load_be32(ip + 16);
  if (dst == kReceiverAddress && src - kSenderBase < kMaxFlows) {
    info.forward = true;
    info.flow = src - kSenderBase;
  } else if (src == kReceiverAddress && dst - kSenderBase < kMaxFlows) {
    info.forward = false;
    info.flow = dst - kSenderBase;
  } else {
    return info;
  }
  info.proto = ip[9];
  info.ecn = ip[1] & 3;
  const uint8_t* l4 = ip + ihl;
  uint32_t l4_len = total - ihl;
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
