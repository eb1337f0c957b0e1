#include <bpfq/sched/ecn.hpp>

#include <gtest/gtest.h>

#include <vector>

#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "sched_test_util.hpp"

namespace bpfq::sched {
namespace {

using test::ones_complement_sum;

std::vector<uint8_t> ipv4_header(const std::vector<uint8_t>& f, size_t off = 14) {
  return {f.begin() + static_cast<long>(off), f.begin() + static_cast<long>(off + 20)};
}

TEST(Ecn, Ipv4EctBecomesCeWithAValidChecksum) {
  for (uint8_t ecn : {1, 2}) {
    FrameSpec s;
    s.ecn = ecn;
    s.dscp = 10;
    auto f = build_frame(s);
    EXPECT_EQ(ecn_codepoint(f), ecn);
    EXPECT_TRUE(ecn_set_ce(f));
    EXPECT_EQ(ecn_codepoint(f), 3);
    EXPECT_EQ(f[15], 10 << 2 | 3);
    EXPECT_EQ(ones_complement_sum(ipv4_header(f)), 0xFFFF);
    FrameSpec ce = s;
    ce.ecn = 3;
    EXPECT_EQ(f, build_frame(ce));  // byte for byte what a CE-built frame looks like
  }
}

TEST(Ecn, IncrementalChecksumIsRightForEveryTosAndId) {
  // Sweep the header words around the TOS byte and the IP id, which move the checksum through
  // its edge values (0x0000 / 0xffff).
  for (int dscp = 0; dscp < 64; ++dscp) {
    for (uint32_t id = 0; id < 65536; id += 97) {
      FrameSpec s;
      s.dscp = static_cast<uint8_t>(dscp);
      s.ecn = 2;
      s.ip_id = static_cast<uint16_t>(id);
      auto f = build_frame(s);
      ASSERT_TRUE(ecn_set_ce(f));
      FrameSpec ce = s;
      ce.ecn = 3;
      const auto want = build_frame(ce);
      ASSERT_EQ(ones_complement_sum(ipv4_header(f)), 0xFFFF) << dscp << " " << id;
      ASSERT_EQ(f[24] << 8 | f[25], want[24] << 8 | want[25]) << dscp << " " << id;
    }
  }
}

TEST(Ecn, NotEctIsLeftAloneAndCeStaysCe) {
  FrameSpec s;
  s.ecn = 0;
  auto f = build_frame(s);
  const auto before = f;
  EXPECT_FALSE(ecn_set_ce(f));
  EXPECT_EQ(f, before);
  s.ecn = 3;
  f = build_frame(s);
  const auto ce = f;
  EXPECT_TRUE(ecn_set_ce(f));  // INET_ECN_set_ce reports an already marked packet as marked
  EXPECT_EQ(f, ce);
}

TEST(Ecn, Ipv6TrafficClass) {
  FrameSpec s;
  s.ipv6 = true;
  s.src_ip = ipv6_address("2001:db8::1");
  s.dst_ip = ipv6_address("2001:db8::2");
  s.dscp = 46;
  s.ecn = 1;
  s.flow_label = 0xFFFFF;
  auto f = build_frame(s);
  EXPECT_TRUE(ecn_set_ce(f));
  FrameSpec ce = s;
  ce.ecn = 3;
  EXPECT_EQ(f, build_frame(ce));  // flow label and DSCP untouched
  s.ecn = 0;
  f = build_frame(s);
  EXPECT_FALSE(ecn_set_ce(f));
  EXPECT_EQ(f, build_frame(s));
}

TEST(Ecn, BehindVlanTagsAndInPackets) {
  FrameSpec s;
  s.vlans = {{0x88A8, 1}, {0x8100, 2}};
  s.ecn = 2;
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  ASSERT_TRUE(build_into(*p, s));
  EXPECT_TRUE(ecn_set_ce(*p));
  EXPECT_EQ(ecn_codepoint(p->bytes()), 3);
  std::vector<uint8_t> f(p->bytes().begin(), p->bytes().end());
  EXPECT_EQ(ones_complement_sum(ipv4_header(f, 22)), 0xFFFF);
  PacketPool::release(p);
}

TEST(Ecn, NonIpAndTruncatedFramesAreNotMarked) {
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_FALSE(ecn_set_ce(arp));
  EXPECT_EQ(ecn_codepoint(arp), -1);
  FrameSpec s;
  s.ecn = 2;
  const auto full = build_frame(s);
  for (size_t len = 0; len < 34; ++len) {  // the IPv4 header ends at 34
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
    EXPECT_FALSE(ecn_set_ce(cut)) << len;
    EXPECT_EQ(ecn_codepoint(cut), -1);
  }
  std::vector<uint8_t> cut(full.begin(), full.begin() + 34);
  EXPECT_TRUE(ecn_set_ce(cut));
}

}  // namespace
}  // namespace bpfq::sched
