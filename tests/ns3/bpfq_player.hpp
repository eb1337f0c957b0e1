#pragma once
// The bpfq side of a differential test: plays a Script on a bpfq Qdisc (a BpfQdisc running a
// progs/*.bpf.o or a native qdisc) on a ManualClock, with real frames from packet_builder.
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

#include "script.hpp"

namespace bpfq::ns3diff {

// The frame bpfq sees for spec: skb->mark = id, skb->priority = priority. nullptr if the pool
// is exhausted.
sched::Packet* build_packet(sched::PacketPool& pool, const PacketSpec& spec);

// Plays script on q. Ops run at their times (the clock is set to each); a dequeue that returns
// Throttled arms a watchdog that runs the qdisc at that time as a ready device would (as
// Linux's qdisc_watchdog and ns-3's own timer do). Totals are taken at the end; then q is reset
// so every packet returns to the pool.
Trace play_bpfq(sched::Qdisc& q, sched::PacketPool& pool, runtime::ManualClock& clock,
                const Script& script);

}  // namespace bpfq::ns3diff
