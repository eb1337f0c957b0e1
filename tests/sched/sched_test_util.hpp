#pragma once
// Helpers shared by the sched tests.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched::test {

// A UDP/IPv4 packet of exactly frame_len bytes (>= 42) tagged with mark (to follow it through
// queues) and priority.
inline Packet* make_packet(PacketPool& pool, uint32_t frame_len, uint32_t mark, uint32_t priority = 0) {
  Packet* pkt = pool.alloc();
  EXPECT_NE(pkt, nullptr);
  if (!pkt) return nullptr;
  FrameSpec spec;
  spec.payload_len = frame_len - 42;
  EXPECT_TRUE(build_into(*pkt, spec));
  EXPECT_EQ(pkt->len(), frame_len);
  pkt->skb.mark = mark;
  pkt->skb.priority = priority;
  return pkt;
}

// Dequeues everything, returning the marks in order and releasing the packets.
inline std::vector<uint32_t> drain_marks(Qdisc& q, uint64_t now = 0) {
  std::vector<uint32_t> marks;
  for (;;) {
    DequeueResult r = q.dequeue(now);
    EXPECT_TRUE(q.stats().conserved());
    if (r.kind != DequeueResult::Kind::Packet) break;
    marks.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  return marks;
}

// Independent Internet checksum check: the one's-complement sum over data including the
// checksum field folds to 0xffff when the checksum is right.
inline uint16_t ones_complement_sum(const std::vector<uint8_t>& bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    uint16_t word = static_cast<uint16_t>(bytes[i] << 8);
    if (i + 1 < bytes.size()) word |= bytes[i + 1];
    sum += word;
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

}  // namespace bpfq::sched::test
