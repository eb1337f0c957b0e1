#pragma once
// What the standard helpers need from the embedder for one run: the clock, the random
// generator and the trace sink. Hand it to a run through RunOptions::user:
//
//   runtime::RunEnv env{&clock, &prng, &trace};
//   prog.run(&ctx, sizeof ctx, runtime::run_options(env));
//
// RunOptions::user must be null (every field takes its default) or point to a RunEnv. An
// embedder that needs more per-run state (the qdisc, the packet) derives from RunEnv and still
// passes the RunEnv* (run_options() does the conversion), then static_casts back in its own
// helpers.
#include <span>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/runtime/trace.hpp>

namespace bpfq::runtime {

class GraphHeap;

struct RunEnv {
  const Clock* clock = nullptr;  // null: a process-wide MonotonicClock
  Prng* prng = nullptr;          // null: a per-thread Prng seeded with 0
  TraceSink* trace = nullptr;    // null: a StderrTraceSink
  // The objects of graph kfuncs (bpf_obj_new, lists, rbtrees): Object::graph_heap() of the
  // program's object. Null: those kfuncs fail the run.
  GraphHeap* graph = nullptr;
};

inline exec::RunOptions run_options(RunEnv& env, std::span<const exec::MemRegion> extra = {}) {
  exec::RunOptions o;
  o.extra = extra;
  o.user = static_cast<void*>(&env);
  return o;
}

// The RunEnv of the run in progress on this thread (defaults filled in), for helpers.
const Clock& process_clock();  // the default: a process-wide MonotonicClock
inline const Clock& current_clock() {  // inline: read on nearly every run
  const exec::RunContext* rc = exec::RunContext::current();
  const auto* e = rc ? static_cast<const RunEnv*>(rc->user()) : nullptr;
  return e && e->clock ? *e->clock : process_clock();
}
Prng& current_prng();
TraceSink& current_trace();

}  // namespace bpfq::runtime
