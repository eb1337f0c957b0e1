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

}  // namespace
}  // namespace bpfq::io::live
