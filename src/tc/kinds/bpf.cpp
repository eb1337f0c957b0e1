// `bpf`: the seed's sch_bpf, a qdisc whose enqueue and dequeue are eBPF programs
// (sched::BpfQdisc). Written `bpf obj FILE.bpf.o [NAME VALUE]...`, as FILE.bpf.o on its own, or
// by the name of a library program (`tbf rate 5mbit ...`): its NAME VALUE pairs are the
// program's parameters (program_params.hpp). Classful: PASS hands packets to its classes.
// An object holding a struct_ops Qdisc_ops (Linux 6.16's API) is a sched::StructOpsQdisc, also
// named by its id once registered (`struct_ops register FILE`, then `qdisc add … bpf_fifo`).
#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>
#include <bpfq/tc/program_params.hpp>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

void parse_program_param(TcLine& line, QdiscSpec& spec) {
  const std::string name = line.take("a parameter name");
  if (looks_like_value(name)) line.bad_previous("a parameter name (a global variable of the program)");
  ProgramParam p{name, {}, ParamValue{1, ValueKind::Integer}};
  if (const std::string* next = line.peek(); next && looks_like_value(*next)) {
    p.token = line.take("a value");
    p.value = parse_param_value(p.token, line.where());
  }
  spec.params.push_back(std::move(p));
}

void parse_program_params(TcLine& line, QdiscSpec& spec) {
  while (!line.done()) parse_program_param(line, spec);
}

namespace {

void parse_bpf(TcLine& line, QdiscSpec& spec) {
  if (spec.object.empty()) {  // `bpf obj FILE`; a library name or FILE.bpf.o named it already
    line.expect("obj");
    spec.object = line.take("an eBPF object file (FILE.bpf.o)");
  }
  if (!parse_library_qdisc_options(spec.name, line, spec)) parse_program_params(line, spec);
}

// A program that keeps a queue per TX queue of its device (the seed's way of being multi-queue,
// progs/mq_rbtree.bpf.c) learns how many there are from a global `num_tx_queues`, and finds one
// inner map per queue in an ARRAY_OF_MAPS named `tx_queues`: programs cannot create maps, so
// the setup installs them (slots 0 .. num_tx_queues-1), as user space does for the seed.
void give_tx_queues(runtime::Object& object, uint32_t num_tx_queues, const std::string& path) {
  for (const loader::GlobalVariable& var : object.spec().globals)
    if (var.name == "num_tx_queues" && var.size == sizeof(uint32_t)) object.set_global("num_tx_queues", num_tx_queues);
  for (const maps::MapSpec& m : object.spec().maps) {
    if (m.name != "tx_queues" || m.type != static_cast<uint32_t>(maps::MapType::ArrayOfMaps)) continue;
    if (m.max_entries < num_tx_queues)
      throw Error("map tx_queues has " + std::to_string(m.max_entries) + " slots, the device " +
                      std::to_string(num_tx_queues) + " TX queues",
                  path, "give tx_queues max_entries of at least numtxqueues");
    auto& outer = dynamic_cast<maps::MapOfMaps&>(object.map("tx_queues"));
    for (uint32_t i = 0; i < num_tx_queues; ++i)
      if (outer.set_inner(&i, object.create_inner_map("tx_queues")) != 0)
        throw Error("cannot install the inner map of TX queue " + std::to_string(i) + " in tx_queues", path);
  }
}

std::unique_ptr<sched::Qdisc> create_bpf(const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle,
                                         const BeforeInit& before_init) {
  sched::BpfQdiscEnv env{&site.pool, &site.clock, nullptr, nullptr, site.pins};
  env.verification = site.verification;
  env.prng_seed = runtime::derive_seed(site.seed, site.dev + " " + handle.to_string());
  const std::vector<uint8_t> bytes = loader::read_object_file(spec.object);
  if (loader::declares_struct_ops(bytes, spec.object)) {
    if (!site.parent.is_root() && !site.tx_queue)
      throw Error("BPF qdisc only supported on root or mq", spec.object,
                  "a struct_ops qdisc (Linux's bpf qdisc) goes at the root of a device");
    auto q = std::make_unique<sched::StructOpsQdisc>(
        runtime::Object::open(bytes, spec.object, sched::struct_ops_object_options(env)), handle, env, site.device);
    for (const ProgramParam& p : spec.params) set_parameter(q->object(), p, spec.object);
    q->init();
    return q;
  }
  auto q = std::make_unique<sched::BpfQdisc>(
      runtime::Object::open(bytes, spec.object, sched::bpf_qdisc_object_options(env)), handle, env);
  give_tx_queues(q->object(), site.device.num_tx_queues, spec.object);
  for (const ProgramParam& p : spec.params) set_parameter(q->object(), p, spec.object);
  if (before_init) before_init(*q);
  q->init();
  return q;
}

// obj FILE, then every parameter the line set, with the value the program holds now (both
// kinds of bpf qdisc).
void dump_object(runtime::Object& object, const std::string& path, const QdiscSpec* spec, QdiscRow& row) {
  row.options = "obj " + path;
  row.options_json["obj"] = path;
  row.options_json["params"] = nlohmann::json::object();
  if (spec)
    for (const ProgramParam& p : spec->params) {
      const loader::GlobalVariable* var = param_global(object, p);
      const uint64_t value = parameter_value(object, *var);
      const std::optional<ValueKind> unit = parameter_unit(*var);
      row.options += " " + var->name + " " + (unit ? format_value(value, *unit) : std::to_string(value));
      row.options_json["params"][var->name] = value;
    }
}

void dump_struct_ops(sched::StructOpsQdisc& q, const QdiscSpec* spec, QdiscRow& row) {
  dump_object(q.object(), q.path(), spec, row);
  row.options += " id " + q.id();
  row.options_json["struct_ops"] = q.id();
  // What the program itself keeps in struct Qdisc (Linux's tc -s), beside bpfq's accounting.
  const sched::KernelQdisc& view = q.view();
  row.options_json["program_stats"] = {{"qlen", view.q.qlen},
                                       {"backlog", view.qstats.backlog},
                                       {"drops", view.qstats.drops},
                                       {"overlimits", view.qstats.overlimits},
                                       {"sent_bytes", q.program_bytes()},
                                       {"sent_packets", q.program_packets()}};
  const sched::StructOpsCounters& c = q.counters();
  row.program_runs = c.runs;
  row.program_faults = c.faults;
  row.leaked_refs = c.leaked_refs;
  row.leaked_objects = c.leaked_objects;
  row.bad_dequeues = c.bad_dequeues;
  row.last_fault = c.last_fault;
}

void dump_bpf(sched::Qdisc& q, const QdiscSpec* spec, QdiscRow& row) {
  if (auto* ops = dynamic_cast<sched::StructOpsQdisc*>(&q)) return dump_struct_ops(*ops, spec, row);
  auto& bpf = static_cast<sched::BpfQdisc&>(q);
  dump_object(bpf.object(), bpf.path(), spec, row);
  const sched::BpfQdiscCounters& c = bpf.counters();
  row.program_runs = c.runs;
  row.program_faults = c.faults;
  row.leaked_refs = c.leaked_refs;
  row.bad_dequeues = c.bad_dequeues;
  row.last_fault = c.last_fault;
  for (const runtime::ProgramInfo& p : bpf.object().programs())
    if (!p.unverified.empty()) row.unverified.push_back(p.unverified);
}

}  // namespace

const QdiscKind kBpf{"bpf", "bpf obj FILE.bpf.o [NAME VALUE]...   (or FILE.bpf.o [NAME VALUE]...)", true, parse_bpf,
                     create_bpf, dump_bpf, false};

}  // namespace bpfq::tc::kinds
