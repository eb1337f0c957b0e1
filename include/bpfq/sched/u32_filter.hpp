#pragma once
// A u32-style filter from tc's selector syntax, matched on the parsed headers (flow dissector)
// instead of raw offsets:
//
//   U32Filter::parse({"match", "ip", "dport", "22", "0xffff", "classid", "1:10"})
//
// Matches (all ANDed; `flowid` is a synonym of `classid`, which is required):
//   ip  src|dst A.B.C.D[/LEN]          ip6 src|dst ADDR[/LEN]
//   ip  sport|dport VALUE MASK          ip6 sport|dport VALUE MASK    (16 bits)
//   ip  protocol VALUE MASK             ip6 protocol VALUE MASK       (8 bits; IPv6: after
//                                                                      extension headers)
//   ip  tos|dsfield VALUE MASK          ip6 priority|tclass VALUE MASK (8 bits, DSCP<<2|ECN)
//   mark VALUE MASK                     (skb->mark & MASK == VALUE; any protocol; at most once)
// An `ip` match only matches IPv4 packets and an `ip6` match only IPv6 ones, as a filter added
// with `protocol ip` / `protocol ipv6` does. Ports match TCP, UDP, SCTP and UDP-Lite only
// (0 for anything else, and for non-first fragments, as u32 reading a missing header would not).
// `match mark` is Linux's TCA_U32_MARK: it is ANDed with the other matches and alone matches
// packets of any protocol; tc refuses a VALUE with bits outside MASK, and so does parse().
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/sched/filter.hpp>

namespace bpfq::sched {

class U32Filter final : public Filter {
 public:
  enum class Field : uint8_t { Src, Dst, Sport, Dport, Protocol, Dsfield };

  struct Match {
    bool ipv6 = false;
    Field field = Field::Src;
    std::array<uint8_t, 16> addr{};  // Src/Dst: network order, already masked
    uint8_t prefix_len = 0;          // Src/Dst
    uint32_t value = 0;              // other fields: already masked
    uint32_t mask = 0;
  };

  struct MarkMatch {
    uint32_t value = 0;  // within mask
    uint32_t mask = 0;
  };

  // Throws bpfq::Error naming the offending token and what was expected there.
  static std::unique_ptr<U32Filter> parse(const std::vector<std::string>& tokens);
  U32Filter(std::vector<Match> matches, uint32_t classid, std::optional<MarkMatch> mark = std::nullopt);

  int classify(Packet& pkt, uint32_t& classid) override;
  std::string_view kind() const override { return "u32"; }

  const std::vector<Match>& matches() const { return matches_; }
  const std::optional<MarkMatch>& mark() const { return mark_; }
  uint32_t classid() const { return classid_; }

 private:
  std::vector<Match> matches_;
  uint32_t classid_;
  std::optional<MarkMatch> mark_;
};

}  // namespace bpfq::sched
