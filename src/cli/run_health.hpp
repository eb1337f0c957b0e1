#pragma once
// What went wrong in a run (simulated or live), from every program of the setup and the packet
// pool: printed in the text output and the JSON of `bpfq sim` and `bpfq live`.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include <bpfq/tc/setup_snapshot.hpp>

namespace bpfq::cli {

struct RunHealth {
  uint64_t faults = 0;            // program runs that faulted (qdisc and clsact programs)
  uint64_t leaked_refs = 0;       // references programs lost, released by the engine
  uint64_t leaked_objects = 0;    // graph objects struct_ops programs lost, freed by the engine
  uint64_t bad_dequeues = 0;      // dequeue programs handing out packets they did not hold
  uint64_t bad_verdicts = 0;      // packets dropped for a verdict out of range
  uint64_t pool_exhausted = 0;    // packets not built or received: the packet pool was empty
  uint64_t unverified = 0;        // programs the verifier refused, run checked (--unverified)
  std::string last_fault;         // the last fault's message with its source line

  // The programs did nothing wrong (a run that is not makes `bpfq sim` exit 1).
  bool programs_clean() const { return faults + leaked_refs + leaked_objects + bad_dequeues + bad_verdicts == 0; }
  bool clean() const { return programs_clean() && pool_exhausted == 0 && unverified == 0; }
};

// end: the setup after the final drain (its counters include what the drain ran).
RunHealth run_health(const tc::SetupSnapshot& end, uint64_t pool_exhausted);
// "3 program faults, 1 leaked references; last fault: ..." (empty when clean).
std::string health_text(const RunHealth& h);
nlohmann::json health_json(const RunHealth& h);

}  // namespace bpfq::cli
