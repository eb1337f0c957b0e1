#pragma once
// What `qdisc show`, `class show` and `filter show` print, captured at one moment: a value, so
// that the simulator can keep the state at the end of a run while the live qdiscs drain.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bpfq/sched/device.hpp>
#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/qdisc_stats.hpp>

namespace bpfq::tc {

struct QdiscRow {
  std::string dev;
  std::string kind;
  sched::Handle handle;
  sched::Handle parent;
  bool is_default = false;  // a class's pfifo nobody asked for
  std::string options;      // as tc prints them: "limit 100p", "obj prio.bpf.o bands 3"
  nlohmann::json options_json = nlohmann::json::object();
  sched::QdiscStats stats;
  // bpf qdiscs: what the engine caught (program runs, faults, leaked references, dequeues of
  // packets that were not queued here) and the last fault's message with its source line.
  std::optional<uint64_t> program_runs, program_faults, leaked_refs, bad_dequeues;
  uint64_t leaked_objects = 0;  // struct_ops qdiscs: graph objects a run lost, freed by bpfq
  std::string last_fault;
  // Programs the verifier refused that run anyway, checked (sim --unverified): its reasons.
  std::vector<std::string> unverified;
};

struct ClassRow {
  std::string dev;
  sched::Handle classid;
  sched::Handle parent;
  sched::Handle leaf;
  sched::QdiscStats stats;  // the leaf qdisc's
  std::string kind;         // the parent qdisc's name: "drr", "bpf"
  std::string options;      // its parameters, as held in the program's class_NAME maps
  nlohmann::json options_json = nlohmann::json::object();
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

struct DeviceRow {
  std::string dev;
  sched::DeviceStats stats;  // clsact egress verdicts and faults, drops before any qdisc
};

struct SetupSnapshot {
  uint64_t at_ns = 0;  // virtual time it was taken at
  std::vector<DeviceRow> devices;
  std::vector<QdiscRow> qdiscs;
  std::vector<ClassRow> classes;
  std::vector<FilterRow> filters;
};

}  // namespace bpfq::tc
