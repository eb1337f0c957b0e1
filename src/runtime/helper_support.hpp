#pragma once
// Shared by the helper implementations: argument checks that end the run with a static message.
#include <cerrno>
#include <cstdint>

#include <bpfq/exec/program.hpp>
#include <bpfq/maps/map.hpp>
#include <bpfq/runtime/helpers.hpp>

namespace bpfq::runtime::detail {

inline uint64_t errno_result(int negative_errno) {
  return static_cast<uint64_t>(static_cast<int64_t>(negative_errno));
}

// Ends the run: helpers return fail(rc, "bpf_x: what") so the program sees 0 (it never resumes).
inline uint64_t fail(exec::RunContext* rc, const char* detail) {
  rc->fail(detail);
  return 0;
}

inline bool readable(const exec::RunContext* rc, uint64_t p, uint64_t n) {
  return rc->may_access(p, n, false);
}
inline bool writable(const exec::RunContext* rc, uint64_t p, uint64_t n) {
  return rc->may_access(p, n, true);
}

// The helper functions, one per helper id (see standard_helpers.cpp).
#define BPFQ_HELPER(name) uint64_t name(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
BPFQ_HELPER(map_lookup_elem);
BPFQ_HELPER(map_update_elem);
BPFQ_HELPER(map_delete_elem);
BPFQ_HELPER(map_push_elem);
BPFQ_HELPER(map_pop_elem);
BPFQ_HELPER(map_peek_elem);
BPFQ_HELPER(ktime_get_ns);
BPFQ_HELPER(trace_printk);
BPFQ_HELPER(trace_vprintk);
BPFQ_HELPER(get_prandom_u32);
BPFQ_HELPER(get_smp_processor_id);
BPFQ_HELPER(spin_lock);
BPFQ_HELPER(spin_unlock);
BPFQ_HELPER(ringbuf_output);
BPFQ_HELPER(ringbuf_reserve);
BPFQ_HELPER(ringbuf_submit);
BPFQ_HELPER(ringbuf_discard);
BPFQ_HELPER(ringbuf_query);
BPFQ_HELPER(for_each_map_elem);
BPFQ_HELPER(loop);
BPFQ_HELPER(kptr_xchg);
#undef BPFQ_HELPER

}  // namespace bpfq::runtime::detail
