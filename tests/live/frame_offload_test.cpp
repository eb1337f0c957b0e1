// Frames with virtio_net_hdr offload state into packets and back: a GSO bundle counts the bytes
// its segments put on the wire, a VLAN tag the kernel stripped is put back (and the checksum
// start moves with it), inconsistent offload state is refused.
#include <gtest/gtest.h>

#include <vector>

#include <bpfq/io/live/port.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "frame_offload.hpp"

namespace bpfq::io::live {
namespace {

// An Ethernet + IPv4 + TCP frame (TCP header of 32 bytes: data offset 8) with payload bytes.
std::vector<uint8_t> tcp_frame(uint32_t payload) {
  std::vector<uint8_t> f(14 + 20 + 32 + payload, 0);
  f[12] = 0x08;                  // IPv4
  f[14] = 0x45;                  // version 4, IHL 5
  f[14 + 9] = 6;                 // TCP
  f[14 + 20 + 12] = 8 << 4;      // data offset: 8 words
  return f;
}

class FrameOffload : public ::testing::Test {
 protected:
  sched::PacketPool pool{sched::PacketPoolConfig{4, kMaxFrameBytes}};
  sched::Packet* pkt = pool.alloc();
  void TearDown() override { sched::PacketPool::release(pkt); }
};

TEST_F(FrameOffload, PlainFrameIsCountedByItsLength) {
  const std::vector<uint8_t> f = tcp_frame(100);
  ASSERT_TRUE(fill_packet(*pkt, f, VnetHeader{}, std::nullopt));
  EXPECT_EQ(pkt->len(), f.size());
  EXPECT_EQ(pkt->qdisc_len(), f.size());
  EXPECT_EQ(pkt->ethertype(), 0x0800);
  EXPECT_EQ(pkt->skb.gso_segs, 0u);
}

TEST_F(FrameOffload, GsoBundleCountsEverySegmentsHeaders) {
  const std::vector<uint8_t> f = tcp_frame(10 * 1448 + 100);  // 10 full segments and a short one
  VnetHeader v{};
  v.flags = kVnetNeedsCsum;
  v.gso_type = kGsoTcpV4;
  v.gso_size = 1448;
  v.hdr_len = 1000;  // only a hint in Linux: the TCP header decides
  v.csum_start = 34;
  v.csum_offset = 16;
  ASSERT_TRUE(fill_packet(*pkt, f, v, std::nullopt));
  EXPECT_EQ(pkt->skb.gso_segs, 11u);
  EXPECT_EQ(pkt->skb.gso_size, 1448u);
  EXPECT_EQ(pkt->offload.hdr_len, 66u);
  EXPECT_EQ(pkt->qdisc_len(), f.size() + 10 * 66u);  // 11 frames of 66 header bytes each
  const VnetHeader back = vnet_header(*pkt);
  EXPECT_EQ(back.gso_type, kGsoTcpV4);
  EXPECT_EQ(back.gso_size, 1448u);
  EXPECT_EQ(back.csum_start, 34u);
  EXPECT_EQ(back.csum_offset, 16u);
  EXPECT_EQ(back.hdr_len, 66u);
}

TEST_F(FrameOffload, StrippedVlanTagIsPutBack) {
  const std::vector<uint8_t> f = tcp_frame(10);
  VnetHeader v{};
  v.flags = kVnetNeedsCsum;
  v.csum_start = 34;
  v.csum_offset = 16;
  ASSERT_TRUE(fill_packet(*pkt, f, v, std::pair<uint16_t, uint16_t>{0x8100, 0x2005}));
  ASSERT_EQ(pkt->len(), f.size() + 4);
  const uint8_t* d = pkt->data();
  EXPECT_EQ(d[12], 0x81);
  EXPECT_EQ(d[13], 0x00);
  EXPECT_EQ(d[14], 0x20);
  EXPECT_EQ(d[15], 0x05);
  EXPECT_EQ(d[16], 0x08);  // the original ethertype follows the tag
  EXPECT_EQ(pkt->ethertype(), 0x8100);
  EXPECT_EQ(pkt->offload.csum_start, 38u);  // the checksum moved with the headers
}

TEST_F(FrameOffload, InconsistentOffloadIsRefused) {
  const std::vector<uint8_t> f = tcp_frame(10);
  VnetHeader csum_outside{};
  csum_outside.flags = kVnetNeedsCsum;
  csum_outside.csum_start = static_cast<uint16_t>(f.size());
  csum_outside.csum_offset = 16;
  EXPECT_FALSE(fill_packet(*pkt, f, csum_outside, std::nullopt));
  VnetHeader no_size{};
  no_size.gso_type = kGsoTcpV4;
  no_size.csum_start = 34;
  EXPECT_FALSE(fill_packet(*pkt, f, no_size, std::nullopt));
  EXPECT_FALSE(fill_packet(*pkt, std::vector<uint8_t>(kMaxFrameBytes + 1), VnetHeader{}, std::nullopt));
  EXPECT_FALSE(fill_packet(*pkt, std::vector<uint8_t>(6), VnetHeader{}, std::nullopt));
}

// ---- cutting GSO bundles into wire frames ----

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }

// RFC 1071: the Internet checksum of a run of bytes after a starting sum.
uint16_t internet_checksum(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += be16(p + i);
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// What the kernel does with a CHECKSUM_PARTIAL frame on the way out: sum from csum_start to the
// end (the field holds the pseudo header's part) and store the complement at csum_offset.
std::vector<uint8_t> finish_checksum(const sched::Packet& seg) {
  std::vector<uint8_t> f(seg.data(), seg.data() + seg.len());
  const uint32_t at = seg.offload.csum_start + seg.offload.csum_offset;
  const uint16_t c = internet_checksum(f.data() + seg.offload.csum_start, f.size() - seg.offload.csum_start);
  f[at] = static_cast<uint8_t>(c >> 8);
  f[at + 1] = static_cast<uint8_t>(c);
  return f;
}

// A bundle of Ethernet + IP (v4 or v6) + TCP (20-byte header, with options when tcp_options) or
// UDP, with a recognisable payload (byte i is i % 251), the offload state Linux gives it.
struct Bundle {
  std::vector<uint8_t> frame;
  VnetHeader vnet{};
};
Bundle make_bundle(bool v6, bool udp, uint32_t payload, uint16_t gso_size, uint8_t tcp_flags = 0x18) {
  const uint32_t l3 = 14, ip = v6 ? 40 : 20, l4 = l3 + ip, l4_hdr = udp ? 8 : 32;
  Bundle b;
  std::vector<uint8_t>& f = b.frame;
  f.assign(l4 + l4_hdr + payload, 0);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  if (v6) {
    f[l3] = 0x60;
    f[l3 + 6] = udp ? 17 : 6;
    f[l3 + 7] = 64;
    for (int i = 0; i < 16; ++i) f[l3 + 8 + i] = static_cast<uint8_t>(0x20 + i), f[l3 + 24 + i] = static_cast<uint8_t>(0x40 + i);
  } else {
    f[l3] = 0x45;
    f[l3 + 4] = 0x12, f[l3 + 5] = 0x34;  // id 0x1234
    f[l3 + 8] = 64;
    f[l3 + 9] = udp ? 17 : 6;
    const uint8_t addrs[8] = {10, 77, 0, 1, 10, 77, 0, 2};
    std::copy(addrs, addrs + 8, f.begin() + l3 + 12);
  }
  f[l4] = 0x9c, f[l4 + 1] = 0x40, f[l4 + 2] = 0x14, f[l4 + 3] = 0x51;  // ports
  if (!udp) {
    f[l4 + 4] = 0xff, f[l4 + 5] = 0xff, f[l4 + 6] = 0xf0, f[l4 + 7] = 0x00;  // seq wraps inside the bundle
    f[l4 + 12] = 8 << 4;
    f[l4 + 13] = tcp_flags;
    f[l4 + 20] = 1, f[l4 + 21] = 1, f[l4 + 22] = 8, f[l4 + 23] = 10;  // NOP NOP timestamp
  }
  for (uint32_t i = 0; i < payload; ++i) f[l4 + l4_hdr + i] = static_cast<uint8_t>(i % 251);
  b.vnet.flags = kVnetNeedsCsum;
  b.vnet.gso_type = udp ? kGsoUdpL4 : (v6 ? kGsoTcpV6 : kGsoTcpV4);
  b.vnet.gso_size = gso_size;
  b.vnet.csum_start = static_cast<uint16_t>(l4);
  b.vnet.csum_offset = udp ? 6 : 16;
  return b;
}

struct Cut {
  std::optional<Segmented> result;
  std::vector<sched::Packet*> segs;
};

class GsoCut : public ::testing::Test {
 protected:
  sched::PacketPool pool{sched::PacketPoolConfig{64, kMaxFrameBytes}};
  sched::Packet* bundle = pool.alloc();
  Cut cut;
  Cut& cut_bundle(const Bundle& b) {
    bundle->created_ns = 777;
    EXPECT_TRUE(fill_packet(*bundle, b.frame, b.vnet, std::nullopt));
    cut.result = segment_gso(*bundle, pool, [&](sched::Packet* p) { cut.segs.push_back(p); });
    return cut;
  }
  void TearDown() override {
    for (sched::Packet* p : cut.segs) sched::PacketPool::release(p);
    sched::PacketPool::release(bundle);
  }
};

// Every segment is a frame that a receiver's stack accepts: the right lengths, a valid IPv4
// header checksum, consecutive ids and sequence numbers, the payload in order, and (once the
// kernel finishes the partial checksum) a valid TCP checksum over the pseudo header.
TEST_F(GsoCut, TcpOverIpv4BundleBecomesValidWireFrames) {
  const Bundle b = make_bundle(false, false, 4 * 1448 + 500, 1448);
  const Cut& c = cut_bundle(b);
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->segments, 5u);
  EXPECT_EQ(c.result->no_buffer, 0u);
  ASSERT_EQ(c.segs.size(), 5u);
  uint32_t payload_at = 0, wire = 0;
  for (size_t i = 0; i < c.segs.size(); ++i) {
    const sched::Packet& s = *c.segs[i];
    const uint32_t chunk = i < 4 ? 1448 : 500;
    ASSERT_EQ(s.len(), 14 + 20 + 32 + chunk);
    wire += s.len();
    EXPECT_EQ(s.qdisc_len(), s.len());
    EXPECT_EQ(s.skb.gso_segs, 0u);
    EXPECT_EQ(s.offload.gso_type, kGsoNone);
    EXPECT_EQ(s.offload.flags, kVnetNeedsCsum);
    EXPECT_EQ(s.created_ns, 777u);
    const std::vector<uint8_t> f = finish_checksum(s);
    const uint8_t* ip = f.data() + 14;
    EXPECT_EQ(be16(ip + 2), 20 + 32 + chunk) << "IPv4 total length";
    EXPECT_EQ(be16(ip + 4), 0x1234 + i) << "IPv4 id";
    EXPECT_EQ(internet_checksum(ip, 20), 0) << "IPv4 header checksum";
    const uint8_t* tcp = ip + 20;
    EXPECT_EQ(be32(tcp + 4), 0xfffff000u + static_cast<uint32_t>(i) * 1448) << "sequence number";
    EXPECT_EQ(tcp[13], i == 4 ? 0x18 : 0x10) << "PSH only on the last segment";
    EXPECT_EQ(tcp[20], 1) << "options are repeated";
    // Pseudo header (addresses, protocol, TCP length), then header and payload: sums to zero.
    const uint64_t pseudo = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + 6 + 32 + chunk;
    EXPECT_EQ(internet_checksum(tcp, 32 + chunk, pseudo), 0) << "TCP checksum of segment " << i;
    for (uint32_t k = 0; k < chunk; ++k) ASSERT_EQ(tcp[32 + k], (payload_at + k) % 251) << "payload byte " << k;
    payload_at += chunk;
  }
  EXPECT_EQ(wire, bundle->qdisc_len()) << "the segments put on the wire what the bundle was counted as";
}

TEST_F(GsoCut, FinAndCwrGoWhereTcpWantsThem) {
  const Bundle b = make_bundle(false, false, 3 * 1000, 1000, 0x80 | 0x10 | 0x08 | 0x01);  // CWR ACK PSH FIN
  const Cut& c = cut_bundle(b);
  ASSERT_EQ(c.segs.size(), 3u);
  EXPECT_EQ(c.segs[0]->data()[34 + 13], 0x90) << "CWR ACK on the first";
  EXPECT_EQ(c.segs[1]->data()[34 + 13], 0x10) << "ACK alone in the middle";
  EXPECT_EQ(c.segs[2]->data()[34 + 13], 0x19) << "ACK PSH FIN on the last";
}

TEST_F(GsoCut, TcpOverIpv6AndUdpBundlesAreCut) {
  {
    const Bundle b = make_bundle(true, false, 2 * 1428 + 1, 1428);
    const Cut& c = cut_bundle(b);
    ASSERT_EQ(c.segs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      const std::vector<uint8_t> f = finish_checksum(*c.segs[i]);
      const uint8_t* ip = f.data() + 14;
      const uint32_t l4_len = 32 + (i < 2 ? 1428 : 1);
      EXPECT_EQ(be16(ip + 4), l4_len) << "IPv6 payload length";
      uint64_t pseudo = 6 + l4_len;
      for (int k = 0; k < 32; k += 2) pseudo += be16(ip + 8 + k);
      EXPECT_EQ(internet_checksum(ip + 40, l4_len, pseudo), 0) << "TCP checksum of segment " << i;
    }
    for (sched::Packet* p : cut.segs) sched::PacketPool::release(p);
    cut.segs.clear();
  }
  const Bundle b = make_bundle(false, true, 3 * 1200, 1200);
  const Cut& c = cut_bundle(b);
  ASSERT_EQ(c.segs.size(), 3u);
  for (sched::Packet* seg : c.segs) {
    const std::vector<uint8_t> f = finish_checksum(*seg);
    const uint8_t* ip = f.data() + 14;
    const uint8_t* udp = ip + 20;
    EXPECT_EQ(be16(udp + 4), 8 + 1200) << "UDP length";
    EXPECT_EQ(be16(ip + 2), 20 + 8 + 1200);
    const uint64_t pseudo = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + 17 + 8 + 1200;
    EXPECT_EQ(internet_checksum(udp, 8 + 1200, pseudo), 0);
  }
}

TEST_F(GsoCut, AnExhaustedPoolLosesTheRestCounted) {
  std::vector<sched::Packet*> hold;
  while (pool.available() > 2) hold.push_back(pool.alloc());
  const Bundle b = make_bundle(false, false, 5 * 1448, 1448);
  const Cut& c = cut_bundle(b);
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->segments, 2u);
  EXPECT_EQ(c.result->no_buffer, 3u);
  EXPECT_EQ(c.segs.size(), 2u);
  for (sched::Packet* p : hold) sched::PacketPool::release(p);
}

TEST_F(GsoCut, WhatIsNotACuttableBundleStaysWhole) {
  Bundle plain = make_bundle(false, false, 100, 1448);
  plain.vnet.gso_type = kGsoNone;
  plain.vnet.gso_size = 0;
  EXPECT_FALSE(cut_bundle(plain).result);
  Bundle no_csum = make_bundle(false, false, 3000, 1448);
  no_csum.vnet.flags = 0;
  EXPECT_FALSE(cut_bundle(no_csum).result);
  Bundle ufo = make_bundle(false, true, 3000, 1448);
  ufo.vnet.gso_type = kGsoUdp;  // IP fragmentation offload: not cut
  EXPECT_FALSE(cut_bundle(ufo).result);
  Bundle wrong_family = make_bundle(false, false, 3000, 1448);
  wrong_family.vnet.gso_type = kGsoTcpV6;  // an IPv4 frame
  EXPECT_FALSE(cut_bundle(wrong_family).result);
  EXPECT_TRUE(cut.segs.empty());
}

}  // namespace
}  // namespace bpfq::io::live
