#include <bpfq/sched/flow_hash.hpp>

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <bpfq/sched/flow_dissector.hpp>
#include <bpfq/sched/packet_builder.hpp>

namespace bpfq::sched {
namespace {

// Reference vectors of the SipHash paper (key 00..0f, messages 00, 01, ... of length n).
TEST(SipHash24, ReferenceVectors) {
  const FlowHashKey key{0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull};
  std::vector<uint8_t> msg;
  EXPECT_EQ(siphash24(msg, key), 0x726FDB47DD0E0E31ull);
  for (uint8_t i = 0; i < 15; ++i) msg.push_back(i);
  EXPECT_EQ(siphash24(msg, key), 0xA129CA6149BE45E5ull);
}

FlowKeys keys_of(const FrameSpec& s) { return dissect(build_frame(s)); }

FrameSpec tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  FrameSpec s;
  s.l4 = L4::Tcp;
  s.src_ip = ipv4_address(src);
  s.dst_ip = ipv4_address(dst);
  s.sport = sport;
  s.dport = dport;
  return s;
}

TEST(FlowHash, StableForTheSameKeysAndPerturbation) {
  const FlowKeys k = keys_of(tcp("10.0.0.1", "10.0.0.2", 1234, 80));
  const FlowHashKey key = FlowHashKey::from_perturbation(0);
  const uint32_t h = flow_hash(k, key);
  EXPECT_EQ(flow_hash(k, key), h);
  EXPECT_EQ(flow_hash(keys_of(tcp("10.0.0.1", "10.0.0.2", 1234, 80)), FlowHashKey::from_perturbation(0)), h);
  // The payload, TTL, DSCP and sequence numbers are not part of the flow.
  FrameSpec other = tcp("10.0.0.1", "10.0.0.2", 1234, 80);
  other.payload_len = 500;
  other.ttl = 3;
  other.dscp = 46;
  other.tcp_seq = 99;
  EXPECT_EQ(flow_hash(keys_of(other), key), h);
  // Pinned: the hash must not change between versions (results and traces depend on it).
  EXPECT_EQ(h, 0x20D23C86u) << std::hex << h;
}

TEST(FlowHash, PerturbationChangesTheHash) {
  const FlowKeys k = keys_of(tcp("10.0.0.1", "10.0.0.2", 1234, 80));
  std::set<uint32_t> seen;
  for (uint64_t p = 0; p < 64; ++p) seen.insert(flow_hash(k, FlowHashKey::from_perturbation(p)));
  EXPECT_EQ(seen.size(), 64u);
  EXPECT_NE(FlowHashKey::from_perturbation(1), FlowHashKey::from_perturbation(2));
}

TEST(FlowHash, DistinctFiveTuplesGetDistinctHashes) {
  const FlowHashKey key = FlowHashKey::from_perturbation(7);
  std::set<uint32_t> seen;
  int n = 0;
  for (uint16_t sport = 1000; sport < 1250; ++sport) {
    seen.insert(flow_hash(keys_of(tcp("10.0.0.1", "10.0.0.2", sport, 80)), key));
    ++n;
  }
  for (int host = 1; host <= 250; ++host) {
    const std::string dst = "10.0.1." + std::to_string(host);
    seen.insert(flow_hash(keys_of(tcp("10.0.0.1", dst.c_str(), 1000, 80)), key));
    ++n;
  }
  // Same addresses and ports, other protocol / family.
  FrameSpec udp = tcp("10.0.0.1", "10.0.0.2", 1000, 80);
  udp.l4 = L4::Udp;
  seen.insert(flow_hash(keys_of(udp), key));
  FrameSpec v6 = udp;
  v6.ipv6 = true;
  v6.src_ip = ipv6_address("::ffff:10.0.0.1");
  v6.dst_ip = ipv6_address("::ffff:10.0.0.2");
  seen.insert(flow_hash(keys_of(v6), key));
  FrameSpec vlan = tcp("10.0.0.1", "10.0.0.2", 1000, 80);
  vlan.vlans = {{0x8100, 5}};
  seen.insert(flow_hash(keys_of(vlan), key));
  EXPECT_EQ(seen.size(), static_cast<size_t>(n + 3));
  EXPECT_EQ(seen.count(0), 0u);
}

TEST(FlowHash, SymmetricLikeLinuxOrDirectional) {
  const FlowHashKey key = FlowHashKey::from_perturbation(3);
  const FlowKeys fwd = keys_of(tcp("10.0.0.9", "10.0.0.2", 5000, 80));
  const FlowKeys rev = keys_of(tcp("10.0.0.2", "10.0.0.9", 80, 5000));
  EXPECT_EQ(flow_hash(fwd, key), flow_hash(rev, key));
  EXPECT_NE(flow_hash(fwd, key, FlowHashDirection::Directional),
            flow_hash(rev, key, FlowHashDirection::Directional));
  // Equal addresses: the ports decide the order.
  const FlowKeys a = keys_of(tcp("10.0.0.1", "10.0.0.1", 7, 9));
  const FlowKeys b = keys_of(tcp("10.0.0.1", "10.0.0.1", 9, 7));
  EXPECT_EQ(flow_hash(a, key), flow_hash(b, key));
  FrameSpec v6f, v6r;
  v6f.ipv6 = v6r.ipv6 = true;
  v6f.src_ip = v6r.dst_ip = ipv6_address("2001:db8::9");
  v6f.dst_ip = v6r.src_ip = ipv6_address("2001:db8::1");
  v6r.sport = v6f.dport;
  v6r.dport = v6f.sport;
  EXPECT_EQ(flow_hash(keys_of(v6f), key), flow_hash(keys_of(v6r), key));
}

TEST(FlowHash, FragmentsOfADatagramHashAlike) {
  const FlowHashKey key = FlowHashKey::from_perturbation(0);
  FrameSpec first = tcp("10.0.0.1", "10.0.0.2", 1234, 80);
  first.more_fragments = true;
  FrameSpec later = first;
  later.more_fragments = false;
  later.frag_offset = 100;
  EXPECT_EQ(flow_hash(keys_of(first), key), flow_hash(keys_of(later), key));
  EXPECT_NE(flow_hash(keys_of(first), key), flow_hash(keys_of(tcp("10.0.0.1", "10.0.0.2", 1234, 80)), key));
}

}  // namespace
}  // namespace bpfq::sched
