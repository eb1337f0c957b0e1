// progs/fq_codel.bpf.c against the native FqCodelQdisc (include/bpfq/sched/fq_codel_qdisc.hpp):
// seeded random scripts (bursts of several flows, ECT and Not-ECT packets, a virtual clock that
// moves on) through both; after every operation both must agree on what was dequeued (order,
// CE marks), verdicts, drops and every statistic.
//
// Time: Linux runs CoDel on a clock of 1024 ns ticks (codel_time_t) and both implementations
// do the same. Some scripts move the clock by arbitrary nanoseconds with Linux's default target
// and interval (which are not whole ticks: 5 ms is 4882.8 ticks), so that a qdisc that kept
// exact nanoseconds instead would disagree on sojourn comparisons and on the control law's
// rounding, which accumulates over a dropping state.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/trace.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/fq_codel_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "support/test_objects.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kTick = 1024;  // ns: Linux's codel_time_t unit
constexpr Handle kHandle = Handle::make(1, 0);

struct TwinConfig {
  uint32_t limit = 10240;
  uint32_t flows = 1024;
  uint32_t quantum = 1514;
  uint32_t memory_limit = 32u << 20;
  uint32_t drop_batch = 64;
  bool ecn = true;
  uint64_t target_ns = 5'000'000;
  uint64_t interval_ns = 100'000'000;
  uint64_t ce_threshold_ns = 0;     // 0: off
  bool hashed = true;               // flows by hash (random source ports) or by skb->priority
  uint32_t sources = 12;            // distinct flows the script uses
  uint64_t max_gap_ns = 2'000'000;  // the clock moves 0..max_gap_ns between operations
  uint64_t clock_unit_ns = 1;       // ... in multiples of this
};

class Twin {
 public:
  explicit Twin(const TwinConfig& c) : config_(c) {
    ebpf_ = BpfQdisc::open(bpfq::test::library_object("fq_codel"), kHandle, env_);
    ebpf_->object().set_global("limit", c.limit);
    ebpf_->object().set_global("flows", c.flows);
    ebpf_->object().set_global("target", c.target_ns);
    ebpf_->object().set_global("interval", c.interval_ns);
    ebpf_->object().set_global("quantum", c.quantum);
    ebpf_->object().set_global("ecn", uint32_t{c.ecn});
    ebpf_->object().set_global("ce_threshold", c.ce_threshold_ns);
    ebpf_->object().set_global("memory_limit", c.memory_limit);
    ebpf_->object().set_global("drop_batch", c.drop_batch);
    ebpf_->init();
    FqCodelParams p;
    p.limit = c.limit;
    p.flows = c.flows;
    p.target_ns = c.target_ns;
    p.interval_ns = c.interval_ns;
    p.quantum = c.quantum;
    p.ecn = c.ecn;
    p.ce_threshold_ns = c.ce_threshold_ns ? c.ce_threshold_ns : FqCodelParams::kCeThresholdOff;
    p.memory_limit = c.memory_limit;
    p.drop_batch = c.drop_batch;
    native_ = std::make_unique<FqCodelQdisc>(p, kHandle);
  }

  // Runs `ops` random operations; stops at the first disagreement (reported with the step).
  void run(uint32_t seed, uint32_t ops) {
    std::mt19937 rng(seed);
    for (step_ = 0; step_ < ops; ++step_) {
      // Phases of 400 operations alternate overload (queues and CoDel build up) and drain.
      const bool overload = (step_ / 400) % 2 == 0;
      const uint32_t r = rng() % 100;
      if (r < (overload ? 55u : 25u)) {
        const uint32_t burst = 1 + rng() % 8;
        const uint32_t source = rng() % config_.sources;
        for (uint32_t i = 0; i < burst && !HasFailure(); ++i) enqueue(rng, source);
      } else if (r < 90) {
        const uint32_t burst = 1 + rng() % 6;
        for (uint32_t i = 0; i < burst && !HasFailure(); ++i) dequeue();
      } else {
        advance(rng, 20 * config_.max_gap_ns);  // an idle spell
      }
      advance(rng, config_.max_gap_ns);
      expect_same_stats();
      if (HasFailure()) return;
    }
  }

  // Drains both and checks they end clean.
  void finish() {
    for (uint32_t i = 0; i < 100'000 && !HasFailure() && (native_->qlen() || ebpf_->qlen()); ++i) dequeue();
    EXPECT_EQ(native_->qlen(), 0u);
    expect_same_stats();
    native_->reset();
    ebpf_->reset();
    EXPECT_EQ(ebpf_->counters().faults, 0u) << ebpf_->counters().last_fault;
    EXPECT_EQ(ebpf_->counters().leaked_refs, 0u);
    EXPECT_EQ(ebpf_->counters().bad_dequeues, 0u);
    EXPECT_TRUE(native_->stats().conserved());
    EXPECT_TRUE(ebpf_->stats().conserved());
    native_.reset();
    ebpf_.reset();
    EXPECT_EQ(pool_.in_use(), 0u);
  }

  const FqCodelQdisc& native() const { return *native_; }
  // How much of each mechanism a script exercised (so that a test can insist on coverage).
  uint64_t codel_drops() const { return native_->xstats().codel_drops; }
  uint64_t overlimit_drops() const { return native_->xstats().drop_overlimit; }
  uint64_t ecn_marks() const { return native_->xstats().ecn_mark; }
  uint64_t ce_marks() const { return native_->xstats().ce_mark; }
  uint64_t congested() const { return congested_; }

 private:
  std::string where() const {
    std::ostringstream s;
    s << "step " << step_ << " at t=" << clock_.now_ns() << " ns";
    return s.str();
  }

  void advance(std::mt19937& rng, uint64_t max_ns) {
    const uint64_t units = max_ns / config_.clock_unit_ns;
    clock_.advance((uint64_t{rng()} * units >> 32) * config_.clock_unit_ns);
  }

  Packet* make(const FrameSpec& spec, uint32_t mark, uint32_t priority) {
    Packet* pkt = pool_.alloc();
    EXPECT_NE(pkt, nullptr) << "pool exhausted";
    if (!pkt) return nullptr;
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark;
    pkt->skb.priority = priority;
    return pkt;
  }

  void enqueue(std::mt19937& rng, uint32_t source) {
    FrameSpec spec;
    spec.payload_len = 22 + rng() % 1451;  // frames of 64..1514 bytes
    spec.ecn = static_cast<uint8_t>(rng() % 4);  // Not-ECT, ECT(1), ECT(0), CE
    spec.sport = static_cast<uint16_t>(5000 + source);
    const uint32_t priority = config_.hashed ? 0 : (kHandle.value | (source % config_.flows + 1));
    const uint32_t mark = ++next_mark_;
    Packet* a = make(spec, mark, priority);
    Packet* b = make(spec, mark, priority);
    if (!a || !b) return;
    const uint32_t cn_before = ebpf_->object().get_global<uint32_t>("xmit_cn");

    const EnqueueResult rn = native_->enqueue(a, clock_.now_ns());
    const EnqueueResult re = ebpf_->enqueue(b, clock_.now_ns());
    const uint32_t cn = ebpf_->object().get_global<uint32_t>("xmit_cn") - cn_before;
    // Linux returns NET_XMIT_CN when the overflow drop hit the arriving packet's flow. The
    // native qdisc says Congested then; the program says CN only when the arriving packet itself
    // went (bpfq's CN frees the offered packet) and counts every NET_XMIT_CN in xmit_cn.
    if (rn.verdict == EnqueueVerdict::Congested) {
      ++congested_;
      EXPECT_EQ(cn, 1u) << where() << ": mark " << mark;
      EXPECT_TRUE(re.verdict == EnqueueVerdict::Congested || re.verdict == EnqueueVerdict::Queued) << where();
    } else {
      EXPECT_EQ(rn.verdict, EnqueueVerdict::Queued) << where();
      EXPECT_EQ(re.verdict, EnqueueVerdict::Queued) << where() << ": mark " << mark;
      EXPECT_EQ(cn, 0u) << where();
    }
  }

  void dequeue() {
    DequeueResult rn = native_->dequeue(clock_.now_ns());
    DequeueResult re = ebpf_->dequeue(clock_.now_ns());
    EXPECT_EQ(rn.kind, re.kind) << where();
    if (rn.packet && re.packet) {
      EXPECT_EQ(rn.packet->skb.mark, re.packet->skb.mark) << where();
      EXPECT_EQ(ecn_codepoint(rn.packet->bytes()), ecn_codepoint(re.packet->bytes()))
          << where() << ": mark " << rn.packet->skb.mark;
    }
    PacketPool::release(rn.packet);
    PacketPool::release(re.packet);
  }

  void expect_same_stats() {
    const QdiscStats& n = native_->stats();
    const QdiscStats& e = ebpf_->stats();
    EXPECT_EQ(n.qlen, e.qlen) << where();
    EXPECT_EQ(n.backlog, e.backlog) << where();
    EXPECT_EQ(n.sent_packets, e.sent_packets) << where();
    EXPECT_EQ(n.sent_bytes, e.sent_bytes) << where();
    EXPECT_EQ(n.dropped, e.dropped) << where();
    EXPECT_EQ(n.dropped_bytes, e.dropped_bytes) << where();
    EXPECT_TRUE(n.conserved()) << where();
    EXPECT_TRUE(e.conserved()) << where();
    const FqCodelStats x = native_->xstats();
    auto global = [&](const char* name) { return ebpf_->object().get_global<uint32_t>(name); };
    EXPECT_EQ(x.maxpacket, global("maxpacket")) << where();
    EXPECT_EQ(x.drop_overlimit, global("drop_overlimit")) << where();
    EXPECT_EQ(x.ecn_mark, global("ecn_mark")) << where();
    EXPECT_EQ(x.new_flow_count, global("new_flow_count")) << where();
    EXPECT_EQ(x.ce_mark, global("ce_mark")) << where();
    EXPECT_EQ(x.memory_usage, global("memory_usage")) << where();
    EXPECT_EQ(x.drop_overmemory, global("drop_overmemory")) << where();
    EXPECT_EQ(x.new_flows_len, global("new_flows_len")) << where();
    EXPECT_EQ(x.old_flows_len, global("old_flows_len")) << where();
    EXPECT_EQ(x.codel_drops, global("codel_drops")) << where();
    EXPECT_EQ(ebpf_->counters().faults, 0u) << where() << ": " << ebpf_->counters().last_fault;
    EXPECT_EQ(ebpf_->counters().leaked_refs, 0u) << where();
  }

  static bool HasFailure() { return ::testing::Test::HasFailure(); }

  TwinConfig config_;
  PacketPool pool_{PacketPoolConfig{.packets = 8192}};
  runtime::ManualClock clock_{1000 * kTick + 123};  // not on a tick
  runtime::CollectingTraceSink trace_;
  BpfQdiscEnv env_{&pool_, &clock_, nullptr, &trace_};
  std::unique_ptr<BpfQdisc> ebpf_;
  std::unique_ptr<FqCodelQdisc> native_;
  uint32_t step_ = 0;
  uint32_t next_mark_ = 0;
  uint64_t congested_ = 0;
};

// Hashed flows, Linux's defaults but a limit the bursts reach: CoDel drops and marks, overflow
// drops from the fattest flow; the clock moves by arbitrary nanoseconds.
TEST(FqCodelTwin, HashedFlowsWithOverflowAndCodel) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Twin t({.limit = 300, .sources = 12});
    t.run(seed, 4000);
    EXPECT_GT(t.codel_drops(), 0u);
    EXPECT_GT(t.ecn_marks(), 0u);
    EXPECT_GT(t.overlimit_drops(), 0u);
    t.finish();
  }
}

// Few buckets (flows share them), a small quantum, small drop batches, no ECN: the overflow
// drop and CoDel act on the same flows. Clock in whole microseconds.
TEST(FqCodelTwin, SharedBucketsSmallBatchesNoEcn) {
  for (uint32_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Twin t({.limit = 120, .flows = 8, .quantum = 300, .drop_batch = 4, .ecn = false, .sources = 20,
             .clock_unit_ns = 1000});
    t.run(seed, 4000);
    EXPECT_GT(t.codel_drops(), 0u);
    EXPECT_EQ(t.ecn_marks(), 0u);
    EXPECT_GT(t.overlimit_drops(), 0u);
    EXPECT_GT(t.congested(), 0u);
    t.finish();
  }
}

// Flows picked by skb->priority (class 1:n), a byte limit instead of a packet limit, a
// ce_threshold of 1 ms (976.6 ticks) and a shorter target and interval.
TEST(FqCodelTwin, PriorityFlowsMemoryLimitAndCeThreshold) {
  for (uint32_t seed : {21u, 22u, 23u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Twin t({.flows = 16, .memory_limit = 60000, .target_ns = 2'000'000, .interval_ns = 40'000'000,
            .ce_threshold_ns = 1'000'000, .hashed = false, .sources = 10});
    t.run(seed, 4000);
    EXPECT_GT(t.ce_marks(), 0u);
    EXPECT_GT(t.native().xstats().drop_overmemory, 0u);
    t.finish();
  }
}

}  // namespace
}  // namespace bpfq::sched::test
