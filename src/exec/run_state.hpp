#pragma once
// The state of a run in progress, behind the RunContext that helpers see: which program, its
// stacks and the memory it may touch (checked mode), the instruction budget, the result.
#include <cstdint>
#include <span>

#include "decoded.hpp"

namespace bpfq::exec {

inline constexpr uint32_t kNoPc = UINT32_MAX;  // result_.pc before a fault names its instruction

class RunState final : public RunContext {
 public:
  // `result` receives the run's outcome (the caller's return value: no copy at the end).
  // Inline: built on every run. The memory-checking state is set up only for checked runs
  // (init_checked): an unchecked run never reads it, and it is most of the object.
  RunState(const Program::Impl& prog, void* user, RunResult& result)
      : RunContext(user, prog.checked), prog_(prog), result_(result) {
    result_.pc = kNoPc;
  }
  void init_checked(std::span<const MemRegion> extra, MemRegion ctx) {
    extra_ = extra;
    ctx_ = ctx;
    n_stacks_ = n_grants_ = next_grant_ = next_recent_ = 0;
    for (uint64_t& b : recent_begin_) b = 0;
    for (uint8_t& s : recent_slot_) s = 0;
    last_hit_ = {};
    budget_ = prog_.insn_budget;
  }

  bool may_access(uint64_t p, uint64_t len, bool write) const;
  void grant(uint64_t p, uint64_t len, bool writable);
  void fail(const char* detail);
  bool is_callback(uint64_t fn) const;
  uint64_t call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
  // Runs the sub-program starting at `insn` on the program's backend; returns r0. The one
  // place that chooses between the JIT and the interpreter's two modes.
  uint64_t run_from(uint32_t insn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
  // Runs the JIT code of the sub-program starting at `insn`; returns r0.
  uint64_t run_jit(uint32_t insn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

  const Program::Impl& prog_;
  int nesting_ = 0;  // callbacks in progress
  uint64_t callback_calls_ = 0;  // fast mode: callbacks called in this run
  mutable uint64_t known_callback_ = kCallbackTag | 0xffff'ffffULL;  // the last fn is_callback accepted
  static constexpr uint64_t kMaxCallbackCalls = uint64_t{1} << 23;
  static constexpr const char* kCallbackBudgetSpent = "more than 2^23 callback calls in one run";
  RunResult& result_;

  // Checked runs only (init_checked).
  std::span<const MemRegion> extra_;
  MemRegion ctx_;
  MemRegion stacks_[8];  // stacks of the runs in progress (a callback may use its caller's)
  int n_stacks_;
  static constexpr int kMaxGrants = 256;  // slot numbers fit recent_slot_'s bytes
  static constexpr int kRecentGrants = 8;  // both powers of two: the rings wrap with a mask
  MemRegion grants_[kMaxGrants];
  int n_grants_, next_grant_;
  uint64_t recent_begin_[kRecentGrants];  // the newest grants' addresses (0: none)
  uint8_t recent_slot_[kRecentGrants];    // and their slots
  int next_recent_;
  mutable MemRegion last_hit_;  // a prog/extra/grant region may_access matched last
  uint64_t budget_;
};

}  // namespace bpfq::exec
