// The children of one mq root are independent instances: the live datapath will run each TX
// queue's qdisc on its own core, without locks. Here each of four threads owns one TX queue —
// its child qdisc (built with the thread's own pool, clock and PRNG stream), its packets, all
// of whose flows hash to that queue — and drives it at the same time as the others. Every child
// must end exactly as it does when the queues run one after another on one thread: the same
// departures in the same order, the same counters, conservation; and the root's sum of its
// queues must be conserved too.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/qdisc_runner.hpp>
#include <bpfq/tc/qdisc_spec.hpp>

#include "mq_test_util.hpp"

namespace bpfq::tc::test {
namespace {

constexpr uint32_t kQueues = 4;
constexpr uint32_t kArrivals = 20'000;
// One library program per TX queue: AQMs that drop, schedulers that interleave, one that uses
// its PRNG stream (sfb's perturbation), and a plain FIFO.
const std::array<std::string, kQueues> kPrograms = {"fq_codel", "sfq", "sfb", "pfifo"};

struct Outcome {
  std::vector<uint32_t> departures;  // marks in dequeue order
  uint64_t enqueued = 0, sent = 0, dropped = 0, qlen = 0;
  bool conserved = false;
  bool operator==(const Outcome&) const = default;
};

// What one thread owns besides its child: the clock its programs read and the pool its packets
// come from (a pool is not shared between threads).
struct QueueContext {
  runtime::ManualClock clock{1'000'000};
  sched::PacketPool pool{{.packets = 16384}};
};

// An mq root over kQueues children, child i built against contexts[i] at class 1:i+1.
std::unique_ptr<sched::MqQdisc> make_root(std::array<QueueContext, kQueues>& contexts) {
  sched::DeviceParams device;
  device.num_tx_queues = kQueues;
  std::vector<std::unique_ptr<sched::Qdisc>> children;
  for (uint32_t i = 0; i < kQueues; ++i) {
    const sched::Handle classid = sched::Handle::make(1, static_cast<uint16_t>(i + 1));
    QdiscSite site{contexts[i].clock, contexts[i].pool, device, /*seed=*/42, "eth0"};
    site.parent = classid;
    site.tx_queue = true;
    children.push_back(make_qdisc(parse_qdisc_spec(kPrograms[i] + " limit 1000"), site,
                                  sched::Handle::make(static_cast<uint16_t>(0x10 + i), 0)));
  }
  return std::make_unique<sched::MqQdisc>("mq", sched::Handle::make(1, 0), sched::TxQueueMap::plain(kQueues),
                                          std::move(children));
}

// 64 flows whose packets the root sends to each queue (Linux's pick for their hash).
std::array<std::vector<uint32_t>, kQueues> flows_by_queue(const sched::MqQdisc& mq) {
  sched::PacketPool scratch({.packets = 4});
  std::array<std::vector<uint32_t>, kQueues> flows;
  for (uint32_t flow = 0; flows[0].size() < 64 || flows[1].size() < 64 || flows[2].size() < 64 || flows[3].size() < 64;
       ++flow) {
    sched::Packet* pkt = flow_packet(scratch, flow);
    const uint32_t q = mq.pick_tx_queue(*pkt);
    if (flows[q].size() < 64) flows[q].push_back(flow);
    sched::PacketPool::release(pkt);
  }
  return flows;
}

// The TX ring of one queue: it takes one packet per credit (a credit every second arrival),
// and records what it sent.
struct TxRing final : sched::Transmitter {
  uint32_t credits = 0;
  std::vector<uint32_t> sent;
  bool can_transmit() const override { return credits > 0; }
  bool transmit(sched::Packet* pkt, uint64_t) override {
    --credits;
    sent.push_back(pkt->skb.mark);
    sched::PacketPool::release(pkt);
    return true;
  }
};

// None of the programs here throttles; a wake-up would only be recorded.
struct NoTimer final : sched::Timer {
  void arm(uint64_t) override {}
  void cancel() override {}
};

// Drives TX queue `queue` of mq as its own core would, with its own runner (whose watchdog it
// attaches to the child), timer and TX ring: arrivals 10 us apart on the queue's clock, a
// packet out every second arrival, so the queue grows and the programs drop and interleave.
// Touches nothing but that child and ctx.
Outcome drive(const sched::MqQdisc& mq, uint32_t queue, QueueContext& ctx, const std::vector<uint32_t>& flows) {
  sched::Qdisc& child = mq.tx_queue(queue);
  NoTimer timer;
  TxRing ring;
  sched::QdiscRunner runner(child, ctx.clock, timer, ring);
  Outcome o;
  for (uint32_t i = 0; i < kArrivals; ++i) {
    ctx.clock.advance(10'000);
    sched::Packet* pkt = flow_packet(ctx.pool, flows[i % flows.size()], 0, i, 100 + (i % 7) * 200);
    if (!pkt) break;
    if (mq.pick_tx_queue(*pkt) != queue) {  // the hash must send it here
      sched::PacketPool::release(pkt);
      break;
    }
    if (i % 2 == 0) ++ring.credits;
    runner.enqueue(pkt);  // enqueues, then sends while the ring takes packets
  }
  o.departures = std::move(ring.sent);
  const sched::QdiscStats& s = child.stats();
  o.enqueued = s.enqueued_packets;
  o.sent = s.sent_packets;
  o.dropped = s.dropped;
  o.qlen = s.qlen;
  o.conserved = s.conserved();
  return o;
}

TEST(MqThreads, EachTxQueueOnItsOwnThreadEndsAsRunAlone) {
  // One thread, the queues one after another.
  std::array<QueueContext, kQueues> alone_ctx;
  const std::unique_ptr<sched::MqQdisc> alone_root = make_root(alone_ctx);
  const auto flows = flows_by_queue(*alone_root);
  std::array<Outcome, kQueues> alone;
  for (uint32_t q = 0; q < kQueues; ++q) {
    alone[q] = drive(*alone_root, q, alone_ctx[q], flows[q]);
    ASSERT_EQ(alone[q].enqueued, kArrivals) << kPrograms[q];
    ASSERT_TRUE(alone[q].conserved) << kPrograms[q];
    ASSERT_GT(alone[q].departures.size(), kArrivals / 4) << kPrograms[q];
  }
  EXPECT_GT(alone[0].dropped, 0u) << "fq_codel's queue is overloaded";

  // Every queue on its own thread, at once.
  std::array<QueueContext, kQueues> ctx;
  const std::unique_ptr<sched::MqQdisc> root = make_root(ctx);
  std::array<Outcome, kQueues> together;
  std::vector<std::thread> threads;
  for (uint32_t q = 0; q < kQueues; ++q)
    threads.emplace_back([&, q] { together[q] = drive(*root, q, ctx[q], flows[q]); });
  for (std::thread& t : threads) t.join();

  for (uint32_t q = 0; q < kQueues; ++q) {
    EXPECT_TRUE(together[q].conserved) << kPrograms[q];
    EXPECT_EQ(together[q].enqueued, together[q].sent + together[q].dropped + together[q].qlen) << kPrograms[q];
    EXPECT_EQ(together[q], alone[q]) << "TX queue " << q << " (" << kPrograms[q] << ")";
    if (auto* bpf = dynamic_cast<sched::BpfQdisc*>(&root->tx_queue(q))) {
      EXPECT_EQ(bpf->counters().faults, 0u) << kPrograms[q];
    }
  }
  // The root's counters are its queues' sum (mq_dump), and conserved.
  const sched::QdiscStats sum = root->children_stats();
  EXPECT_EQ(sum.enqueued_packets, uint64_t{kQueues} * kArrivals);
  EXPECT_TRUE(sum.conserved());
  EXPECT_EQ(root->stats().enqueued_packets, 0u) << "the threads drove the queues, not the root";
  // A reset through the root releases every queue's packets into the queue's own pool.
  root->reset();
  for (uint32_t q = 0; q < kQueues; ++q) EXPECT_EQ(ctx[q].pool.in_use(), 0u) << q;
  EXPECT_TRUE(root->children_stats().conserved());
}

}  // namespace
}  // namespace bpfq::tc::test
