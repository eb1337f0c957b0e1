#include <bpfq/runtime/helpers.hpp>

#include <bpfq/runtime/run_env.hpp>

#include "helper_support.hpp"

namespace bpfq::runtime {

namespace {

// bpf_jiffies64: the run's clock in ticks of kJiffiesHz.
uint64_t jiffies64(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(current_clock().program_ns()) * kJiffiesHz /
                               1'000'000'000u);
}

}  // namespace

const exec::HelperRegistry& standard_helpers() {
  static const exec::HelperRegistry registry = [] {
    namespace id = helper_id;
    exec::HelperRegistry r;
    r.add_helper(id::kMapLookupElem, "bpf_map_lookup_elem", detail::map_lookup_elem);
    r.add_helper(id::kMapUpdateElem, "bpf_map_update_elem", detail::map_update_elem);
    r.add_helper(id::kMapDeleteElem, "bpf_map_delete_elem", detail::map_delete_elem);
    r.add_helper(id::kKtimeGetNs, "bpf_ktime_get_ns", detail::ktime_get_ns);
    r.add_helper(id::kTracePrintk, "bpf_trace_printk", detail::trace_printk);
    r.add_helper(id::kGetPrandomU32, "bpf_get_prandom_u32", detail::get_prandom_u32);
    r.add_helper(id::kGetSmpProcessorId, "bpf_get_smp_processor_id", detail::get_smp_processor_id);
    r.add_helper(id::kMapPushElem, "bpf_map_push_elem", detail::map_push_elem);
    r.add_helper(id::kMapPopElem, "bpf_map_pop_elem", detail::map_pop_elem);
    r.add_helper(id::kMapPeekElem, "bpf_map_peek_elem", detail::map_peek_elem);
    r.add_helper(id::kSpinLock, "bpf_spin_lock", detail::spin_lock);
    r.add_helper(id::kSpinUnlock, "bpf_spin_unlock", detail::spin_unlock);
    r.add_helper(id::kJiffies64, "bpf_jiffies64", jiffies64);
    r.add_helper(id::kKtimeGetBootNs, "bpf_ktime_get_boot_ns", detail::ktime_get_ns);
    r.add_helper(id::kRingbufOutput, "bpf_ringbuf_output", detail::ringbuf_output);
    r.add_helper(id::kRingbufReserve, "bpf_ringbuf_reserve", detail::ringbuf_reserve);
    r.add_helper(id::kRingbufSubmit, "bpf_ringbuf_submit", detail::ringbuf_submit);
    r.add_helper(id::kRingbufDiscard, "bpf_ringbuf_discard", detail::ringbuf_discard);
    r.add_helper(id::kRingbufQuery, "bpf_ringbuf_query", detail::ringbuf_query);
    r.add_helper(id::kForEachMapElem, "bpf_for_each_map_elem", detail::for_each_map_elem);
    r.add_helper(id::kTraceVprintk, "bpf_trace_vprintk", detail::trace_vprintk);
    r.add_helper(id::kLoop, "bpf_loop", detail::loop);
    r.add_helper(id::kKptrXchg, "bpf_kptr_xchg", detail::kptr_xchg);
    return r;
  }();
  return registry;
}

}  // namespace bpfq::runtime
