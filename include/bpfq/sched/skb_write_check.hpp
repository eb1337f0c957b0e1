#pragma once
// The load-time half of the kernel verifier's context checks that bpfq needs: a program must not
// write a read-only field of a packet's struct __sk_buff (len, data, data_end, hash, ifindex, …).
// The checked interpreter would also stop such a write at run time, but only the load-time check
// lets `bpfq prog check` and BpfQdisc::open refuse the program with the instruction and source
// line, as the kernel does with "invalid bpf_context access".
//
// It follows which registers and 8-byte stack slots hold a packet pointer (ctx->skb of a qdisc
// program, the context of a tc program, or what bpf_skb_acquire/bpf_skb_kptr_get/
// bpf_skb_queue_pop/bpf_kptr_xchg return) through moves, constant offsets, spills and every
// branch, and rejects a store through such a pointer that touches a read-only field.
#include <string>

#include <bpfq/loader/object_spec.hpp>

namespace bpfq::sched {

enum class ContextKind {
  QdiscCtx,  // struct sch_bpf_ctx *: skb (offset 0) is the packet; every ctx field is writable
  SkBuff,    // struct __sk_buff *: a tc classifier's context is the packet itself
};

// Throws bpfq::Error naming the section, instruction, source line and field.
void check_skb_writes(const loader::ProgramSpec& prog, ContextKind context, const std::string& path);

}  // namespace bpfq::sched
