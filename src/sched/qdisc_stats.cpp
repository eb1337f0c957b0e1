#include <bpfq/sched/qdisc_stats.hpp>

#include <numeric>

namespace bpfq::sched {

std::string_view drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::QueueFull: return "queue_full";
    case DropReason::Congestion: return "congestion";
    case DropReason::ProgramVerdict: return "program_verdict";
    case DropReason::OutOfRangeVerdict: return "out_of_range_verdict";
    case DropReason::LeakedReference: return "leaked_reference";
    case DropReason::Reset: return "reset";
    case DropReason::Bypass: return "bypass";
    case DropReason::Stolen: return "stolen";
    case DropReason::NoClass: return "no_class";
    case DropReason::NotStored: return "not_stored";
    case DropReason::ReleasedByProgram: return "released_by_program";
    case DropReason::ReleasedByMap: return "released_by_map";
    case DropReason::ProgramFault: return "program_fault";
    case DropReason::Count: break;
  }
  return "unknown";
}

bool QdiscStats::conserved() const {
  const uint64_t by_reason = std::accumulate(drops_by_reason.begin(), drops_by_reason.end(), uint64_t{0});
  return by_reason == dropped && enqueued_packets == sent_packets + dropped + qlen &&
         enqueued_bytes == sent_bytes + dropped_bytes + backlog;
}

std::string QdiscStats::to_tc_string() const {
  std::string s = " Sent " + std::to_string(sent_bytes) + " bytes " + std::to_string(sent_packets) +
                  " pkt (dropped " + std::to_string(tc_dropped()) + ", overlimits " +
                  std::to_string(overlimits) + " requeues " + std::to_string(requeues) + ")\n";
  s += " backlog " + std::to_string(backlog) + "b " + std::to_string(qlen) + "p requeues " +
       std::to_string(requeues);
  return s;
}

}  // namespace bpfq::sched
