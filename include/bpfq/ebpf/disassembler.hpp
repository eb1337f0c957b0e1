#pragma once
// Disassembler producing the syntax that bpfq::ebpf::assemble() accepts, so that
// assemble(disassemble(p)) == p for every program p.
//
// Jumps print numeric offsets ("ja +3", "jeq %r1, 0x5, +2"); immediates print in hex.
// Loader pseudo forms: "lddw %r1, map[3]" (src 1), "lddw %r1, map[3]+16" (src 2),
// "lddw %r1, btf_id 7" (3), "lddw %r1, func +12" (4), "map_idx[3]" / "map_idx[3]+16" (5/6),
// "call local +5", "call kfunc 2", "call %r2" (callx). Anything the mnemonic syntax cannot
// express exactly (unknown opcode, stray bits in unused fields) prints as ".insn 0x<raw word>".
#include <cstddef>
#include <string>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::ebpf {

// One instruction per line, each ending in '\n'; lddw consumes two slots.
std::string disassemble(const Insn* insns, size_t n);

// The instruction at insns[0] (no trailing newline). *consumed (if given) receives the number
// of slots used: 2 for a well-formed lddw, else 1 (0 only when remaining is 0).
std::string disassemble_one(const Insn* insns, size_t remaining, size_t* consumed);

}  // namespace bpfq::ebpf
