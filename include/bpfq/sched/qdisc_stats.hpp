#pragma once
// A qdisc's counters, as `tc -s qdisc` shows them, plus what packet conservation needs:
// every packet offered to enqueue() is sent (dequeued), dropped (with one reason) or queued.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bpfq::sched {

// Why a packet left a qdisc without being sent. Every packet that does so counts under exactly
// one reason; `dropped` is their sum.
enum class DropReason : uint8_t {
  QueueFull,          // tail drop at the limit (qdisc_drop)
  Congestion,         // dropped by an AQM or a head drop to make room (NET_XMIT_CN paths)
  ProgramVerdict,     // an eBPF program returned DROP
  OutOfRangeVerdict,  // an eBPF program returned a value that is no verdict
  LeakedReference,    // a program acquired a reference and lost it; the runtime released it
  Reset,              // released by reset() or destruction (Linux does not count these)
  Bypass,             // freed under a BYPASS verdict (Linux: success, not counted as a drop)
  Stolen,             // consumed by a STOLEN verdict (Linux: success, not counted as a drop)
  NoClass,            // classful: no class or child for the packet
  NotStored,          // an enqueue program said QUEUED but kept no reference to the packet
  ReleasedByProgram,  // a program released the last reference of a queued packet
  ReleasedByMap,      // a map released it (element deleted, overwritten, popped, cleared)
  ProgramFault,       // the program faulted (checked mode) while handling the packet
  Count,
};

std::string_view drop_reason_name(DropReason reason);

struct QdiscStats {
  // Offered to enqueue().
  uint64_t enqueued_packets = 0;
  uint64_t enqueued_bytes = 0;
  // Handed out by dequeue() and not requeued ("Sent N bytes M pkt").
  uint64_t sent_packets = 0;
  uint64_t sent_bytes = 0;
  // Left without being sent, by reason.
  uint64_t dropped = 0;
  uint64_t dropped_bytes = 0;
  std::array<uint64_t, static_cast<size_t>(DropReason::Count)> drops_by_reason{};
  uint64_t overlimits = 0;  // throttled / over rate, as the qdisc defines it
  uint64_t requeues = 0;
  // Currently queued (including a peeked or requeued packet held by the qdisc).
  uint32_t qlen = 0;
  uint64_t backlog = 0;  // bytes

  uint64_t drops(DropReason reason) const { return drops_by_reason[static_cast<size_t>(reason)]; }
  // `tc -s` "dropped": what Linux would count (not Reset, Bypass or Stolen).
  uint64_t tc_dropped() const {
    return dropped - drops(DropReason::Reset) - drops(DropReason::Bypass) - drops(DropReason::Stolen);
  }
  // enqueued == sent + dropped + queued, in packets and in bytes, and the reasons add up.
  bool conserved() const;
  // " Sent 1514 bytes 1 pkt (dropped 0, overlimits 0 requeues 0)\n backlog 0b 0p requeues 0"
  std::string to_tc_string() const;
};

}  // namespace bpfq::sched
