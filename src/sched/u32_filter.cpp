#include <bpfq/sched/u32_filter.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include <bpfq/sched/flow_dissector.hpp>

#include "filter_words.hpp"

namespace bpfq::sched {

namespace {

using detail::quoted;

constexpr const char* kWhere = "u32 filter";

[[noreturn]] void bad(const std::string& what, const std::string& hint) { throw Error(what, kWhere, hint); }

// A number tc accepts: decimal, 0x hex or 0 octal, no larger than max.
uint32_t number(const std::string& token, uint32_t max, const char* what) {
  const auto v = detail::parse_number(token, max);
  if (!v)
    bad("bad " + std::string(what) + " " + quoted(token),
        "expected a number from 0 to " + std::to_string(max) + " (decimal or 0x hex)");
  return *v;
}

// "10.0.0.0/8" or "2001:db8::/32": the address masked to its prefix.
void prefix(const std::string& token, bool ipv6, U32Filter::Match& m) {
  const size_t slash = token.find('/');
  const std::string addr = token.substr(0, slash);
  const unsigned bits = ipv6 ? 128 : 32;
  m.prefix_len = static_cast<uint8_t>(bits);
  if (slash != std::string::npos) m.prefix_len = static_cast<uint8_t>(number(token.substr(slash + 1), bits, "prefix length"));
  if (inet_pton(ipv6 ? AF_INET6 : AF_INET, addr.c_str(), m.addr.data()) != 1)
    bad("bad address " + quoted(token),
        ipv6 ? "expected an IPv6 address with an optional /LEN, e.g. 2001:db8::/32"
             : "expected an IPv4 address with an optional /LEN, e.g. 10.0.0.0/8");
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned keep = m.prefix_len > i * 8 ? std::min(8u, m.prefix_len - i * 8) : 0;
    m.addr[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
}

bool prefix_matches(const std::array<uint8_t, 16>& addr, const U32Filter::Match& m) {
  for (unsigned i = 0; i * 8 < m.prefix_len; ++i) {
    const unsigned keep = std::min(8u, m.prefix_len - i * 8);
    if ((addr[i] & static_cast<uint8_t>(0xff00 >> keep)) != m.addr[i]) return false;
  }
  return true;
}

bool has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 136; }

}  // namespace

std::unique_ptr<U32Filter> U32Filter::parse(const std::vector<std::string>& tokens) {
  std::vector<Match> matches;
  std::optional<MarkMatch> mark;
  std::optional<uint32_t> classid;
  detail::FilterWords words(tokens, kWhere);
  while (!words.done()) {
    const std::string& word = words.word();
    if (word == "classid" || word == "flowid") {
      classid = words.class_id(word);
      continue;
    }
    if (word != "match") bad("unexpected " + quoted(word), "expected `match`, `classid` or `flowid`");
    const std::string& family = words.next("`ip`, `ip6` or `mark`");
    if (family == "mark") {
      if (mark) bad("a second `match mark`", "u32 takes one mark match; combine them into one VALUE MASK");
      const std::string& value = words.next("a value");
      const uint32_t v = number(value, 0xFFFFFFFFu, "value for mark");
      const uint32_t m = number(words.next("a mask"), 0xFFFFFFFFu, "mask for mark");
      if ((v & m) != v)
        bad("bad value for mark " + quoted(value) + ": bits outside the mask", "no packet could match it; widen the mask or drop those bits");
      mark = MarkMatch{v, m};
      continue;
    }
    if (family != "ip" && family != "ip6") bad("unsupported selector " + quoted(family) + " after `match`", "expected `ip`, `ip6` or `mark`");
    Match m;
    m.ipv6 = family == "ip6";
    const std::string& field = words.next("a field");
    uint32_t max = 0;
    if (field == "src" || field == "dst") {
      m.field = field == "src" ? Field::Src : Field::Dst;
      prefix(words.next("an address"), m.ipv6, m);
      matches.push_back(m);
      continue;
    }
    if (field == "sport" || field == "dport") {
      m.field = field == "sport" ? Field::Sport : Field::Dport;
      max = 0xffff;
    } else if (field == "protocol") {
      m.field = Field::Protocol;
      max = 0xff;
    } else if ((!m.ipv6 && (field == "tos" || field == "dsfield")) || (m.ipv6 && (field == "priority" || field == "tclass"))) {
      m.field = Field::Dsfield;
      max = 0xff;
    } else {
      bad("unknown field " + quoted(field) + " after " + quoted(family),
          m.ipv6 ? "expected src, dst, sport, dport, protocol, priority or tclass"
                 : "expected src, dst, sport, dport, protocol, tos or dsfield");
    }
    m.value = number(words.next("a value"), max, ("value for " + field).c_str());
    m.mask = number(words.next("a mask"), max, ("mask for " + field).c_str());
    m.value &= m.mask;
    matches.push_back(m);
  }
  if (matches.empty() && !mark) bad("no match", "expected at least one `match ip|ip6 FIELD ...` or `match mark VALUE MASK`");
  if (!classid) bad("no class id", "add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10");
  return std::make_unique<U32Filter>(std::move(matches), *classid, mark);
}

U32Filter::U32Filter(std::vector<Match> matches, uint32_t classid, std::optional<MarkMatch> mark)
    : matches_(std::move(matches)), classid_(classid), mark_(mark) {}

int U32Filter::classify(Packet& pkt, uint32_t& classid) {
  if (mark_ && (pkt.skb.mark & mark_->mask) != mark_->value) return kTcActUnspec;
  if (matches_.empty()) {  // only a mark: no need to parse the headers
    classid = classid_;
    return kTcActOk;
  }
  DissectOptions opts;
  opts.parse_first_fragment = true;
  const FlowKeys k = dissect(pkt.bytes(), opts);
  for (const Match& m : matches_) {
    const AddrType want = m.ipv6 ? AddrType::Ipv6 : AddrType::Ipv4;
    if (k.addr_type != want) return kTcActUnspec;
    uint32_t v = 0;
    switch (m.field) {
      case Field::Src:
        if (!prefix_matches(k.src, m)) return kTcActUnspec;
        continue;
      case Field::Dst:
        if (!prefix_matches(k.dst, m)) return kTcActUnspec;
        continue;
      case Field::Sport:
        v = k.ports_parsed && has_ports(k.ip_proto) ? k.sport : 0;
        break;
      case Field::Dport:
        v = k.ports_parsed && has_ports(k.ip_proto) ? k.dport : 0;
        break;
      case Field::Protocol:
        v = k.ip_proto;
        break;
      case Field::Dsfield:
        v = k.dsfield;
        break;
    }
    if ((v & m.mask) != m.value) return kTcActUnspec;
  }
  classid = classid_;
  return kTcActOk;
}

}  // namespace bpfq::sched
