#pragma once
// Text assembler for eBPF in the ubpf / bpf_conformance syntax (used by tests and fixtures).
//
//   # comment                     label:                      mov %r0, 0x10
//   ldxdw %r1, [%r10-8]           stw [%r1+4], -1             lock fetch add [%r10-8], %r1
//   jeq32 %r1, 5, +2              ja done                     call 5 | call local f | call %r2
//   lddw %r0, 0x1122334455667788  lddw %r1, map[3]+16         .insn 0x0000000000000095
//
// Jump targets are labels or signed offsets ("+2", "-1"); a jump to `exit` without an `exit:`
// label goes to the first `exit` instruction, as the conformance corpus expects.
#include <string_view>
#include <vector>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::ebpf {

// Throws bpfq::Error with where() = "line N" (1-based) and a hint on malformed input.
std::vector<Insn> assemble(std::string_view text);

}  // namespace bpfq::ebpf
