#include <bpfq/sched/packet_builder.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "../../src/sched/internet_checksum.hpp"
#include "sched_test_util.hpp"
#include "support/error_of.hpp"

namespace bpfq::sched {
namespace {

using test::ones_complement_sum;

uint16_t be16(const std::vector<uint8_t>& f, size_t off) { return static_cast<uint16_t>(f[off] << 8 | f[off + 1]); }
std::vector<uint8_t> slice(const std::vector<uint8_t>& f, size_t off, size_t n) {
  return {f.begin() + static_cast<long>(off), f.begin() + static_cast<long>(off + n)};
}

// The transport checksum verified from scratch: pseudo-header bytes + segment sum to 0xffff.
void expect_transport_checksum_ok(const std::vector<uint8_t>& f, size_t ip_off, size_t l4_off, bool v6,
                                  uint8_t proto) {
  const size_t seg_len = f.size() - l4_off;
  std::vector<uint8_t> buf;
  if (v6) {
    auto src = slice(f, ip_off + 8, 16), dst = slice(f, ip_off + 24, 16);
    buf.insert(buf.end(), src.begin(), src.end());
    buf.insert(buf.end(), dst.begin(), dst.end());
    buf.insert(buf.end(), {0, 0, static_cast<uint8_t>(seg_len >> 8), static_cast<uint8_t>(seg_len), 0, 0, 0, proto});
  } else {
    auto src = slice(f, ip_off + 12, 4), dst = slice(f, ip_off + 16, 4);
    buf.insert(buf.end(), src.begin(), src.end());
    buf.insert(buf.end(), dst.begin(), dst.end());
    buf.insert(buf.end(), {0, proto, static_cast<uint8_t>(seg_len >> 8), static_cast<uint8_t>(seg_len)});
  }
  auto seg = slice(f, l4_off, seg_len);
  buf.insert(buf.end(), seg.begin(), seg.end());
  EXPECT_EQ(ones_complement_sum(buf), 0xFFFF);
}

// checksum_add (native words, folded) finishes to what RFC 1071's big-endian 16-bit word sum
// gives, for every length from 0 to 70, every start alignment and running sum, on random bytes,
// all zeros and all ones.
TEST(InternetChecksum, MatchesTheWordByWordSum) {
  uint64_t rng = 99;
  std::vector<uint8_t> random(80);
  for (uint8_t& b : random) b = static_cast<uint8_t>((rng = rng * 6364136223846793005ull + 1) >> 56);
  for (const std::vector<uint8_t>& bytes : {random, std::vector<uint8_t>(80, 0), std::vector<uint8_t>(80, 0xff)})
    for (size_t start = 0; start < 4; ++start)
      for (size_t n = 0; n <= 70; ++n)
        for (uint64_t before : {uint64_t{0}, uint64_t{0x1234}, uint64_t{0xffff}, uint64_t{0x3fffe}}) {
          uint64_t words = before;
          for (size_t i = 0; i < n; i += 2)
            words += uint32_t{bytes[start + i]} << 8 | (i + 1 < n ? bytes[start + i + 1] : 0);
          EXPECT_EQ(checksum_finish(checksum_add(before, bytes.data() + start, n)), checksum_finish(words))
              << "start " << start << ", " << n << " bytes, sum before " << before;
        }
}

TEST(PacketBuilder, KnownIpv4HeaderChecksum) {
  // The textbook header 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
  FrameSpec s;
  s.src_ip = ipv4_address("192.168.0.1");
  s.dst_ip = ipv4_address("192.168.0.199");
  s.l4 = L4::Udp;
  s.payload_len = 0x73 - 20 - 8;
  s.dont_fragment = true;
  s.ip_id = 0;
  s.ttl = 64;
  const auto f = build_frame(s);
  const std::vector<uint8_t> expected = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                         0xB8, 0x61, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7};
  EXPECT_EQ(slice(f, 14, 20), expected);
}

TEST(PacketBuilder, Ipv4TcpLengthsAndChecksums) {
  FrameSpec s;
  s.l4 = L4::Tcp;
  s.src_ip = ipv4_address("10.1.2.3");
  s.dst_ip = ipv4_address("172.16.99.200");
  s.sport = 33333;
  s.dport = 8080;
  s.payload_len = 1001;  // odd: exercises the padding of the last byte
  s.dscp = 46;
  s.ecn = 2;
  s.tcp_seq = 0xDEADBEEF;
  s.tcp_flags = 0x18;
  const auto f = build_frame(s);
  ASSERT_EQ(f.size(), 14u + 20 + 20 + 1001);
  EXPECT_EQ(frame_length(s), f.size());
  EXPECT_EQ(be16(f, 12), 0x0800);
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(f[15], 46 << 2 | 2);
  EXPECT_EQ(be16(f, 16), 20 + 20 + 1001);
  EXPECT_EQ(f[23], 6);
  EXPECT_EQ(ones_complement_sum(slice(f, 14, 20)), 0xFFFF);
  EXPECT_EQ(be16(f, 34), 33333);
  EXPECT_EQ(be16(f, 36), 8080);
  EXPECT_EQ(f[46], 0x50);  // data offset 5
  EXPECT_EQ(f[47], 0x18);
  EXPECT_EQ(f[54], 0);  // payload pattern
  EXPECT_EQ(f[54 + 300], 300 & 0xFF);
  expect_transport_checksum_ok(f, 14, 34, false, 6);
}

// The payload (byte i is i mod 256) and the transport checksum for every payload length up to
// past several 256-byte periods, odd and even, over TCP (with and without SACK blocks), UDP and
// ICMP, IPv4 and IPv6.
TEST(PacketBuilder, EveryPayloadLengthHasItsPatternAndAValidChecksum) {
  for (uint32_t len = 0; len <= 1100; ++len) {
    for (const L4 l4 : {L4::Tcp, L4::Udp, L4::Icmp}) {
      for (const bool v6 : {false, true}) {
        FrameSpec s;
        s.l4 = l4;
        s.ipv6 = v6;
        if (v6) {
          s.src_ip = ipv6_address("2001:db8::1");
          s.dst_ip = ipv6_address("2001:db8::2");
        }
        s.payload_len = len;
        s.tcp_sack_count = len % 3 == 0 && l4 == L4::Tcp ? 2 : 0;
        s.tcp_sack[0] = {1000, 2000};
        s.tcp_sack[1] = {3000, 4000};
        const auto f = build_frame(s);
        const size_t l4_off = v6 ? 54 : 34;
        const size_t hdr = f.size() - l4_off - len;
        for (uint32_t i = 0; i < len; ++i)
          if (f[l4_off + hdr + i] != static_cast<uint8_t>(i)) FAIL() << "payload byte " << i << " of " << len;
        const uint8_t proto = l4 == L4::Tcp ? 6 : l4 == L4::Udp ? 17 : v6 ? 58 : 1;
        if (l4 == L4::Icmp && !v6) {
          EXPECT_EQ(ones_complement_sum(slice(f, l4_off, f.size() - l4_off)), 0xFFFF) << "ICMP, payload " << len;
        } else {
          SCOPED_TRACE("payload " + std::to_string(len));
          expect_transport_checksum_ok(f, 14, l4_off, v6, proto);
        }
      }
    }
  }
}

TEST(PacketBuilder, TcpSackOptionBytesAreExact) {
  FrameSpec s;
  s.l4 = L4::Tcp;
  s.payload_len = 0;
  s.tcp_ack = 0x01020304;
  s.tcp_sack[0] = {0x11223344, 0x11224000};
  s.tcp_sack[1] = {0xAABBCCDD, 0xAABBD000};
  s.tcp_sack[2] = {0xFFFFFF00, 0x00000100};  // a block across the wrap of the sequence space
  s.tcp_sack_count = 3;
  const auto f = build_frame(s);
  ASSERT_EQ(f.size(), 14u + 20 + 20 + 28);
  EXPECT_EQ(frame_length(s), f.size());
  EXPECT_EQ(be16(f, 16), 20 + 20 + 28);  // IPv4 total length
  EXPECT_EQ(f[46], 12 << 4);             // data offset: 48 bytes of TCP header
  const std::vector<uint8_t> options = {1,    1,    5,    26,                      // NOP NOP SACK len
                                        0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x40, 0x00,  //
                                        0xAA, 0xBB, 0xCC, 0xDD, 0xAA, 0xBB, 0xD0, 0x00,  //
                                        0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00};
  EXPECT_EQ(slice(f, 54, 28), options);
  EXPECT_EQ(ones_complement_sum(slice(f, 14, 20)), 0xFFFF);
  expect_transport_checksum_ok(f, 14, 34, false, 6);

  // One block with a payload after it; the payload follows the options.
  s.tcp_sack_count = 1;
  s.payload_len = 5;
  const auto g = build_frame(s);
  ASSERT_EQ(g.size(), 14u + 20 + 20 + 12 + 5);
  EXPECT_EQ(g[46], 8 << 4);
  EXPECT_EQ(slice(g, 54, 4), (std::vector<uint8_t>{1, 1, 5, 10}));
  EXPECT_EQ(slice(g, 66, 5), (std::vector<uint8_t>{0, 1, 2, 3, 4}));
  expect_transport_checksum_ok(g, 14, 34, false, 6);

  // Four blocks fill 36 of the 40 option bytes; IPv6 too.
  s.tcp_sack[3] = {7, 9};
  s.tcp_sack_count = 4;
  s.payload_len = 0;
  s.ipv6 = true;
  s.src_ip = ipv6_address("2001:db8::1");
  s.dst_ip = ipv6_address("2001:db8::2");
  const auto h = build_frame(s);
  ASSERT_EQ(h.size(), 14u + 40 + 20 + 36);
  EXPECT_EQ(h[54 + 12], 14 << 4);
  EXPECT_EQ(slice(h, 74, 4), (std::vector<uint8_t>{1, 1, 5, 34}));
  EXPECT_EQ(slice(h, 102, 8), (std::vector<uint8_t>{0, 0, 0, 7, 0, 0, 0, 9}));
  expect_transport_checksum_ok(h, 14, 54, true, 6);
}

TEST(PacketBuilder, Ipv4UdpAndIcmp) {
  FrameSpec s;
  s.payload_len = 17;
  auto f = build_frame(s);
  EXPECT_EQ(f.size(), 14u + 20 + 8 + 17);
  EXPECT_EQ(be16(f, 38), 8 + 17);  // UDP length
  EXPECT_NE(be16(f, 40), 0);       // checksum present
  expect_transport_checksum_ok(f, 14, 34, false, 17);

  s.l4 = L4::Icmp;
  s.icmp_type = 8;
  s.icmp_id = 0x4242;
  s.icmp_seq = 9;
  f = build_frame(s);
  EXPECT_EQ(f[23], 1);
  EXPECT_EQ(f[34], 8);
  EXPECT_EQ(be16(f, 38), 0x4242);
  EXPECT_EQ(be16(f, 40), 9);
  EXPECT_EQ(ones_complement_sum(slice(f, 34, f.size() - 34)), 0xFFFF);  // no pseudo-header
}

TEST(PacketBuilder, Ipv6WithVlanAndExtensionHeaders) {
  FrameSpec s;
  s.ipv6 = true;
  s.vlans = {{0x8100, 0xA00A}};
  s.src_ip = ipv6_address("fe80::1");
  s.dst_ip = ipv6_address("ff02::fb");
  s.flow_label = 0x12345;
  s.dscp = 0x2E;
  s.ecn = 1;
  s.ttl = 255;
  s.l4 = L4::Tcp;
  s.payload_len = 50;
  s.ipv6_extensions = {{.type = 0, .length_units = 0}, {.type = 60, .length_units = 1}};
  const auto f = build_frame(s);
  ASSERT_EQ(f.size(), 18u + 40 + 8 + 16 + 20 + 50);
  EXPECT_EQ(be16(f, 12), 0x8100);
  EXPECT_EQ(be16(f, 14), 0xA00A);
  EXPECT_EQ(be16(f, 16), 0x86DD);
  const size_t ip = 18;
  const uint32_t word0 = uint32_t{be16(f, ip)} << 16 | be16(f, ip + 2);
  EXPECT_EQ(word0 >> 28, 6u);
  EXPECT_EQ((word0 >> 20) & 0xFF, uint32_t{0x2E << 2 | 1});
  EXPECT_EQ(word0 & 0xFFFFF, 0x12345u);
  EXPECT_EQ(be16(f, ip + 4), 8 + 16 + 20 + 50);  // payload length counts extension headers
  EXPECT_EQ(f[ip + 6], 0);                        // next: hop-by-hop
  EXPECT_EQ(f[ip + 7], 255);
  EXPECT_EQ(f[ip + 40], 60);  // hop-by-hop -> destination options
  EXPECT_EQ(f[ip + 48], 6);   // destination options -> TCP
  EXPECT_EQ(f[ip + 49], 1);
  expect_transport_checksum_ok(f, ip, ip + 64, true, 6);
}

TEST(PacketBuilder, Ipv6UdpAndIcmpv6Checksums) {
  FrameSpec s;
  s.ipv6 = true;
  s.src_ip = ipv6_address("2001:db8::a");
  s.dst_ip = ipv6_address("2001:db8::b");
  s.payload_len = 33;
  auto f = build_frame(s);
  expect_transport_checksum_ok(f, 14, 54, true, 17);
  s.l4 = L4::Icmp;
  s.icmp_type = 128;
  f = build_frame(s);
  EXPECT_EQ(f[20], 58);
  EXPECT_EQ(f[54], 128);
  expect_transport_checksum_ok(f, 14, 54, true, 58);  // ICMPv6 has one
}

TEST(PacketBuilder, FragmentsAndRawPayload) {
  FrameSpec s;
  s.l4 = L4::Tcp;
  s.frag_offset = 3;
  s.more_fragments = true;
  s.payload_len = 24;
  auto f = build_frame(s);
  EXPECT_EQ(f.size(), 14u + 20 + 24);  // no TCP header in a later fragment
  EXPECT_EQ(be16(f, 20), 0x2000 | 3);
  EXPECT_EQ(ones_complement_sum(slice(f, 14, 20)), 0xFFFF);

  s = {};
  s.l4 = L4::None;
  s.raw_proto = 47;
  s.payload_len = 4;
  f = build_frame(s);
  EXPECT_EQ(f.size(), 14u + 20 + 4);
  EXPECT_EQ(f[23], 47);
}

TEST(PacketBuilder, SmallOutputAndBadAddresses) {
  FrameSpec s;
  std::vector<uint8_t> small(frame_length(s) - 1, 0xEE);
  EXPECT_EQ(build_frame(s, small), 0u);
  EXPECT_EQ(small[0], 0xEE);  // untouched
  EXPECT_EQ(bpfq::test::error_of([] { ipv4_address("10.0.0.300"); }).reason(), "'10.0.0.300' is not an IPv4 address");
  EXPECT_THROW(ipv6_address("2001:db8:::1"), Error);
}

TEST(PacketBuilder, BuildsIntoAPacket) {
  PacketPool pool({.packets = 1, .data_room = 128, .headroom = 0});
  Packet* p = pool.alloc();
  FrameSpec s;
  s.payload_len = 40;
  ASSERT_TRUE(build_into(*p, s));
  EXPECT_EQ(p->len(), 14u + 20 + 8 + 40);
  EXPECT_EQ(std::vector<uint8_t>(p->bytes().begin(), p->bytes().end()), build_frame(s));
  s.payload_len = 100;  // 142 > 128
  EXPECT_FALSE(build_into(*p, s));
  EXPECT_EQ(p->len(), 14u + 20 + 8 + 40);
  PacketPool::release(p);
}

}  // namespace
}  // namespace bpfq::sched
