#pragma once
// What `qdisc show`, `class show` and `filter show` print, captured at one moment: a value, so
// that the simulator can keep the state at the end of a run while the live qdiscs drain.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/qdisc_stats.hpp>

namespace bpfq::cli {

struct QdiscRow {
  std::string dev;
  std::string kind;
  sched::Handle handle;
  sched::Handle parent;
  bool is_default = false;  // a class's pfifo nobody asked for
  std::string options;      // as tc prints them: "limit 100p", "obj prio.bpf.o bands 3"
  nlohmann::json options_json = nlohmann::json::object();
  sched::QdiscStats stats;
  // bpf qdiscs: what the engine caught (program runs, faults, leaked references).
  std::optional<uint64_t> program_runs, program_faults, leaked_refs;
};

struct ClassRow {
  std::string dev;
  sched::Handle classid;
  sched::Handle parent;
  sched::Handle leaf;
  sched::QdiscStats stats;  // the leaf qdisc's
};

struct FilterRow {
  std::string dev;
  sched::Handle parent;
  std::string protocol;
  uint32_t prio = 0;
  uint32_t chain = 0;
  std::string kind;
  std::string options;  // the words after the kind
};

struct SetupSnapshot {
  uint64_t at_ns = 0;  // virtual time it was taken at
  std::vector<QdiscRow> qdiscs;
  std::vector<ClassRow> classes;
  std::vector<FilterRow> filters;
};

}  // namespace bpfq::cli
