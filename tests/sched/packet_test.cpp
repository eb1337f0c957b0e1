#include <bpfq/sched/packet.hpp>

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <bpfq/sched/flow_dissector.hpp>
#include <bpfq/sched/flow_hash.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::sched {
namespace {

// What an eBPF program does with its context: data/data_end are u32 fields holding addresses.
struct ProgramView {
  uint8_t* data;
  uint8_t* data_end;
};
ProgramView program_view(struct __sk_buff* skb) {
  return {reinterpret_cast<uint8_t*>(static_cast<long>(skb->data)),
          reinterpret_cast<uint8_t*>(static_cast<long>(skb->data_end))};
}

TEST(Packet, SkBuffIsTheFirstMember) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  struct __sk_buff* skb = &p->skb;
  EXPECT_EQ(static_cast<void*>(skb), static_cast<void*>(p));
  EXPECT_EQ(Packet::from_skb(skb), p);
  PacketPool::release(p);
}

TEST(Packet, ProgramReadsTheFrameThroughDataAndDataEnd) {
  PacketPool pool({.packets = 2});
  FrameSpec spec;
  spec.l4 = L4::Tcp;
  spec.payload_len = 100;
  const std::vector<uint8_t> frame = build_frame(spec);
  Packet* p = pool.alloc();
  ASSERT_TRUE(p->assign(frame));

  struct __sk_buff* ctx = &p->skb;
  const ProgramView v = program_view(ctx);
  ASSERT_EQ(v.data_end - v.data, static_cast<long>(frame.size()));
  EXPECT_EQ(ctx->len, frame.size());
  EXPECT_EQ(ctx->wire_len, frame.size());
  EXPECT_EQ(0, std::memcmp(v.data, frame.data(), frame.size()));
  // The classic bounds-checked parse a tc program does.
  auto* eth = reinterpret_cast<struct ethhdr*>(v.data);
  ASSERT_LE(v.data + sizeof(*eth), v.data_end);
  EXPECT_EQ(eth->h_proto, htons(ETH_P_IP));
  EXPECT_EQ(ctx->protocol, htons(ETH_P_IP));
  EXPECT_EQ(p->ethertype(), ETH_P_IP);
  const uint8_t* ip = v.data + sizeof(*eth);
  EXPECT_EQ(ip[9], 6);  // TCP

  // Writes through the program's pointers land in the packet's bytes.
  v.data[0] = 0xAA;
  EXPECT_EQ(p->bytes()[0], 0xAA);
  PacketPool::release(p);
}

TEST(Packet, LengthDataEndAndRoomStayConsistent) {
  PacketPool pool({.packets = 1, .data_room = 1024, .headroom = 256});
  Packet* p = pool.alloc();
  EXPECT_EQ(p->headroom(), 256u);
  EXPECT_EQ(p->max_len(), 1024u);
  EXPECT_EQ(p->tailroom(), 1024u);
  ASSERT_TRUE(p->set_len(300));
  EXPECT_EQ(p->skb.data_end - p->skb.data, 300u);
  EXPECT_EQ(p->bytes().size(), 300u);
  EXPECT_EQ(p->tailroom(), 724u);
  EXPECT_EQ(p->qdisc_len(), 300u);
  EXPECT_TRUE(p->set_len(1024));
  EXPECT_FALSE(p->set_len(1025));
  EXPECT_EQ(p->len(), 1024u);  // unchanged by the failed call
  std::vector<uint8_t> big(1025, 1);
  EXPECT_FALSE(p->assign(big));
  EXPECT_EQ(p->len(), 1024u);
  PacketPool::release(p);
}

TEST(Packet, ProtocolFollowsEthTypeTrans) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  FrameSpec v6;
  v6.ipv6 = true;
  v6.src_ip = ipv6_address("2001:db8::1");
  v6.dst_ip = ipv6_address("2001:db8::2");
  ASSERT_TRUE(p->assign(build_frame(v6)));
  EXPECT_EQ(p->skb.protocol, htons(ETH_P_IPV6));

  FrameSpec tagged;
  tagged.vlans = {{0x8100, 42}};
  ASSERT_TRUE(p->assign(build_frame(tagged)));
  EXPECT_EQ(p->skb.protocol, htons(ETH_P_8021Q));  // the tag stays in the bytes
  EXPECT_EQ(p->skb.vlan_present, 0u);
  ASSERT_TRUE(build_into(*p, tagged));
  EXPECT_EQ(p->skb.protocol, htons(ETH_P_8021Q));

  std::vector<uint8_t> llc(60, 0);
  llc[12] = 0x00;
  llc[13] = 0x2E;  // an 802.3 length
  ASSERT_TRUE(p->assign(llc));
  EXPECT_EQ(p->skb.protocol, htons(ETH_P_802_2));
  llc[14] = llc[15] = 0xFF;
  ASSERT_TRUE(p->assign(llc));
  EXPECT_EQ(p->skb.protocol, htons(ETH_P_802_3));
  PacketPool::release(p);
}

TEST(Packet, MetadataFieldsAreThoseOfSkBuff) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  p->skb.mark = 1;
  p->skb.priority = 2;
  p->skb.queue_mapping = 3;
  p->skb.tc_index = 4;
  p->skb.tc_classid = 0x10010;
  for (uint32_t i = 0; i < 5; ++i) p->skb.cb[i] = 10 + i;
  p->skb.tstamp = 123456789;
  p->skb.ifindex = 5;
  p->skb.ingress_ifindex = 6;
  p->skb.vlan_present = 1;
  p->skb.vlan_tci = 100;
  p->skb.vlan_proto = htons(ETH_P_8021Q);
  p->skb.gso_segs = 1;
  p->skb.gso_size = 0;
  // Read back at the uapi offsets a program uses.
  const auto* raw = reinterpret_cast<const uint8_t*>(p);
  auto at = [&](size_t off) { uint32_t v; std::memcpy(&v, raw + off, 4); return v; };
  EXPECT_EQ(at(offsetof(struct __sk_buff, mark)), 1u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, priority)), 2u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, queue_mapping)), 3u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, tc_index)), 4u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, tc_classid)), 0x10010u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, cb) + 16), 14u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, ifindex)), 5u);
  EXPECT_EQ(at(offsetof(struct __sk_buff, vlan_tci)), 100u);
  uint64_t ts;
  std::memcpy(&ts, raw + offsetof(struct __sk_buff, tstamp), 8);
  EXPECT_EQ(ts, 123456789u);
  EXPECT_EQ(offsetof(struct __sk_buff, data), 76u);  // uapi layout, not ours to change
  EXPECT_EQ(offsetof(struct __sk_buff, data_end), 80u);
  PacketPool::release(p);
}

TEST(Packet, GetHashIsComputedOnceWithThePoolPerturbation) {
  PacketPool pool({.packets = 2});
  FrameSpec spec;
  spec.l4 = L4::Tcp;
  spec.sport = 40000;
  spec.dport = 443;
  Packet* p = pool.alloc();
  ASSERT_TRUE(build_into(*p, spec));
  EXPECT_EQ(p->skb.hash, 0u);
  const uint32_t h = p->get_hash();
  EXPECT_NE(h, 0u);
  EXPECT_EQ(p->skb.hash, h);
  EXPECT_EQ(h, flow_hash(dissect(p->bytes()), pool.hash_key()));

  pool.set_hash_perturbation(99);
  EXPECT_EQ(p->get_hash(), h);  // cached, as in Linux
  p->clear_hash();
  const uint32_t h99 = p->get_hash();
  EXPECT_NE(h99, h);
  EXPECT_EQ(h99, flow_hash(dissect(p->bytes()), FlowHashKey::from_perturbation(99)));

  Packet* reply = pool.alloc();
  FrameSpec back = spec;
  std::swap(back.src_ip, back.dst_ip);
  std::swap(back.sport, back.dport);
  ASSERT_TRUE(build_into(*reply, back));
  EXPECT_EQ(reply->get_hash(), h99);  // skb_get_hash is symmetric
  PacketPool::release(p);
  PacketPool::release(reply);
}

}  // namespace
}  // namespace bpfq::sched
