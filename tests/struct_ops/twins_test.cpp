// The struct_ops qdiscs of progs/struct_ops/ (Linux 6.16's API) against their seed-API twins of
// the library: seeded random scripts (bursts of several flows, packets of every size, some with
// an EDT departure time, a virtual clock that moves on) through both; after every operation both
// must agree on what was dequeued (order), throttling, drops and the queue. Each twin runs
// from two builds: clang-19 against bpfq's vmlinux.h (`bpfq btf dump`) and against this host's
// (bpftool's, skipped by name without /sys/kernel/btf/vmlinux), both relocated onto bpfq's
// kernel by CO-RE; and each three ways: verified on the JIT and on the interpreter, and
// unverified (every access checked at run time).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <tuple>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>

#include "struct_ops_test_util.hpp"
#include "support/test_objects.hpp"

namespace bpfq::sched::test {
namespace {

struct TwinScript {
  uint32_t flows = 8;
  uint32_t enqueue_percent = 60;      // of the operations; the rest are dequeues
  uint32_t edt_percent = 0;           // packets with skb->tstamp ahead of now
  uint64_t max_edt_ns = 2'000'000;    // how far ahead
  uint64_t max_gap_ns = 200'000;      // the clock moves 0..max_gap_ns between operations
};

// How the struct_ops twin runs: "jit", "interpreter" (both verified) or "checked".
class Twins {
 public:
  Twins(const std::string& name, const std::string& struct_ops_path, const std::string& mode) {
    seed_ = BpfQdisc::open(bpfq::test::library_object(name), Handle::make(1, 0), env_);
    seed_->init();
    BpfQdiscEnv ops_env = env_;
    if (mode == "checked") ops_env.verification = runtime::Verification::Off;
    const exec::Backend saved = runtime::default_backend();
    if (mode != "checked") runtime::set_default_backend(runtime::parse_backend(mode));
    ops_ = StructOpsQdisc::open(struct_ops_path, Handle::make(1, 0), ops_env);
    runtime::set_default_backend(saved);
    // Verified, except the ops taking a lock inside an object (fq's and fq_codel's enqueue and
    // dequeue), which the verifier does not model yet: they run checked.
    for (const runtime::ProgramInfo& p : ops_->object().programs()) {
      if (mode == "checked") {
        EXPECT_FALSE(p.verified) << p.name;
      } else if (p.verified) {
        EXPECT_STREQ(exec::backend_name(p.backend), mode.c_str()) << p.name;
      } else {
        EXPECT_NE(p.unverified.find("bpf_spin_lock of a lock inside an object"), std::string::npos) << p.unverified;
        EXPECT_TRUE(p.name.ends_with("enqueue") || p.name.ends_with("dequeue")) << p.name;
      }
    }
    ops_->init();
  }

  void run(uint32_t seed, uint32_t steps, const TwinScript& s) {
    std::mt19937 rng(seed);
    for (uint32_t step = 0; step < steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step) + " of seed " + std::to_string(seed));
      clock_.advance(rng() % (s.max_gap_ns + 1));
      if (rng() % 100 < s.enqueue_percent) {
        const uint32_t flow = rng() % s.flows;
        const uint32_t len = 64 + rng() % (1514 - 64 + 1);
        const uint64_t tstamp = rng() % 100 < s.edt_percent ? clock_.now_ns() + rng() % s.max_edt_ns : 0;
        const EnqueueVerdict a = seed_->enqueue(packet(flow, len, tstamp), clock_.now_ns()).verdict;
        const EnqueueVerdict b = ops_->enqueue(packet(flow, len, tstamp), clock_.now_ns()).verdict;
        ASSERT_EQ(a == EnqueueVerdict::Dropped, b == EnqueueVerdict::Dropped);
        ++mark_;
      } else {
        const DequeueResult a = seed_->dequeue(clock_.now_ns());
        const DequeueResult b = ops_->dequeue(clock_.now_ns());
        ASSERT_EQ(a.kind, b.kind);
        if (a.kind == DequeueResult::Kind::Packet) {
          ASSERT_EQ(a.packet->skb.mark, b.packet->skb.mark);
          ++departures_;
          PacketPool::release(a.packet);
          PacketPool::release(b.packet);
        }
        if (a.kind == DequeueResult::Kind::Throttled) {
          ASSERT_EQ(a.throttled_until_ns, b.throttled_until_ns);
        }
      }
      ASSERT_EQ(seed_->qlen(), ops_->qlen());
      ASSERT_EQ(seed_->stats().dropped, ops_->stats().dropped);
      ASSERT_TRUE(ops_->stats().conserved());
      // The program's own view of its queue agrees with bpfq's accounting.
      ASSERT_EQ(ops_->view().q.qlen, ops_->qlen());
      ASSERT_EQ(ops_->view().qstats.backlog, ops_->backlog());
    }
    expect_clean(*ops_);
  }

  uint64_t departures() const { return departures_; }
  uint64_t drops() const { return ops_->stats().dropped; }

 private:
  Packet* packet(uint32_t flow, uint32_t len, uint64_t tstamp) {
    FrameSpec spec;
    spec.payload_len = len - 42;
    spec.sport = static_cast<uint16_t>(1000 + flow);
    Packet* pkt = pool_.alloc();
    EXPECT_NE(pkt, nullptr);
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark_;
    pkt->skb.tstamp = tstamp;
    return pkt;
  }

  PacketPool pool_{PacketPoolConfig{.packets = 8192}};
  runtime::ManualClock clock_{1'000'000'000};
  BpfQdiscEnv env_{&pool_, &clock_};
  std::unique_ptr<BpfQdisc> seed_;
  std::unique_ptr<StructOpsQdisc> ops_;
  uint32_t mark_ = 1;
  uint64_t departures_ = 0;
};

class StructOpsTwins : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {
 protected:
  std::string build() const { return std::get<0>(GetParam()); }
  std::string mode() const { return std::get<1>(GetParam()); }
};

TEST_P(StructOpsTwins, FifoMatchesTheLibraryFifo) {
  const std::string path = struct_ops_object(build(), "fifo");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "not built: " << path;
  Twins t("fifo", path, mode());
  TwinScript s;
  s.enqueue_percent = 70;  // fills past the limit of 1000 (tail drops)
  t.run(1, 6000, s);
  EXPECT_GT(t.departures(), 1000u);
  EXPECT_GT(t.drops(), 0u);
}

TEST_P(StructOpsTwins, FqCodelMatchesTheLibraryFqCodel) {
  const std::string path = struct_ops_object(build(), "fq_codel");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "not built: " << path;
  for (uint32_t seed : {1u, 2u}) {
    Twins t("fq_codel", path, mode());
    TwinScript s;
    s.flows = 12;
    s.enqueue_percent = 55;
    s.max_gap_ns = 400'000;  // sojourn times past CoDel's target: it drops
    t.run(seed, 8000, s);
    EXPECT_GT(t.departures(), 1000u);
  }
}

TEST_P(StructOpsTwins, FqMatchesTheLibraryFq) {
  const std::string path = struct_ops_object(build(), "fq");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "not built: " << path;
  for (uint32_t seed : {1u, 2u}) {
    Twins t("fq", path, mode());
    TwinScript s;
    s.flows = 10;
    s.edt_percent = 30;  // paced packets: flows wait in the delayed rbtree
    t.run(seed, 8000, s);
    EXPECT_GT(t.departures(), 1000u);
  }
}

INSTANTIATE_TEST_SUITE_P(BuildsAndBackends, StructOpsTwins,
                         ::testing::Combine(::testing::Values("bpfq", "host"),
                                            ::testing::Values("jit", "interpreter", "checked")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace bpfq::sched::test
