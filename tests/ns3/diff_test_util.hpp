#pragma once
// Shared by the differential tests: a packet pool and virtual clock for the bpfq side, opening
// library programs with parameters, and the check that both sides tell the same story.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/trace.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>

#include "bpfq_player.hpp"
#include "ns3_oracle.hpp"
#include "script.hpp"
#include "support/test_objects.hpp"

namespace bpfq::ns3diff::test {

using bpfq::test::library_object;

struct DiffFixture {
  sched::PacketPool pool{sched::PacketPoolConfig{.packets = 4096}};
  runtime::ManualClock clock{0};
  runtime::CollectingTraceSink trace_sink;
  sched::BpfQdiscEnv env{&pool, &clock, nullptr, &trace_sink};

  // progs/<name>.bpf.o as root qdisc 1:, its globals set by set_globals(object), then init() at
  // time 0, where every script (and ns-3's simulation) starts.
  template <class SetGlobals>
  std::unique_ptr<sched::BpfQdisc> open_program(const std::string& name, SetGlobals set_globals) {
    auto q = sched::BpfQdisc::open(library_object(name), sched::Handle::make(1, 0), env);
    set_globals(q->object());
    clock.set(0);
    q->init();
    return q;
  }
  std::unique_ptr<sched::BpfQdisc> open_program(const std::string& name) {
    return open_program(name, [](runtime::Object&) {});
  }

  // Plays script on q and on the ns-3 queue disc spec describes; expects every event and the
  // totals to agree, packets conserved and returned to the pool. Prints the agreement count
  // ("<label>: N events compared, N agree") and returns the bpfq trace for further checks.
  Trace expect_agreement(const std::string& label, sched::Qdisc& q, const Script& script,
                         const Ns3QdiscSpec& spec) {
    Trace ours = play_bpfq(q, pool, clock, script);
    Trace theirs = play_ns3(spec, script);
    Comparison c = compare(ours, theirs);
    std::cout << "[differential] " << label << ": " << script.size() << " ops, " << c.compared
              << " events compared, " << c.agreed << " agree; bpfq " << to_string(ours.totals)
              << ", " << ours.marked() << " CE\n";
    ::testing::Test::RecordProperty(label + "_compared", static_cast<int>(c.compared));
    ::testing::Test::RecordProperty(label + "_agreed", static_cast<int>(c.agreed));
    EXPECT_TRUE(c.all_agree()) << label << ": " << c.first_difference;
    // BPFQ_NS3_DUMP=N prints the first N events of both sides, to see where they part.
    if (const char* dump = std::getenv("BPFQ_NS3_DUMP")) {
      size_t n = std::min<size_t>(std::strtoul(dump, nullptr, 10), c.compared);
      for (size_t i = 0; i < n; ++i)
        std::cout << "  " << i << ": bpfq " << (i < ours.events.size() ? to_string(ours.events[i]) : "-")
                  << " | ns-3 " << (i < theirs.events.size() ? to_string(theirs.events[i]) : "-") << "\n";
    }
    EXPECT_EQ(ours.totals, theirs.totals)
        << label << ": bpfq " << to_string(ours.totals) << " / ns-3 " << to_string(theirs.totals);
    EXPECT_EQ(ours.marked(), theirs.marked()) << label;
    EXPECT_TRUE(q.stats().conserved()) << label;
    if (auto* bpf = dynamic_cast<sched::BpfQdisc*>(&q)) {
      EXPECT_EQ(bpf->counters().faults, 0u) << label << ": " << bpf->counters().last_fault;
      EXPECT_EQ(bpf->counters().leaked_refs, 0u) << label;
    }
    EXPECT_EQ(pool.in_use(), 0u) << label;
    return ours;
  }
};

// Events of one kind, for assertions on what a script made happen.
inline size_t count_events(const Trace& t, Event::Kind kind) {
  size_t n = 0;
  for (const Event& e : t.events) n += e.kind == kind;
  return n;
}
// The ids of Sent events in order.
inline std::vector<uint32_t> sent_ids(const Trace& t) {
  std::vector<uint32_t> ids;
  for (const Event& e : t.events)
    if (e.kind == Event::Kind::Sent) ids.push_back(e.id);
  return ids;
}

}  // namespace bpfq::ns3diff::test
