#pragma once
// The control-flow graph of a linked program: the one place that knows where each instruction
// can go next. The decoder checks jumps with it; the verifier walks it.
//
// Conventions (ObjectSpec's linked form): a local call (`call` src_reg 1) and an lddw
// PSEUDO_FUNC (src_reg 4) name a sub-program start at idx + 1 + imm; the second slot of an
// lddw is not an instruction.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::ebpf {

// What kind of defect a CfgError is: callers pick which ones they reject (the decoder lets
// fall-through and unreachable code reach the interpreter, which faults on them at run time).
enum class CfgErrorKind : uint8_t {
  JumpOutOfProgram,     // jump target < 0 or >= size
  JumpOutOfSubprogram,  // jump target inside the program but in another sub-program
  JumpIntoLddw,         // jump, call or lddw PSEUDO_FUNC target is the second slot of an lddw
  BadCallTarget,        // local call target outside the program
  BadFuncTarget,        // lddw PSEUDO_FUNC target outside the program
  IncompleteLddw,       // lddw in the last slot
  FallThrough,          // execution runs past the end of its sub-program
  Unreachable,          // no path from the entry (or from a reached sub-program)
};

// A structural defect; insn is where it is. The texts follow the kernel's verifier
// ("jump out of range from insn 3 to 9", "last insn is not an exit or jmp",
// "unreachable insn 7", "back-edge from insn 9 to 4" is not an error, see back_edges).
struct CfgError {
  size_t insn = 0;
  std::string message;
  CfgErrorKind kind = CfgErrorKind::JumpOutOfProgram;
  std::optional<int64_t> target;  // the bad destination, for jump/call/func-target errors
};

struct Subprogram {
  size_t start = 0;
  size_t end = 0;  // one past the last instruction slot
  bool is_callback = false;  // target of an lddw PSEUDO_FUNC (not only of calls)
};

// An instruction's successors: at most two (fall-through, jump target), kept inline so that a
// graph costs no allocation per instruction.
struct Successors {
  uint32_t at[2] = {};
  uint8_t n = 0;

  void push_back(uint32_t v) { at[n++] = v; }
  size_t size() const { return n; }
  bool empty() const { return n == 0; }
  uint32_t back() const { return at[n - 1]; }
  uint32_t operator[](size_t i) const { return at[i]; }
  const uint32_t* begin() const { return at; }
  const uint32_t* end() const { return at + n; }
  friend bool operator==(const Successors& a, const Successors& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
};

struct Cfg {
  size_t size = 0;                     // instruction slots
  std::vector<uint8_t> is_lddw_tail;   // 1: second slot of an lddw
  // Successors within the same function: fall-through first, then the jump target.
  // Calls fall through (their callee is in call_target); exit has none. A conditional jump
  // keeps both even when they coincide (off 0); an edge found invalid is left out.
  std::vector<Successors> succs;
  std::vector<std::optional<uint32_t>> call_target;  // local calls: the callee's first insn
  std::vector<std::optional<uint32_t>> func_ref;     // lddw PSEUDO_FUNC: the callback's first insn
  std::vector<Subprogram> subprograms;  // sorted by start; [0] is the entry at 0
  std::vector<uint8_t> reachable;       // from the entry or any reached sub-program
  // Instructions that are targets of a jump whose source is at or after them in a DFS from
  // their function's start (loop heads), and every jump target (where paths meet).
  std::vector<uint8_t> loop_head;
  std::vector<uint8_t> jump_target;

  // The sub-program containing insn.
  const Subprogram& subprogram_of(size_t insn) const;
};

// Builds the graph. Every structural defect found is returned in errors (in instruction order);
// the graph is still built for whatever is well-formed.
Cfg build_cfg(std::span<const Insn> insns, std::vector<CfgError>& errors);

}  // namespace bpfq::ebpf
