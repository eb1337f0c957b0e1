#include <bpfq/sched/ecn.hpp>

#include <bpfq/sched/packet.hpp>

#include "frame_parse.hpp"
#include "internet_checksum.hpp"

namespace bpfq::sched {
namespace {

constexpr uint8_t kEcnCe = 3;

// Offset of a complete IPv4 (version 4) or IPv6 (version 6) fixed header, and its version.
struct IpHeader {
  int version = 0;
  size_t offset = 0;
};

IpHeader find_ip_header(std::span<const uint8_t> frame) {
  const L2Header l2 = parse_l2(frame);
  if (l2.truncated) return {};
  const size_t off = l2.network_offset;
  const size_t room = frame.size() - off;
  if (l2.ethertype == kEthPIp && room >= 20 && (frame[off] >> 4) == 4) return {4, off};
  if (l2.ethertype == kEthPIpv6 && room >= 40 && (frame[off] >> 4) == 6) return {6, off};
  return {};
}

}  // namespace

int ecn_codepoint(std::span<const uint8_t> frame) {
  const IpHeader ip = find_ip_header(frame);
  if (ip.version == 4) return frame[ip.offset + 1] & 3;
  if (ip.version == 6) return (frame[ip.offset + 1] >> 4) & 3;
  return -1;
}

bool ecn_set_ce(std::span<uint8_t> frame) {
  const IpHeader ip = find_ip_header(frame);
  if (ip.version == 0) return false;
  uint8_t* h = frame.data() + ip.offset;
  if (ip.version == 4) {
    const uint8_t ecn = h[1] & 3;
    if (ecn == 0) return false;  // Not-ECT
    if (ecn == kEcnCe) return true;
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m the 16-bit word holding the TOS byte.
    const uint16_t old_word = load_be16(h);
    h[1] |= kEcnCe;
    const uint16_t new_word = load_be16(h);
    const uint64_t sum = uint64_t{static_cast<uint16_t>(~load_be16(h + 10))} +
                         static_cast<uint16_t>(~old_word) + new_word;
    store_be16(h + 10, checksum_finish(sum));
    return true;
  }
  const uint8_t ecn = (h[1] >> 4) & 3;
  if (ecn == 0) return false;
  h[1] |= kEcnCe << 4;
  return true;
}

bool ecn_set_ce(Packet& pkt) { return ecn_set_ce(pkt.bytes()); }

}  // namespace bpfq::sched
