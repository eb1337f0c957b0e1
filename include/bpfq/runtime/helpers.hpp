#pragma once
// The standard BPF helpers (uapi ids from linux/bpf.h) bpfq provides to every program, and
// the pieces an embedder needs to write its own (e.g. the qdisc's kfuncs).
//
// Helpers read their environment from exec::RunContext::current()->user(), which must be null
// or a RunEnv (run_env.hpp). In checked mode every pointer argument is validated with
// RunContext::may_access for the bytes the helper touches, and memory a helper returns (a map
// value, a ring buffer sample) is granted to the program; a bad argument ends the run with a
// HelperFault whose detail names the helper and the argument. Helpers never throw or allocate
// (trace output goes to the TraceSink, which may).
#include <cstdint>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/exec/helpers.hpp>
#include <bpfq/exec/program.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/maps/map.hpp>

namespace bpfq::runtime {

// enum bpf_func_id values of the helpers in standard_helpers().
namespace helper_id {
inline constexpr int32_t kMapLookupElem = 1;
inline constexpr int32_t kMapUpdateElem = 2;
inline constexpr int32_t kMapDeleteElem = 3;
inline constexpr int32_t kKtimeGetNs = 5;
inline constexpr int32_t kTracePrintk = 6;
inline constexpr int32_t kGetPrandomU32 = 7;
inline constexpr int32_t kGetSmpProcessorId = 8;
inline constexpr int32_t kSkbLoadBytes = 26;  // qdisc and tc programs only (sched)
inline constexpr int32_t kMapPushElem = 87;
inline constexpr int32_t kMapPopElem = 88;
inline constexpr int32_t kMapPeekElem = 89;
inline constexpr int32_t kSpinLock = 93;
inline constexpr int32_t kSpinUnlock = 94;
inline constexpr int32_t kJiffies64 = 118;
inline constexpr int32_t kKtimeGetBootNs = 125;
inline constexpr int32_t kRingbufOutput = 130;
inline constexpr int32_t kRingbufReserve = 131;
inline constexpr int32_t kRingbufSubmit = 132;
inline constexpr int32_t kRingbufDiscard = 133;
inline constexpr int32_t kRingbufQuery = 134;
inline constexpr int32_t kForEachMapElem = 164;
inline constexpr int32_t kTraceVprintk = 177;
inline constexpr int32_t kLoop = 181;
inline constexpr int32_t kKptrXchg = 194;
}  // namespace helper_id

// The tick rate of bpf_jiffies64 (jiffies = clock ns * HZ / 1e9), and so the CONFIG_HZ a
// program's `extern unsigned CONFIG_HZ __kconfig` reads by default.
inline constexpr uint64_t kJiffiesHz = 1000;

// Every helper above; no kfuncs. Copy it and add to it (or replace entries by id) to extend.
const exec::HelperRegistry& standard_helpers();

// The uapi name of helper `id` as libbpf spells it ("bpf_skb_load_bytes" for 26), from the
// installed linux/bpf.h, whether bpfq provides it or not; nullptr for an id Linux does not have.
const char* uapi_helper_name(int32_t id);

// Every call in `prog` that `helpers` does not provide: an unknown helper (named when Linux has
// it: "unknown helper bpf_skb_store_bytes (id 9)", else "unknown helper id 9999") or kfunc
// ("unknown kfunc 'bpf_x'"), where "<where> insn <n> (<file>:<line>)" (the line when the object
// has line info). Empty if everything resolves; Object::open throws the first.
std::vector<Error> unknown_calls(const loader::ProgramSpec& prog, const exec::HelperRegistry& helpers,
                                 const std::string& where);

// The map a program passed as a helper argument, or nullptr if `arg` is not a live map the
// program may hold: a map of a live runtime::Object, or an inner map that a map-of-maps
// handed to a program on this thread (lookup, pop, peek) and that is still alive. In a run
// without checks (a verified program) the verifier proved the argument a map of the program's,
// so it is taken as it is.
maps::Map* program_map_checked(uint64_t arg);
inline maps::Map* program_map(uint64_t arg) {  // inline: most helper calls ask, nearly all unchecked
  const exec::RunContext* rc = exec::RunContext::current();
  if (arg != 0 && rc && !rc->checked()) return reinterpret_cast<maps::Map*>(arg);
  return program_map_checked(arg);
}

// Makes a map created outside a runtime::Object (e.g. by an embedder) acceptable to
// program_map() until forget_map(); Object does this for its own maps.
void register_map(const maps::Map* map);
void forget_map(const maps::Map* map);

}  // namespace bpfq::runtime
