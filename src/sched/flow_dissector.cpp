#include <bpfq/sched/flow_dissector.hpp>

#include <algorithm>

#include "frame_parse.hpp"

namespace bpfq::sched {
namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoDccp = 33,
                  kProtoIcmpv6 = 58, kProtoSctp = 132, kProtoUdpLite = 136;
constexpr uint8_t kNextHopByHop = 0, kNextRouting = 43, kNextFragment = 44, kNextDestOpts = 60;

class Dissector {
 public:
  Dissector(std::span<const uint8_t> frame, const DissectOptions& options)
      : frame_(frame), options_(options) {}

  FlowKeys run() {
    const L2Header l2 = parse_l2(frame_);
    for (int i = 0; i < l2.vlan_count; ++i) {
      if (i == 0) {
        keys_.vlan_tpid = l2.tpid[0];
        keys_.vlan_id = l2.tci[0] & 0x0FFF;
      } else {
        keys_.cvlan_id = l2.tci[1] & 0x0FFF;
      }
    }
    keys_.vlan_count = l2.vlan_count;
    if (l2.truncated) return finish(DissectStatus::Truncated);
    keys_.n_proto = l2.ethertype;
    keys_.nhoff = static_cast<uint16_t>(l2.network_offset);
    if (l2.ethertype == kEthPIp) return ipv4(l2.network_offset);
    if (l2.ethertype == kEthPIpv6) return ipv6(l2.network_offset);
    return finish(DissectStatus::NotIp);
  }

 private:
  bool has(size_t off, size_t n) const { return off <= frame_.size() && n <= frame_.size() - off; }
  const uint8_t* at(size_t off) const { return frame_.data() + off; }
  FlowKeys finish(DissectStatus status) {
    keys_.status = status;
    return keys_;
  }

  FlowKeys ipv4(size_t off) {
    if (!has(off, 20)) return finish(DissectStatus::Truncated);
    const uint8_t* ip = at(off);
    if ((ip[0] >> 4) != 4) return finish(DissectStatus::Malformed);
    const size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    if (ihl < 20) return finish(DissectStatus::Malformed);
    if (!has(off, ihl)) return finish(DissectStatus::Truncated);
    keys_.addr_type = AddrType::Ipv4;
    keys_.dsfield = ip[1];
    keys_.ip_proto = ip[9];
    std::copy_n(ip + 12, 4, keys_.src.begin());
    std::copy_n(ip + 16, 4, keys_.dst.begin());
    const uint16_t frag = load_be16(ip + 6);
    if (frag & 0x3FFF) {  // MF or an offset
      keys_.is_fragment = true;
      if (frag & 0x1FFF) return finish(DissectStatus::Ok);  // no transport header here
      keys_.first_fragment = true;
      if (!options_.parse_first_fragment) return finish(DissectStatus::Ok);
    }
    return transport(off + ihl);
  }

  FlowKeys ipv6(size_t off) {
    if (!has(off, 40)) return finish(DissectStatus::Truncated);
    const uint8_t* ip = at(off);
    if ((ip[0] >> 4) != 6) return finish(DissectStatus::Malformed);
    keys_.addr_type = AddrType::Ipv6;
    keys_.dsfield = static_cast<uint8_t>((ip[0] & 0x0F) << 4 | ip[1] >> 4);
    keys_.flow_label = uint32_t{ip[1] & 0x0Fu} << 16 | uint32_t{ip[2]} << 8 | ip[3];
    std::copy_n(ip + 8, 16, keys_.src.begin());
    std::copy_n(ip + 24, 16, keys_.dst.begin());
    uint8_t next = ip[6];
    off += 40;
    // Each extension header advances at least 8 bytes, so the frame length bounds the loop.
    for (;;) {
      keys_.ip_proto = next;
      if (next == kNextHopByHop || next == kNextRouting || next == kNextDestOpts) {
        if (!has(off, 2)) return finish(DissectStatus::Truncated);
        const size_t len = (size_t{at(off)[1]} + 1) * 8;
        if (!has(off, len)) return finish(DissectStatus::Truncated);
        next = at(off)[0];
        off += len;
      } else if (next == kNextFragment) {
        if (!has(off, 8)) return finish(DissectStatus::Truncated);
        const uint8_t* fh = at(off);
        keys_.is_fragment = true;
        keys_.ip_proto = fh[0];
        if (load_be16(fh + 2) & 0xFFF8) return finish(DissectStatus::Ok);  // not the first
        keys_.first_fragment = true;
        if (!options_.parse_first_fragment) return finish(DissectStatus::Ok);
        next = fh[0];
        off += 8;
      } else {
        break;
      }
    }
    return transport(off);
  }

  FlowKeys transport(size_t off) {
    const uint8_t proto = keys_.ip_proto;
    switch (proto) {
      case kProtoTcp:
      case kProtoUdp:
      case kProtoUdpLite:
      case kProtoSctp:
      case kProtoDccp:
        keys_.thoff = static_cast<uint16_t>(off);
        if (!has(off, 4)) return finish(DissectStatus::Truncated);
        keys_.sport = load_be16(at(off));
        keys_.dport = load_be16(at(off + 2));
        keys_.ports_parsed = true;
        return finish(DissectStatus::Ok);
      case kProtoIcmp:
      case kProtoIcmpv6: {
        keys_.thoff = static_cast<uint16_t>(off);
        if (!has(off, 2)) return finish(DissectStatus::Truncated);
        const uint8_t type = at(off)[0];
        keys_.icmp_type = type;
        keys_.icmp_code = at(off)[1];
        const bool has_id = proto == kProtoIcmp
                                ? (type == 0 || type == 8 || type == 13 || type == 14)
                                : (type == 128 || type == 129);
        if (has_id) {
          if (!has(off, 8)) return finish(DissectStatus::Truncated);
          keys_.icmp_id = load_be16(at(off + 4));
        }
        return finish(DissectStatus::Ok);
      }
      default:
        keys_.thoff = static_cast<uint16_t>(off);
        return finish(DissectStatus::Ok);
    }
  }

  std::span<const uint8_t> frame_;
  DissectOptions options_;
  FlowKeys keys_;
};

}  // namespace

FlowKeys dissect(std::span<const uint8_t> frame, const DissectOptions& options) {
  return Dissector(frame, options).run();
}

}  // namespace bpfq::sched
