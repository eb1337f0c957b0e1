// StructOpsQdisc (Linux 6.16's bpf qdisc in bpfq): what Linux's verifier and bpf_qdisc_validate
// refuse is refused at open with a clear message; CO-RE reads bpfq's fields from programs built
// against other layouts; leaks are counted, never lost; the library's struct_ops fifo behaves
// like Linux's (order, tail drop at sch->limit, reset, conservation) from clang-19 and clang-14
// objects.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>

#include "struct_ops_test_util.hpp"
#include "support/test_objects.hpp"

namespace bpfq::sched::test {
namespace {

class StructOps : public ::testing::Test {
 protected:
  std::unique_ptr<StructOpsQdisc> open(const std::string& path) {
    auto q = StructOpsQdisc::open(path, Handle::make(1, 0), env);
    q->init();
    return q;
  }

  // Without the verifier, which refuses these programs at load: what bpfq's run-time checks do
  // with them (bpfq sim --unverified, or a program the verifier does not model).
  std::unique_ptr<StructOpsQdisc> open_unverified(const std::string& path) {
    BpfQdiscEnv e = env;
    e.verification = runtime::Verification::Off;
    auto q = StructOpsQdisc::open(path, Handle::make(1, 0), e);
    q->init();
    return q;
  }

  // The error opening `name` (a test program) gives; "" if it opens.
  std::string open_error(const std::string& name) {
    try {
      open(struct_ops_test_object(name));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  Packet* packet(uint32_t mark, uint32_t len = 100) {
    FrameSpec spec;
    spec.payload_len = len - 42;
    spec.sport = static_cast<uint16_t>(1000 + mark);
    Packet* pkt = pool.alloc();
    EXPECT_NE(pkt, nullptr);
    EXPECT_TRUE(build_into(*pkt, spec));
    pkt->skb.mark = mark;
    return pkt;
  }

  std::vector<uint32_t> drain(Qdisc& q) {
    std::vector<uint32_t> marks;
    for (DequeueResult r = q.dequeue(clock.now_ns()); r.packet; r = q.dequeue(clock.now_ns())) {
      marks.push_back(r.packet->skb.mark);
      PacketPool::release(r.packet);
    }
    return marks;
  }

  PacketPool pool{PacketPoolConfig{.packets = 2048}};
  runtime::ManualClock clock{5'000'000};
  BpfQdiscEnv env{&pool, &clock};
};

TEST_F(StructOps, RefusesWhatLinuxRefusesWithTheReason) {
  EXPECT_EQ(open_error("ops_missing_destroy"),
            struct_ops_test_object("ops_missing_destroy") +
                " Qdisc_ops 'missing': no destroy program (hint: Linux requires all of enqueue, dequeue, init, reset "
                "and destroy)");
  EXPECT_NE(open_error("ops_unsupported_member").find("attach to unsupported member change of struct Qdisc_ops"),
            std::string::npos);
  EXPECT_NE(open_error("ops_bstats_in_enqueue")
                .find("enqueue program 'bstats_enqueue' calls bpf_qdisc_bstats_update (hint: Linux allows "
                      "bpf_qdisc_bstats_update only in dequeue)"),
            std::string::npos);
  // The verifier, with the source line: writes to read-only kernel fields, ...
  const std::string len = open_error("ops_writes_len");
  EXPECT_NE(len.find("section struct_ops/wlen_enqueue insn"), std::string::npos) << len;
  EXPECT_NE(len.find("(ops_writes_len.bpf.c:7): verifier: no write support to sk_buff.len (4 bytes at offset 0)"),
            std::string::npos) << len;
  EXPECT_NE(len.find("(hint: programs may write sk_buff.tstamp, qdisc_skb_cb.data only)"), std::string::npos) << len;
  // ... of skb->cb, only the qdisc_skb_cb data (pkt_len is bpfq's accounting), ...
  const std::string pkt_len = open_error("ops_writes_pkt_len");
  EXPECT_NE(pkt_len.find("(ops_writes_pkt_len.bpf.c:7): verifier: no write support to sk_buff.cb[] (4 bytes at "
                         "offset 192)"),
            std::string::npos) << pkt_len;
  // ... and unverified, the same table refuses it by its CO-RE relocation.
  BpfQdiscEnv unverified = env;
  unverified.verification = runtime::Verification::Off;
  try {
    StructOpsQdisc::open(struct_ops_test_object("ops_writes_pkt_len"), Handle::make(1, 0), unverified);
    ADD_FAILURE() << "opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("writes qdisc_skb_cb.pkt_len at ops_writes_pkt_len.bpf.c:7"), std::string::npos)
        << e.what();
  }
  // ... writes through a pointer the program may only read through (skb->sk), ...
  const std::string sock = open_error("ops_writes_sock");
  EXPECT_NE(sock.find("(ops_writes_sock.bpf.c:10): verifier: only read is supported through untrusted R"),
            std::string::npos) << sock;
  // ... a graph object or packet reference leaked, ...
  const std::string leak = open_error("ops_leaks");
  EXPECT_NE(leak.find("section struct_ops/leaky_enqueue"), std::string::npos) << leak;
  EXPECT_NE(leak.find("verifier: Unreleased reference id="), std::string::npos) << leak;
  // ... a dynptr used after its packet was dropped, ...
  const std::string dynptr = open_error("ops_dynptr");
  EXPECT_NE(dynptr.find("verifier: bpf_dynptr_read: the dynptr at fp"), std::string::npos) << dynptr;
  EXPECT_NE(dynptr.find("was invalidated when its packet was released at ops_dynptr.bpf.c:20"), std::string::npos)
      << dynptr;
  // ... a store to a lock word, ...
  const std::string lock = open_error("ops_hostile_lock");
  EXPECT_NE(lock.find("verifier: bpf_spin_lock cannot be accessed directly by load/store"), std::string::npos) << lock;
  // ... and a list of one object changed under another object's lock.
  const std::string other = open_error("ops_other_lock");
  EXPECT_NE(other.find("(ops_other_lock.bpf.c:19): verifier: bpf_list_push_back_impl needs the bpf_spin_lock of this "
                       "struct bag held"),
            std::string::npos) << other;
  EXPECT_NE(other.find("(hint: call bpf_spin_lock() on the lock of the same object (through the same pointer) first)"),
            std::string::npos) << other;
}

TEST_F(StructOps, ASeedProgramIsNotAQdiscOps) {
  try {
    StructOpsQdisc::open(bpfq::test::library_object("fifo"), Handle::make(1, 0), env);
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no SEC(\".struct_ops\") struct Qdisc_ops in the object"), std::string::npos);
  }
}

// The probe reads every field bpfq maps, writes tstamp and the cb data: built against bpfq's
// vmlinux.h and against one with other layouts, CO-RE must find the same bytes.
TEST_F(StructOps, CoReReadsBpfqsFieldsWhateverTheLayoutCompiledAgainst) {
  for (const char* variant : {"tests", "reordered"}) {
    SCOPED_TRACE(variant);
    DeviceParams device;
    device.mtu = 9000;
    auto q = StructOpsQdisc::open(struct_ops_object(variant, "ops_probe"), Handle::make(1, 0), env, device);
    q->init();
    Packet* pkt = packet(77, 300);
    pkt->skb.priority = 6;
    pkt->skb.tstamp = 123'456'789;
    const uint32_t hash = pkt->get_hash();
    ASSERT_EQ(q->enqueue(pkt, clock.now_ns()).verdict, EnqueueVerdict::Queued);
    struct Seen {
      uint64_t tstamp;
      uint32_t len, pkt_len, priority, hash, mark, protocol, limit, qlen, mtu, hard_header_len, has_sk, cb0;
    } seen;
    q->object().get_global("seen", std::span<uint8_t>(reinterpret_cast<uint8_t*>(&seen), sizeof seen));
    EXPECT_EQ(seen.tstamp, 123'456'789u);
    EXPECT_EQ(seen.len, 300u);
    EXPECT_EQ(seen.pkt_len, 300u);  // qdisc_skb_cb(skb)->pkt_len: qdisc_pkt_len
    EXPECT_EQ(seen.priority, 6u);
    EXPECT_EQ(seen.hash, hash);
    EXPECT_EQ(seen.mark, 77u);
    EXPECT_EQ(seen.protocol, 0x0008u);  // ETH_P_IP in network byte order
    EXPECT_EQ(seen.limit, 1000u);       // tx_queue_len: the default limit
    EXPECT_EQ(seen.qlen, 0u);
    EXPECT_EQ(seen.mtu, 9000u);
    EXPECT_EQ(seen.hard_header_len, 14u);
    EXPECT_EQ(seen.has_sk, 0u);
    EXPECT_EQ(seen.cb0, 0x5au);
    DequeueResult r = q->dequeue(clock.now_ns());
    ASSERT_NE(r.packet, nullptr);
    EXPECT_EQ(r.packet->skb.tstamp, 123'456'789u + 1000);  // the program's write reached the packet
    EXPECT_EQ(r.packet->kernel.cb[8], 0x5a);
    PacketPool::release(r.packet);
    expect_clean(*q);
  }
}

TEST_F(StructOps, LeakedObjectsAndReferencesAreCountedNeverLost) {
  auto q = open_unverified(struct_ops_test_object("ops_leaks"));
  for (uint32_t mark = 0; mark < 30; ++mark) q->enqueue(packet(mark), clock.now_ns());
  const StructOpsCounters& c = q->counters();
  EXPECT_EQ(c.leaked_objects, 10u);  // marks 1, 4, …: the node, with the packet in it
  EXPECT_EQ(c.leaked_refs, 10u);     // marks 2, 5, …: the packet itself
  EXPECT_EQ(q->stats().drops(DropReason::LeakedReference), 10u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByMap), 10u);  // freed with its leaked node
  EXPECT_EQ(q->qlen(), 10u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27}));
  EXPECT_EQ(q->graph()->live_objects(), 0u);
  EXPECT_EQ(pool.counters().in_use, 0u);
}

TEST_F(StructOps, ADynptrReadsThePacketAndEndsTheRunOnceThePacketIsDropped) {
  auto q = open_unverified(struct_ops_test_object("ops_dynptr"));
  ASSERT_EQ(q->enqueue(packet(1), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->object().get_global<int64_t>("read_ret"), 0);
  EXPECT_EQ(q->object().get_global<uint16_t>("eth_type"), 0x0800);  // bpf_dynptr_read
  EXPECT_EQ(q->object().get_global<uint8_t>("ip_proto"), 17);       // bpf_dynptr_slice: UDP
  EXPECT_EQ(q->counters().faults, 0u);

  // mark 99: dropped, then read through its dynptr.
  EXPECT_EQ(q->enqueue(packet(99), clock.now_ns()).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->counters().faults, 1u);
  EXPECT_NE(q->counters().last_fault.find("bpf_dynptr_read: the dynptr's packet was dropped or stored away (a dynptr "
                                          "used after its packet was released)"),
            std::string::npos)
      << q->counters().last_fault;
  EXPECT_NE(q->counters().last_fault.find("ops_dynptr.bpf.c:"), std::string::npos) << q->counters().last_fault;
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(q->stats().dropped, 1u);
  // The run that faulted left nothing locked or held: the qdisc goes on.
  ASSERT_EQ(q->enqueue(packet(2), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
}

TEST_F(StructOps, ALockWordTheProgramOverwroteEndsTheRunInsteadOfHangingBpfq) {
  auto q = open_unverified(struct_ops_test_object("ops_hostile_lock"));
  ASSERT_EQ(q->enqueue(packet(1), clock.now_ns()).verdict, EnqueueVerdict::Queued);
  // mark 7: the program scribbles on its lock word, then takes the lock.
  EXPECT_EQ(q->enqueue(packet(7), clock.now_ns()).verdict, EnqueueVerdict::Dropped);
  EXPECT_EQ(q->counters().faults, 1u);
  EXPECT_NE(q->counters().last_fault.find("bpf_spin_lock: the lock stays taken"), std::string::npos)
      << q->counters().last_fault;
  EXPECT_EQ(q->counters().leaked_objects, 1u);  // the node it allocated before the lock
  EXPECT_TRUE(q->stats().conserved());
  ASSERT_EQ(q->enqueue(packet(2), clock.now_ns()).verdict, EnqueueVerdict::Queued);  // the lock was released
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 2}));
}

class StructOpsFifo : public StructOps, public ::testing::WithParamInterface<const char*> {};

// Every op of the library's struct_ops programs is proved safe at load, from each build, and runs
// compiled: fq and fq_codel keep their packets in lists and trees inside objects, under the
// objects' own locks.
TEST_P(StructOpsFifo, EveryLibraryProgramIsVerifiedAndRunsOnTheDefaultBackend) {
  for (const char* name : {"fifo", "fq", "fq_codel"}) {
    const std::string path = struct_ops_object(GetParam(), name);
    if (!std::filesystem::exists(path)) {  // (host-clang14 builds the fifo only)
      EXPECT_STRNE(name, "fifo") << "not built: " << path;
      continue;
    }
    auto q = open(path);
    ASSERT_EQ(q->object().programs().size(), 5u) << name;
    for (const runtime::ProgramInfo& p : q->object().programs()) {
      EXPECT_TRUE(p.verified) << name << " " << p.name << ": " << p.unverified;
      EXPECT_EQ(p.backend, runtime::default_backend()) << name << " " << p.name;
    }
  }
}

TEST_P(StructOpsFifo, KeepsOrderDropsAtTheLimitAndResets) {
  const std::string path = struct_ops_object(GetParam(), "fifo");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "not built: " << path;
  auto q = open(path);
  EXPECT_EQ(q->id(), "bpf_fifo");
  EXPECT_EQ(q->view().limit, 1000u);  // set by its init program
  for (uint32_t mark = 1; mark <= 1005; ++mark) q->enqueue(packet(mark), clock.now_ns());
  EXPECT_EQ(q->qlen(), 1000u);
  EXPECT_EQ(q->stats().dropped, 5u);
  EXPECT_EQ(q->view().qstats.drops, 5u);  // the program's own count agrees
  EXPECT_EQ(q->view().q.qlen, 1000u);
  std::vector<uint32_t> first;
  for (int i = 0; i < 3; ++i) {
    DequeueResult r = q->dequeue(clock.now_ns());
    ASSERT_NE(r.packet, nullptr);
    first.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(first, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(q->program_packets(), 3u);  // bpf_qdisc_bstats_update
  q->reset();                           // the reset program frees every packet
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 997u);
  EXPECT_EQ(q->counters().reset_leftovers, 0u);
  EXPECT_EQ(q->graph()->live_objects(), 0u);
  q->enqueue(packet(2000), clock.now_ns());
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2000}));
  expect_clean(*q);
  q.reset();
  EXPECT_EQ(pool.counters().in_use, 0u);
}

INSTANTIATE_TEST_SUITE_P(Builds, StructOpsFifo, ::testing::Values("bpfq", "host", "host-clang14"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace bpfq::sched::test
