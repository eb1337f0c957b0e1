// bpf_loop and bpf_for_each_map_elem: helpers that call back into the program.
#include "helper_support.hpp"

#include <cstring>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {

// A callback's key stays granted for the rest of the run, so it must point at memory that
// outlives the visit: ARRAY hands over its C++ loop index, and a visit may delete the element
// that holds its key. Each visit's key is copied to a per-thread buffer, one per level of nested
// bpf_for_each_map_elem (callbacks nest less deep than the call-depth limit).
struct VisitedKeys {
  alignas(8) uint8_t key[ebpf::kMaxCallDepth][maps::kMaxKeySize];
  int depth = 0;
};
thread_local VisitedKeys visited_keys;
}  // namespace

uint64_t loop(uint64_t nr_loops, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t) {
  RunContext* rc = RunContext::current();
  if (!rc->is_callback(fn)) return fail(rc, "bpf_loop: callback is not a sub-program of this program");
  if (flags != 0) return errno_result(-EINVAL);
  if (nr_loops > ebpf::kMaxLoops) return errno_result(-E2BIG);
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
  if (visited_keys.depth == ebpf::kMaxCallDepth) return fail(rc, "bpf_for_each_map_elem: nested too deep");
  uint8_t* const key_copy = visited_keys.key[visited_keys.depth++];
  struct Leave {
    ~Leave() { --visited_keys.depth; }
  } leave;
  auto visit = [&](const void* key, void* value) -> int {
    uint64_t k = 0;  // QUEUE and STACK have no keys
    if (key != nullptr) {
      std::memcpy(key_copy, key, key_size);
      k = reinterpret_cast<uint64_t>(key_copy);
    }
    const auto v = reinterpret_cast<uint64_t>(value);
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
