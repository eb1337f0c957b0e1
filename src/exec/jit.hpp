#pragma once
// The x86-64 JIT: a decoded program as machine code (docs/jit.md).
//
// Each sub-program becomes a native function u64 f(r1, r2, r3, r4, r5) — eBPF's r1..r5 live in
// the System V argument registers and r6..r10 in callee-saved ones, so helpers and kfuncs are
// called directly with the program's registers. Every run enters through a trampoline that
// points r12 at a JitFrame; a helper that failed the run (RunContext::fail) or the end of the
// program reached leaves through the frame's saved stack pointer, back to the trampoline.
// The code emits no run-time checks: only programs proved safe may run on it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "decoded.hpp"

namespace bpfq::exec {

struct CodeChunk;  // jit_x86_64.cpp

// What the trampoline and the code share; r12 points at it during a run.
struct JitFrame {  // no initialisers: run_jit sets what the code reads, on every run
  uint64_t target;   // the sub-program to call
  uint64_t args[5];  // its r1..r5
  uint64_t saved_rsp;  // the trampoline's stack pointer, to unwind to after a fault
  const Fault* fault;  // the run's fault; non-zero after a helper call ends the run
  uint32_t fault_pc;  // the instruction that ended the run
  Fault own_fault;  // a fault the code itself found (fell off the end, a budget)
  // The run's callback calls and callbacks in progress (RunState's), which a LOOP run in place
  // counts as RunState::call does.
  uint64_t* callback_calls;
  int* nesting;
};

class JitCode {
 public:
  // Throws bpfq::Error if the code cannot be mapped executable.
  static JitCodePtr compile(const std::vector<Slot>& slots,
                                          const std::vector<uint32_t>& callback_targets);
  JitCode(const JitCode&) = delete;
  JitCode& operator=(const JitCode&) = delete;
  ~JitCode();

  // The native entry of the sub-program starting at instruction `insn` (0, a local call's or a
  // callback's target).
  uint64_t entry(uint32_t insn) const {  // inline: every run asks for insn 0
    return insn == 0 ? main_entry_ : reinterpret_cast<uint64_t>(code_) + offset_of(insn);
  }
  // Calls frame.target with frame.args through the trampoline (the code's start); returns r0.
  uint64_t run(JitFrame& frame) const { return reinterpret_cast<uint64_t (*)(JitFrame*)>(code_)(&frame); }
  size_t code_size() const { return size_; }

 private:
  JitCode() = default;
  uint32_t offset_of(uint32_t insn) const;  // of a sub-program's entry
  const uint8_t* code_ = nullptr;  // read + execute, never writable once mapped
  size_t size_ = 0;
  CodeChunk* chunk_ = nullptr;  // the code arena's chunk holding the code
  size_t mapped_ = 0;           // without a chunk: the bytes of the code's own mapping
  std::vector<std::pair<uint32_t, uint32_t>> entries_;  // (insn, code offset), sorted
  uint64_t main_entry_ = 0;  // entry(0), kept: every run starts there
};

}  // namespace bpfq::exec
