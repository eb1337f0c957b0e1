#pragma once
// Shared by the engine tests: object paths, packets tagged by mark, a qdisc on a virtual clock.
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/trace.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/u32_filter.hpp>

#include "support/test_objects.hpp"

namespace bpfq::sched::test {

using bpfq::test::library_object;
using bpfq::test::test_object;

// A packet that left a qdisc: its mark and the time it was dequeued.
struct Departure {
  uint32_t mark;
  uint64_t at_ns;
  bool operator==(const Departure&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Departure& d) {
  return os << "{mark " << d.mark << " at " << d.at_ns << "}";
}

// Dequeues from `from` (a Qdisc or a Device) at now_ns until it has nothing, returning the marks
// in order; if `conserved` is given, its stats must stay conserved after every dequeue.
template <class Source>
std::vector<uint32_t> drain_marks(Source& from, uint64_t now_ns, const Qdisc* conserved = nullptr) {
  std::vector<uint32_t> marks;
  for (;;) {
    const DequeueResult r = from.dequeue(now_ns);
    if (conserved) {
      EXPECT_TRUE(conserved->stats().conserved());
    }
    if (r.kind != DequeueResult::Kind::Packet) break;
    marks.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  return marks;
}

// A u32 filter sending packets to destination port `port` to class `classid` ("1:2").
inline std::unique_ptr<U32Filter> dport_filter(const char* port, const char* classid) {
  return U32Filter::parse({"match", "ip", "dport", port, "0xffff", "classid", classid});
}

// Dequeues once from a qdisc and from its native twin at time 0, which must agree on the
// outcome; the packets' marks go to sent and sent_by_twin.
inline void dequeue_twins(Qdisc& q, Qdisc& twin, std::vector<uint32_t>& sent, std::vector<uint32_t>& sent_by_twin) {
  DequeueResult a = q.dequeue(0), b = twin.dequeue(0);
  ASSERT_EQ(a.kind, b.kind);
  if (a.kind == DequeueResult::Kind::Packet) {
    sent.push_back(a.packet->skb.mark);
    sent_by_twin.push_back(b.packet->skb.mark);
    PacketPool::release(a.packet);
    PacketPool::release(b.packet);
  }
}

// One dequeue as a plain model of a discipline predicts it: a packet (by mark), THROTTLE until a
// time, or nothing.
struct ModelStep {
  bool packet = false;
  uint32_t mark = 0;
  uint64_t until = 0;  // throttled until (0: not throttled)
};

// A dequeue must be what the model predicted (a packet it gave is released); `where` names the
// step in failures.
inline void expect_model_step(const DequeueResult& got, const ModelStep& want, const std::string& where) {
  ASSERT_EQ(got.kind == DequeueResult::Kind::Packet, want.packet) << where;
  if (want.packet) {
    ASSERT_EQ(got.packet->skb.mark, want.mark) << where;
    PacketPool::release(got.packet);
  } else if (want.until) {
    ASSERT_EQ(got.kind, DequeueResult::Kind::Throttled) << where;
    ASSERT_EQ(got.throttled_until_ns, want.until) << where;
  } else {
    ASSERT_EQ(got.kind, DequeueResult::Kind::Empty) << where;
  }
}

struct EngineFixture {
  PacketPool pool{PacketPoolConfig{.packets = 512}};
  runtime::ManualClock clock{1'000'000};
  runtime::CollectingTraceSink trace;
  BpfQdiscEnv env{&pool, &clock, nullptr, &trace};

  std::unique_ptr<BpfQdisc> open(const std::string& path) {
    auto q = BpfQdisc::open(path, Handle::make(1, 0), env);
    return q;
  }

  // A test program the verifier refuses on purpose (out-of-range verdicts, leaks, faults): it
  // runs checked, to test what the engine does at run time.
  std::unique_ptr<BpfQdisc> open_unverified(const std::string& path) {
    BpfQdiscEnv unverified = env;
    unverified.verification = runtime::Verification::RunUnverifiedChecked;
    return BpfQdisc::open(path, Handle::make(1, 0), unverified);
  }

  // open(), the globals set, then init().
  template <class T>
  std::unique_ptr<BpfQdisc> open_init(const std::string& path,
                                      std::initializer_list<std::pair<const char*, T>> globals) {
    auto q = open(path);
    for (const auto& [name, value] : globals) q->object().set_global(name, value);
    q->init();
    return q;
  }

  // A classful library program (htb, hfsc) with `defcls` set and a pfifo of child_limit under each
  // class, not yet initialised: the caller fills the class_NAME maps (set_class_param), then
  // calls init(), as the tc model does.
  // Spec: anything with a `classid`.
  template <class Spec>
  std::unique_ptr<BpfQdisc> open_with_classes(const std::string& name, uint32_t defcls, const std::vector<Spec>& classes,
                                              uint32_t child_limit) {
    auto q = open(library_object(name));
    q->object().set_global("defcls", defcls);
    for (const Spec& c : classes) q->add_class(Handle(c.classid), std::make_unique<PfifoQdisc>(child_limit));
    return q;
  }

  template <class T>
  static void set_class_param(BpfQdisc& q, const std::string& map, uint32_t classid, T value) {
    ASSERT_EQ(q.object().map(map).update(&classid, &value, BPF_ANY), 0) << map;
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

  // A UDP/IPv4 frame of frame_len bytes with the given ECN codepoint (0 Not-ECT, 2 ECT(0)).
  Packet* ecn_packet(uint32_t frame_len, uint32_t mark, uint8_t ecn) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.ecn = ecn;
    return frame(spec, mark);
  }

  // A 100-byte TCP/IPv4 frame to dport, tagged by mark and priority.
  Packet* tcp_packet(uint16_t dport, uint32_t mark, uint32_t priority) {
    FrameSpec spec;
    spec.l4 = L4::Tcp;
    spec.dport = dport;
    spec.payload_len = 46;
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

  // The end of a test: expect_clean, then the qdisc destroyed and every packet back in the pool.
  void expect_clean_end(std::unique_ptr<BpfQdisc>& q) {
    expect_clean(*q);
    q.reset();
    EXPECT_EQ(pool.in_use(), 0u);
  }

  // Dequeues one packet at the clock's time and returns its mark (fails the test if there is
  // none, returning ~0u).
  uint32_t dequeue_mark(Qdisc& q) {
    DequeueResult r = q.dequeue(clock.now_ns());
    EXPECT_EQ(r.kind, DequeueResult::Kind::Packet);
    if (r.kind != DequeueResult::Kind::Packet) return ~0u;
    const uint32_t mark = r.packet->skb.mark;
    PacketPool::release(r.packet);
    return mark;
  }

  // Dequeues until the qdisc has nothing, returning the marks in order.
  std::vector<uint32_t> drain(Qdisc& q) { return drain_marks(q, clock.now_ns(), &q); }

  // Dequeues until empty (at most max_steps dequeues); on THROTTLE moves the clock to the
  // reported time (the watchdog's), counting it in *throttles when given.
  std::vector<Departure> run_until_empty(BpfQdisc& q, int max_steps, uint64_t* throttles = nullptr) {
    std::vector<Departure> out;
    for (int guard = 0; guard < max_steps; ++guard) {
      const uint64_t now = clock.now_ns();
      DequeueResult r = q.dequeue(now);
      EXPECT_TRUE(q.stats().conserved());
      if (r.kind == DequeueResult::Kind::Packet) {
        out.push_back({r.packet->skb.mark, now});
        PacketPool::release(r.packet);
      } else if (r.kind == DequeueResult::Kind::Throttled) {
        EXPECT_GT(r.throttled_until_ns, now);
        EXPECT_EQ(q.watchdog_ns(), r.throttled_until_ns);
        if (throttles) ++*throttles;
        clock.set(r.throttled_until_ns);
      } else {
        break;
      }
    }
    return out;
  }

  // The end of a scripted run against a model: clean so far, then, after `idle_ns`, everything
  // left is sent and the qdisc ends empty and clean.
  void finish_scripted_run(std::unique_ptr<BpfQdisc>& q, uint64_t idle_ns) {
    expect_clean(*q);
    clock.advance(idle_ns);
    run_until_empty(*q, 5000);
    EXPECT_EQ(q->qlen(), 0u);
    expect_clean_end(q);
  }

  // Every line the programs traced, concatenated.
  std::string trace_text() const {
    std::string all;
    for (const std::string& line : trace.lines()) all += line;
    return all;
  }
};

}  // namespace bpfq::sched::test
