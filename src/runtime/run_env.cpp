#include <bpfq/runtime/run_env.hpp>

namespace bpfq::runtime {

namespace {

const RunEnv* env() {
  const exec::RunContext* rc = exec::RunContext::current();
  return rc ? static_cast<const RunEnv*>(rc->user()) : nullptr;
}

}  // namespace

const Clock& process_clock() {
  static const MonotonicClock monotonic;
  return monotonic;
}

Prng& current_prng() {
  thread_local Prng fallback(0);
  const RunEnv* e = env();
  return e && e->prng ? *e->prng : fallback;
}

TraceSink& current_trace() {
  static StderrTraceSink stderr_sink;
  const RunEnv* e = env();
  return e && e->trace ? *e->trace : stderr_sink;
}

}  // namespace bpfq::runtime
