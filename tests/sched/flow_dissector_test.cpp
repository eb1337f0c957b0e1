#include <bpfq/sched/flow_dissector.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <bpfq/sched/packet_builder.hpp>

namespace bpfq::sched {
namespace {

FrameSpec tcp4() {
  FrameSpec s;
  s.l4 = L4::Tcp;
  s.src_ip = ipv4_address("192.0.2.1");
  s.dst_ip = ipv4_address("198.51.100.7");
  s.sport = 40000;
  s.dport = 443;
  s.dscp = 46;
  s.ecn = 2;
  s.payload_len = 10;
  return s;
}

FrameSpec udp6() {
  FrameSpec s;
  s.ipv6 = true;
  s.l4 = L4::Udp;
  s.src_ip = ipv6_address("2001:db8::1");
  s.dst_ip = ipv6_address("2001:db8:ffff::2");
  s.sport = 5353;
  s.dport = 53;
  s.flow_label = 0xABCDE;
  s.dscp = 10;
  s.ecn = 1;
  s.payload_len = 20;
  return s;
}

TEST(FlowDissector, Ipv4Tcp) {
  const auto frame = build_frame(tcp4());
  const FlowKeys k = dissect(frame);
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.addr_type, AddrType::Ipv4);
  EXPECT_EQ(k.n_proto, 0x0800);
  EXPECT_EQ(k.ip_proto, 6);
  EXPECT_EQ(k.src, ipv4_address("192.0.2.1"));
  EXPECT_EQ(k.dst, ipv4_address("198.51.100.7"));
  EXPECT_EQ(k.sport, 40000);
  EXPECT_EQ(k.dport, 443);
  EXPECT_TRUE(k.ports_parsed);
  EXPECT_EQ(k.dsfield, 46 << 2 | 2);
  EXPECT_EQ(k.nhoff, 14);
  EXPECT_EQ(k.thoff, 34);
  EXPECT_EQ(k.vlan_count, 0);
  EXPECT_FALSE(k.is_fragment);
}

TEST(FlowDissector, Ipv6Udp) {
  const auto frame = build_frame(udp6());
  const FlowKeys k = dissect(frame);
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.addr_type, AddrType::Ipv6);
  EXPECT_EQ(k.n_proto, 0x86DD);
  EXPECT_EQ(k.ip_proto, 17);
  EXPECT_EQ(k.src, ipv6_address("2001:db8::1"));
  EXPECT_EQ(k.dst, ipv6_address("2001:db8:ffff::2"));
  EXPECT_EQ(k.sport, 5353);
  EXPECT_EQ(k.dport, 53);
  EXPECT_EQ(k.flow_label, 0xABCDEu);
  EXPECT_EQ(k.dsfield, 10 << 2 | 1);
  EXPECT_EQ(k.thoff, 54);
}

TEST(FlowDissector, OneAndTwoVlanTags) {
  FrameSpec s = tcp4();
  s.vlans = {{0x8100, 0x2000 | 100}};  // PCP 1, VID 100
  FlowKeys k = dissect(build_frame(s));
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.vlan_count, 1);
  EXPECT_EQ(k.vlan_id, 100);
  EXPECT_EQ(k.vlan_tpid, 0x8100);
  EXPECT_EQ(k.nhoff, 18);
  EXPECT_EQ(k.dport, 443);

  s = udp6();
  s.vlans = {{0x88A8, 7}, {0x8100, 4095}};
  k = dissect(build_frame(s));
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.vlan_count, 2);
  EXPECT_EQ(k.vlan_tpid, 0x88A8);
  EXPECT_EQ(k.vlan_id, 7);
  EXPECT_EQ(k.cvlan_id, 4095);
  EXPECT_EQ(k.nhoff, 22);
  EXPECT_EQ(k.n_proto, 0x86DD);
  EXPECT_EQ(k.sport, 5353);

  s.vlans = {{0x88A8, 1}, {0x8100, 2}, {0x8100, 3}};  // a third tag is not followed
  k = dissect(build_frame(s));
  EXPECT_EQ(k.status, DissectStatus::NotIp);
  EXPECT_EQ(k.n_proto, 0x8100);
  EXPECT_EQ(k.vlan_count, 2);
}

TEST(FlowDissector, Ipv6ExtensionHeadersAreSkipped) {
  FrameSpec s = udp6();
  s.l4 = L4::Tcp;
  s.ipv6_extensions = {{.type = 0, .length_units = 0}, {.type = 43, .length_units = 2},
                       {.type = 60, .length_units = 1}};
  const FlowKeys k = dissect(build_frame(s));
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.ip_proto, 6);
  EXPECT_EQ(k.thoff, 14 + 40 + 8 + 24 + 16);
  EXPECT_EQ(k.sport, 5353);
  EXPECT_EQ(k.dport, 53);
  EXPECT_FALSE(k.is_fragment);
}

TEST(FlowDissector, Ipv4Fragments) {
  FrameSpec first = tcp4();
  first.more_fragments = true;
  FlowKeys k = dissect(build_frame(first));
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_TRUE(k.is_fragment);
  EXPECT_TRUE(k.first_fragment);
  EXPECT_FALSE(k.ports_parsed);  // skb_get_hash does not read a first fragment's ports
  EXPECT_EQ(k.sport, 0);
  EXPECT_EQ(k.ip_proto, 6);
  k = dissect(build_frame(first), {.parse_first_fragment = true});
  EXPECT_TRUE(k.ports_parsed);
  EXPECT_EQ(k.sport, 40000);
  EXPECT_EQ(k.dport, 443);

  FrameSpec later = tcp4();
  later.frag_offset = 185;  // 1480 bytes in
  later.payload_len = 30;   // raw payload: no TCP header in a later fragment
  k = dissect(build_frame(later), {.parse_first_fragment = true});
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_TRUE(k.is_fragment);
  EXPECT_FALSE(k.first_fragment);
  EXPECT_FALSE(k.ports_parsed);
  EXPECT_EQ(k.sport, 0);
  EXPECT_EQ(k.dport, 0);
  EXPECT_EQ(k.src, ipv4_address("192.0.2.1"));
}

TEST(FlowDissector, Ipv6FragmentHeader) {
  FrameSpec first = udp6();
  first.ipv6_extensions = {{.type = 44, .frag_offset = 0, .more_fragments = true}};
  FlowKeys k = dissect(build_frame(first));
  EXPECT_TRUE(k.is_fragment);
  EXPECT_TRUE(k.first_fragment);
  EXPECT_FALSE(k.ports_parsed);
  EXPECT_EQ(k.ip_proto, 17);
  k = dissect(build_frame(first), {.parse_first_fragment = true});
  EXPECT_TRUE(k.ports_parsed);
  EXPECT_EQ(k.dport, 53);
  EXPECT_EQ(k.thoff, 14 + 40 + 8);

  FrameSpec later = udp6();
  later.ipv6_extensions = {{.type = 0}, {.type = 44, .frag_offset = 100}};
  k = dissect(build_frame(later), {.parse_first_fragment = true});
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_TRUE(k.is_fragment);
  EXPECT_FALSE(k.first_fragment);
  EXPECT_FALSE(k.ports_parsed);
  EXPECT_EQ(k.ip_proto, 17);
}

TEST(FlowDissector, IcmpTypeCodeAndEchoId) {
  FrameSpec s = tcp4();
  s.l4 = L4::Icmp;
  s.icmp_type = 8;
  s.icmp_id = 0x1234;
  FlowKeys k = dissect(build_frame(s));
  EXPECT_EQ(k.status, DissectStatus::Ok);
  EXPECT_EQ(k.ip_proto, 1);
  EXPECT_EQ(k.icmp_type, 8);
  EXPECT_EQ(k.icmp_code, 0);
  EXPECT_EQ(k.icmp_id, 0x1234);
  EXPECT_FALSE(k.ports_parsed);

  s.icmp_type = 3;  // destination unreachable: no id
  s.icmp_code = 4;
  k = dissect(build_frame(s));
  EXPECT_EQ(k.icmp_type, 3);
  EXPECT_EQ(k.icmp_code, 4);
  EXPECT_EQ(k.icmp_id, 0);

  FrameSpec v6 = udp6();
  v6.l4 = L4::Icmp;
  v6.icmp_type = 129;
  v6.icmp_id = 77;
  k = dissect(build_frame(v6));
  EXPECT_EQ(k.ip_proto, 58);
  EXPECT_EQ(k.icmp_type, 129);
  EXPECT_EQ(k.icmp_id, 77);
}

TEST(FlowDissector, NonIpAndMalformed) {
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  FlowKeys k = dissect(arp);
  EXPECT_EQ(k.status, DissectStatus::NotIp);
  EXPECT_EQ(k.n_proto, 0x0806);
  EXPECT_EQ(k.addr_type, AddrType::None);

  auto frame = build_frame(tcp4());
  frame[14] = 0x44;  // IHL 4
  EXPECT_EQ(dissect(frame).status, DissectStatus::Malformed);
  frame[14] = 0x65;  // version 6 in an IPv4 ethertype
  EXPECT_EQ(dissect(frame).status, DissectStatus::Malformed);
  frame[14] = 0x46;  // IHL 6: options make the TCP header start 4 bytes later
  k = dissect(frame);
  EXPECT_EQ(k.thoff, 38);

  auto v6 = build_frame(udp6());
  v6[14] = 0x45;
  EXPECT_EQ(dissect(v6).status, DissectStatus::Malformed);
}

// Every prefix of a frame is dissected without reading past it (each prefix is copied into an
// exactly sized heap buffer so AddressSanitizer sees any overread): Truncated while a needed
// header is cut, then the same keys as the whole frame.
void check_every_truncation(const FrameSpec& spec, size_t needed, const DissectOptions& options = {}) {
  const auto frame = build_frame(spec);
  const FlowKeys full = dissect(frame, options);
  ASSERT_EQ(full.status, DissectStatus::Ok);
  for (size_t len = 0; len <= frame.size(); ++len) {
    std::vector<uint8_t> cut(frame.begin(), frame.begin() + static_cast<long>(len));
    const FlowKeys k = dissect(cut, options);
    if (len < needed) {
      EXPECT_EQ(k.status, DissectStatus::Truncated) << "len " << len;
      EXPECT_FALSE(k.ports_parsed) << "len " << len;
    } else {
      EXPECT_EQ(k.status, DissectStatus::Ok) << "len " << len;
      EXPECT_EQ(k.src, full.src);
      EXPECT_EQ(k.dst, full.dst);
      EXPECT_EQ(k.sport, full.sport);
      EXPECT_EQ(k.dport, full.dport);
      EXPECT_EQ(k.icmp_id, full.icmp_id);
    }
  }
}

TEST(FlowDissector, EveryTruncationLength) {
  check_every_truncation(tcp4(), 14 + 20 + 4);
  check_every_truncation(udp6(), 14 + 40 + 4);
  FrameSpec tagged = tcp4();
  tagged.vlans = {{0x88A8, 1}, {0x8100, 2}};
  check_every_truncation(tagged, 22 + 20 + 4);
  FrameSpec ext = udp6();
  ext.ipv6_extensions = {{.type = 0, .length_units = 1}, {.type = 44}, {.type = 60}};
  check_every_truncation(ext, 14 + 40 + 16 + 8 + 8 + 4, {.parse_first_fragment = true});
  FrameSpec icmp = tcp4();
  icmp.l4 = L4::Icmp;
  check_every_truncation(icmp, 14 + 20 + 8);
  FrameSpec icmp6 = udp6();
  icmp6.l4 = L4::Icmp;
  icmp6.icmp_type = 128;
  check_every_truncation(icmp6, 14 + 40 + 8);
  FrameSpec frag = tcp4();
  frag.frag_offset = 10;
  check_every_truncation(frag, 14 + 20);
}

TEST(FlowDissector, RandomBytesNeverReadOutOfBounds) {
  std::mt19937 rng(12345);
  const auto base4 = build_frame(tcp4());
  FrameSpec ext = udp6();
  ext.ipv6_extensions = {{.type = 0}, {.type = 43, .length_units = 1}};
  const auto base6 = build_frame(ext);
  int ok = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<uint8_t> f = (i & 1) ? base4 : base6;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int j = 0; j < flips; ++j) f[14 + rng() % (f.size() - 14)] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 1));
    const FlowKeys k = dissect(f, {.parse_first_fragment = (i & 2) != 0});
    if (k.status == DissectStatus::Ok) ++ok;
    EXPECT_LE(k.thoff, f.size());
  }
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace bpfq::sched
