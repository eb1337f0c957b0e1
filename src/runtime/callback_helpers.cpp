// bpf_loop and bpf_for_each_map_elem: helpers that call back into the program.
#include "helper_support.hpp"

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {
constexpr uint64_t kMaxLoops = uint64_t{1} << 23;  // the kernel's BPF_MAX_LOOPS
}

uint64_t loop(uint64_t nr_loops, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t) {
  RunContext* rc = RunContext::current();
  if (!rc->is_callback(fn)) return fail(rc, "bpf_loop: callback is not a sub-program of this program");
  if (flags != 0) return errno_result(-EINVAL);
  if (nr_loops > kMaxLoops) return errno_result(-E2BIG);
  for (uint64_t i = 0; i < nr_loops; ++i) {
    const uint64_t stop = rc->call(fn, i, ctx, 0, 0, 0);
    if (rc->failed()) return 0;
    if (stop != 0) return i + 1;
  }
  return nr_loops;
}

uint64_t for_each_map_elem(uint64_t m, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, "bpf_for_each_map_elem: map argument is not a map of this program");
  if (!rc->is_callback(fn))
    return fail(rc, "bpf_for_each_map_elem: callback is not a sub-program of this program");
  if (flags != 0 || maps::is_map_of_maps(map->spec().type)) return errno_result(-EINVAL);
  const uint32_t key_size = map->spec().key_size;
  const uint32_t value_size = map->spec().value_size;
  const bool value_writable = !map->spec().read_only;
  auto visit = [&](const void* key, void* value) -> int {
    const auto k = reinterpret_cast<uint64_t>(key), v = reinterpret_cast<uint64_t>(value);
    rc->grant(k, key_size, false);
    rc->grant(v, value_size, value_writable);
    const uint64_t stop = rc->call(fn, m, k, v, ctx, 0);
    return rc->failed() || stop != 0 ? 1 : 0;
  };
  const long visited = map->for_each(visit);
  if (rc->failed()) return 0;
  return errno_result(static_cast<int>(visited));
}

}  // namespace bpfq::runtime::detail
