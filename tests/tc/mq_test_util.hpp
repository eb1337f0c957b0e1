#pragma once
// What the mq tests share: a setup built from tc lines, and packets of many flows.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/mq_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/setup_plan.hpp>

namespace bpfq::tc::test {

// Linux's choice of TX queue, written out here as skb_tx_hash does it: the flow hash scaled onto
// [offset, offset + count) with a multiply and a shift (reciprocal_scale).
inline uint32_t linux_tx_queue(uint32_t hash, uint32_t count, uint32_t offset = 0) {
  return offset + static_cast<uint32_t>((uint64_t{hash} * count) >> 32);
}

// A UDP packet of flow `flow` (its source port) with skb->priority and skb->mark set; its
// reference is the caller's.
inline sched::Packet* flow_packet(sched::PacketPool& pool, uint32_t flow, uint32_t priority = 0, uint32_t mark = 0,
                                  uint32_t payload = 100) {
  sched::Packet* pkt = pool.alloc();
  if (!pkt) return nullptr;
  sched::FrameSpec spec;
  spec.sport = static_cast<uint16_t>(1000 + flow);
  spec.dport = 5001;
  spec.payload_len = payload;
  if (!sched::build_into(*pkt, spec)) {
    sched::PacketPool::release(pkt);
    return nullptr;
  }
  pkt->skb.priority = priority;
  pkt->skb.mark = mark;
  return pkt;
}

struct MqSetup {
  runtime::ManualClock clock{1'000'000};
  sched::PacketPool pool{{.packets = 8192}};
  SetupPlan plan;
  std::unique_ptr<BuiltSetup> built;

  void apply(const std::string& text) {
    TcLine line = TcLine::split(text, "setup.tc:1");
    plan.apply(line);
  }
  BuiltSetup& build() {
    built = std::make_unique<BuiltSetup>(plan, clock, pool);
    return *built;
  }
  sched::Device& eth0() { return built->device("eth0"); }
  sched::MqQdisc& root() { return dynamic_cast<sched::MqQdisc&>(*eth0().root()); }
};

}  // namespace bpfq::tc::test
