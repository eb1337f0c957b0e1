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
// graph costs no allocation per instruction; an unused place holds kNone (8 bytes, no count).
struct Successors {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t at[2] = {kNone, kNone};

  void push_back(uint32_t v) { at[at[0] != kNone] = v; }
  size_t size() const { return (at[0] != kNone) + (at[1] != kNone); }
  bool empty() const { return at[0] == kNone; }
  uint32_t back() const { return at[size() - 1]; }
  uint32_t operator[](size_t i) const { return at[i]; }
  const uint32_t* begin() const { return at; }
  const uint32_t* end() const { return at + size(); }
  friend bool operator==(const Successors& a, const Successors& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
};

// A local call or an lddw PSEUDO_FUNC, and the sub-program start it names.
struct CallRef {
  uint32_t insn = 0;
  uint32_t target = 0;
};

struct Cfg {
  size_t size = 0;                     // instruction slots
  std::vector<uint8_t> is_lddw_tail;   // 1: second slot of an lddw
  // Successors within the same function: fall-through first, then the jump target.
  // Calls fall through (their callee is in call_target); exit has none. A conditional jump
  // keeps both even when they coincide (off 0); an edge found invalid is left out.
  std::vector<Successors> succs;
  // Few instructions call or name a sub-program: lists sorted by insn, not an entry per
  // instruction. An invalid target is left out (its defect is in the errors).
  std::vector<CallRef> calls;      // local calls: the callee's first insn
  std::vector<CallRef> func_refs;  // lddw PSEUDO_FUNC: the callback's first insn
  std::vector<Subprogram> subprograms;  // sorted by start; [0] is the entry at 0
  std::vector<uint8_t> reachable;       // from the entry or any reached sub-program
  // Instructions that are targets of a jump whose source is at or after them in a DFS from
  // their function's start (loop heads), and every jump target (where paths meet).
  std::vector<uint8_t> loop_head;
  std::vector<uint8_t> jump_target;

  // The sub-program containing insn.
  const Subprogram& subprogram_of(size_t insn) const;
  // The callee of the local call at insn, the callback named by the lddw at insn.
  std::optional<uint32_t> call_target(size_t insn) const;
  std::optional<uint32_t> func_ref(size_t insn) const;
};

// How much of the graph to build. Structure: sub-programs, successors, call and callback
// targets, jump targets and their defects (what the decoder needs: it runs unreachable code
// only by faulting on it); reachable and loop_head stay empty and no Unreachable is reported.
// Full adds reachability and loop heads (the verifier).
enum class CfgDepth : uint8_t { Structure, Full };

// Builds the graph. Every structural defect found is returned in errors (in instruction order);
// the graph is still built for whatever is well-formed.
Cfg build_cfg(std::span<const Insn> insns, std::vector<CfgError>& errors, CfgDepth depth = CfgDepth::Full);

}  // namespace bpfq::ebpf
