#pragma once
// Shared by the engine tests: object paths, packets tagged by mark, a qdisc on a virtual clock.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/trace.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "support/test_objects.hpp"

namespace bpfq::sched::test {

using bpfq::test::library_object;
using bpfq::test::test_object;

struct EngineFixture {
  PacketPool pool{PacketPoolConfig{.packets = 512}};
  runtime::ManualClock clock{1'000'000};
  runtime::CollectingTraceSink trace;
  BpfQdiscEnv env{&pool, &clock, nullptr, &trace};

  std::unique_ptr<BpfQdisc> open(const std::string& path) {
    auto q = BpfQdisc::open(path, Handle::make(1, 0), env);
    return q;
  }

  // A packet from the pool holding the frame spec describes, tagged by mark.
  Packet* frame(const FrameSpec& spec, uint32_t mark) {
    Packet* pkt = pool.alloc();
    EXPECT_NE(pkt, nullptr);
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark;
    return pkt;
  }

  // A UDP/IPv4 frame of frame_len bytes; mark and priority tag it.
  Packet* packet(uint32_t frame_len, uint32_t mark, uint32_t priority = 0, uint8_t dscp = 0) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.dscp = dscp;
    spec.sport = static_cast<uint16_t>(1000 + mark);
    Packet* pkt = frame(spec, mark);
    pkt->skb.priority = priority;
    return pkt;
  }

  // What every test of a bpf qdisc expects at its end: the programs never faulted, leaked a
  // reference or handed out a packet not queued here, and every packet is accounted for.
  static void expect_clean(const BpfQdisc& q) {
    EXPECT_EQ(q.counters().faults, 0u) << q.counters().last_fault;
    EXPECT_EQ(q.counters().leaked_refs, 0u);
    EXPECT_EQ(q.counters().bad_dequeues, 0u);
    EXPECT_TRUE(q.stats().conserved());
  }

  // Dequeues until the qdisc has nothing, returning the marks in order.
  std::vector<uint32_t> drain(Qdisc& q) {
    std::vector<uint32_t> marks;
    for (;;) {
      DequeueResult r = q.dequeue(clock.now_ns());
      EXPECT_TRUE(q.stats().conserved());
      if (r.kind != DequeueResult::Kind::Packet) break;
      marks.push_back(r.packet->skb.mark);
      PacketPool::release(r.packet);
    }
    return marks;
  }
};

}  // namespace bpfq::sched::test
