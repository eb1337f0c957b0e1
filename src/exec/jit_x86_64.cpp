// The x86-64 JIT: translates the decoder's Slots one by one (jit.hpp explains the frame).
#include "jit.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <mutex>

// Profiling under valgrind (callgrind counts the instructions per packet): its client requests
// are a few no-op instructions otherwise.
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_DISCARD_TRANSLATIONS(addr, len) ((void)(addr), (void)(len))
#endif

#include <bpfq/error.hpp>

#include "run_state.hpp"
#include "x86_64_assembler.hpp"

namespace bpfq::exec {

void JitCodeDeleter::operator()(JitCode* code) const { delete code; }

#if defined(__x86_64__)
bool jit_supported() { return true; }

namespace {
using namespace x86;

// eBPF register → x86-64 register. r1..r5 are the System V argument registers, so a helper
// call needs no moves; r6..r10 are callee-saved, so they survive it. r9..r11 are scratch; r12
// holds the JitFrame.
// Indexed by an instruction's 4-bit register fields. Where a field names no register (NEG's
// src, which the loader does not require to be 0), it may hold 11..15: those map to RAX and are
// never used.
constexpr uint8_t kReg[16] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
constexpr uint8_t kTmp = R11, kTmp2 = R10, kTmp3 = R9, kFrame = R12;
constexpr int32_t kStack = ebpf::kStackSize;

constexpr int32_t off(size_t o) { return static_cast<int32_t>(o); }
const int32_t kTargetOff = off(offsetof(JitFrame, target));
const int32_t kArgsOff = off(offsetof(JitFrame, args));
const int32_t kSavedRspOff = off(offsetof(JitFrame, saved_rsp));
const int32_t kFaultOff = off(offsetof(JitFrame, fault));
const int32_t kFaultPcOff = off(offsetof(JitFrame, fault_pc));
const int32_t kOwnFaultOff = off(offsetof(JitFrame, own_fault));
const int32_t kCallbackCallsOff = off(offsetof(JitFrame, callback_calls));
const int32_t kNestingOff = off(offsetof(JitFrame, nesting));

// Op ranges of the X-macro enum (decoded.hpp): each ALU/JMP group lists its ops in one order.
constexpr int kAluOps = OP_ADD_ALU64_X - OP_ADD_ALU64_K;
constexpr int kJmpOps = OP_JEQ_JMP_X - OP_JEQ_JMP_K;

class Translator {
 public:
  Translator(const std::vector<Slot>& slots, const std::vector<uint32_t>& callbacks)
      : slots_(slots), is_start_(slots.size(), 0) {
    is_start_[0] = 1;
    for (const Slot& s : slots)
      if (s.op == OP_CALL_LOCAL) is_start_[static_cast<size_t>(s.off)] = 1;
    for (uint32_t c : callbacks) is_start_[c] = 1;
  }

  // Passes until no jump can shrink, as Linux's JIT does: the first uses 32-bit jumps
  // everywhere; after each pass, a jump whose target its layout puts within a signed byte is
  // made short (8-bit) in the next. Code only shrinks between passes, so a short jump stays in
  // reach; a pass that would make no new jump short would repeat this one, so it is not run.
  Assembler translate(std::vector<std::pair<uint32_t, uint32_t>>& entries) {
    pass();
    for (int n = 0; n < 16 && make_short(); ++n) pass();
    entries = std::move(entries_);
    return std::move(a_);
  }

 private:
  struct Jump {
    uint32_t at;      // the displacement's code offset
    uint32_t target;  // the instruction jumped to
  };

  // Marks the jumps of the last pass that its layout lets be short; true if any was long.
  bool make_short() {
    bool changed = false;
    for (size_t k = 0; k < jumps_.size(); ++k) {
      if (short_[k]) continue;
      const Jump& j = jumps_[k];
      // From the end of the long jump, which is the end of its instruction in this layout.
      const int64_t rel = static_cast<int64_t>(label_[j.target]) - static_cast<int64_t>(j.at + 4);
      if (fits_i8(rel)) short_[k] = 1, changed = true;
    }
    return changed;
  }

  // Everything a pass calls is inlined into its loop: a call per instruction (and per
  // encoding), each saving and restoring registers, cost 7 of 55 µs compiling 4096 instructions.
  [[gnu::flatten]] void pass() {
    // Most slots take under 8 bytes; the buffer grows if a program needs more.
    a_ = Assembler(slots_.size() * 8 + 256);
    label_.resize(slots_.size());
    entries_.clear(), jumps_.clear(), calls_.clear(), helper_faults_.clear();
    trampoline();
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (is_start_[i]) {
        entries_.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(a_.pos()));
        prologue();
      }
      label_[i] = static_cast<uint32_t>(a_.pos());
      if (slots_[i].op == OP_LDDW) {
        a_.mov_imm(kReg[slots_[i].dst], slots_[i].imm);
        ++i;  // its second half is never reached
        if (i < slots_.size()) label_[i] = static_cast<uint32_t>(a_.pos());
        continue;
      }
      insn(static_cast<uint32_t>(i), slots_[i]);
    }
    short_.resize(jumps_.size(), 0);  // the first pass: every jump long
    for (size_t k = 0; k < jumps_.size(); ++k) {
      const Jump& j = jumps_[k];
      if (!short_[k]) {
        a_.patch_rel(j.at, label_[j.target]);
        continue;
      }
      const int64_t rel = static_cast<int64_t>(label_[j.target]) - static_cast<int64_t>(j.at + 1);
      if (!fits_i8(rel)) throw Error("JIT: a short jump out of reach (internal error)");
      a_[j.at] = static_cast<uint8_t>(rel);
    }
    for (const auto& [at, target] : calls_) a_.patch_rel(at, entry(target));
    for (const auto& [at, pc] : helper_faults_) {  // out of line: the hot path falls through
      a_.patch_rel(at, a_.pos());
      a_.rm(NONE, false, MOV_RM_IMM, 0, kFrame, kFaultPcOff);
      a_.u32(pc);
      a_.jmp_to(fault_exit_);
    }
  }

  // The code offset of the prologue of the sub-program starting at insn.
  size_t entry(uint32_t insn) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair<uint32_t, uint32_t>{insn, 0});
    return it->second;
  }

  // A jump (cond: a condition code, or -1 for jmp) as the last code of instruction `pc`:
  // short when make_short() found its target within a signed byte after the previous pass.
  void jump_to_insn(int cond, uint32_t target) {
    const size_t k = jumps_.size();
    if (k < short_.size() && short_[k]) {
      a_.u8(cond < 0 ? 0xeb : static_cast<uint8_t>(0x70 | cond));
      jumps_.push_back(Jump{static_cast<uint32_t>(a_.pos()), target});
      a_.u8(0);
      return;
    }
    const size_t at = cond < 0 ? a_.jmp() : a_.jcc(static_cast<uint8_t>(cond));
    jumps_.push_back(Jump{static_cast<uint32_t>(at), target});
  }

  // r12 = frame; call frame->target(args); return r0. A fault jumps to fault_exit_, which
  // restores the stack pointer saved here and returns as if the call had returned 0.
  void trampoline() {
    for (uint8_t r : {RBX, RBP, R12, R13, R14, R15}) a_.push(r);
    a_.alu_imm(true, EXT_SUB, RSP, 8);  // 16-byte alignment at the call
    a_.mov(true, kFrame, RDI);
    a_.rm(NONE, true, MOV_RM_R, RSP, kFrame, kSavedRspOff);
    a_.rm(NONE, true, MOV_R_RM, RAX, kFrame, kTargetOff);
    for (int k = 4; k >= 0; --k) a_.rm(NONE, true, MOV_R_RM, kReg[k + 1], kFrame, kArgsOff + 8 * k);
    a_.call_reg(RAX);
    const size_t back = a_.pos();
    a_.alu_imm(true, EXT_ADD, RSP, 8);
    for (uint8_t r : {R15, R14, R13, R12, RBP, RBX}) a_.pop(r);
    a_.ret();
    fault_exit_ = a_.pos();
    a_.rm(NONE, true, MOV_R_RM, RSP, kFrame, kSavedRspOff);
    a_.mov_imm(RAX, 0);
    a_.jmp_to(back);
  }

  // Each sub-program: its own 512-byte eBPF stack below rbp (= r10), r6..r9 saved.
  void prologue() {
    a_.push(RBP);
    a_.mov(true, RBP, RSP);
    a_.alu_imm(true, EXT_SUB, RSP, kStack);
    for (uint8_t r : {RBX, R13, R14, R15}) a_.push(r);
  }
  void epilogue() {
    for (uint8_t r : {R15, R14, R13, RBX}) a_.pop(r);
    a_.leave();
    a_.ret();
  }

  void insn(uint32_t pc, const Slot& s) {
    const uint8_t dst = kReg[s.dst], src = kReg[s.src];
    const auto imm32 = static_cast<int32_t>(s.imm);
    const int op = s.op;
    if (op >= OP_ADD_ALU64_K && op < OP_ADD_ALU64_K + 4 * kAluOps) {
      const int group = (op - OP_ADD_ALU64_K) / kAluOps;  // ALU64_K, ALU64_X, ALU32_K, ALU32_X
      alu(op - OP_ADD_ALU64_K - group * kAluOps, group < 2, group % 2 == 1, dst, src, imm32);
      return;
    }
    if (op >= OP_JEQ_JMP_K && op < OP_JEQ_JMP_K + 4 * kJmpOps) {
      const int group = (op - OP_JEQ_JMP_K) / kJmpOps;  // JMP_K, JMP_X, JMP32_K, JMP32_X
      cond_jump(op - OP_JEQ_JMP_K - group * kJmpOps, group < 2, group % 2 == 1, dst, src, imm32,
                static_cast<uint32_t>(s.off));
      return;
    }
    switch (op) {
      case OP_NEG64: a_.rr(NONE, true, GRP3, EXT_NEG, dst); return;
      case OP_NEG32: a_.rr(NONE, false, GRP3, EXT_NEG, dst); return;
      case OP_MOVSX64_8: a_.rr(NONE, true, MOVSX8, dst, src, true); return;
      case OP_MOVSX64_16: a_.rr(NONE, true, MOVSX16, dst, src); return;
      case OP_MOVSX64_32: a_.rr(NONE, true, MOVSXD, dst, src); return;
      case OP_MOVSX32_8: a_.rr(NONE, false, MOVSX8, dst, src, true); return;
      case OP_MOVSX32_16: a_.rr(NONE, false, MOVSX16, dst, src); return;
      case OP_LE16: a_.rr(NONE, false, MOVZX16, dst, dst); return;
      case OP_LE32: a_.mov(false, dst, dst); return;
      case OP_LE64: return;
      case OP_BE16:
        a_.rr(OPSIZE16, false, SHIFT_IMM8, EXT_ROL, dst);
        a_.u8(8);
        a_.rr(NONE, false, MOVZX16, dst, dst);
        return;
      case OP_BE32: a_.bswap(false, dst); return;
      case OP_BE64: a_.bswap(true, dst); return;

      case OP_LDXB: a_.rm(NONE, false, MOVZX8, dst, src, s.off); return;
      case OP_LDXH: a_.rm(NONE, false, MOVZX16, dst, src, s.off); return;
      case OP_LDXW: a_.rm(NONE, false, MOV_R_RM, dst, src, s.off); return;
      case OP_LDXDW: a_.rm(NONE, true, MOV_R_RM, dst, src, s.off); return;
      case OP_LDXSB: a_.rm(NONE, true, MOVSX8, dst, src, s.off); return;
      case OP_LDXSH: a_.rm(NONE, true, MOVSX16, dst, src, s.off); return;
      case OP_LDXSW: a_.rm(NONE, true, MOVSXD, dst, src, s.off); return;
      case OP_STXB: a_.rm(NONE, false, MOV_RM_R8, src, dst, s.off, true); return;
      case OP_STXH: a_.rm(OPSIZE16, false, MOV_RM_R, src, dst, s.off); return;
      case OP_STXW: a_.rm(NONE, false, MOV_RM_R, src, dst, s.off); return;
      case OP_STXDW: a_.rm(NONE, true, MOV_RM_R, src, dst, s.off); return;
      case OP_STB: a_.rm(NONE, false, MOV_RM8_IMM, 0, dst, s.off); a_.u8(static_cast<uint8_t>(s.imm)); return;
      case OP_STH: a_.rm(OPSIZE16, false, MOV_RM_IMM, 0, dst, s.off); a_.u16(static_cast<uint16_t>(s.imm)); return;
      case OP_STW: a_.rm(NONE, false, MOV_RM_IMM, 0, dst, s.off); a_.u32(static_cast<uint32_t>(s.imm)); return;
      case OP_STDW: a_.rm(NONE, true, MOV_RM_IMM, 0, dst, s.off); a_.u32(static_cast<uint32_t>(s.imm)); return;

      case OP_AADD32: case OP_AADD64: a_.rm(LOCK, op == OP_AADD64, ADD_RM_R, src, dst, s.off); return;
      case OP_AOR32: case OP_AOR64: a_.rm(LOCK, op == OP_AOR64, OR_RM_R, src, dst, s.off); return;
      case OP_AAND32: case OP_AAND64: a_.rm(LOCK, op == OP_AAND64, AND_RM_R, src, dst, s.off); return;
      case OP_AXOR32: case OP_AXOR64: a_.rm(LOCK, op == OP_AXOR64, XOR_RM_R, src, dst, s.off); return;
      case OP_AFADD32: case OP_AFADD64: a_.rm(LOCK, op == OP_AFADD64, XADD, src, dst, s.off); return;
      case OP_AXCHG32: case OP_AXCHG64: a_.rm(NONE, op == OP_AXCHG64, XCHG_RM_R, src, dst, s.off); return;
      case OP_AFOR32: case OP_AFOR64: fetch_op(op == OP_AFOR64, OR_RM_R, dst, src, s.off); return;
      case OP_AFAND32: case OP_AFAND64: fetch_op(op == OP_AFAND64, AND_RM_R, dst, src, s.off); return;
      case OP_AFXOR32: case OP_AFXOR64: fetch_op(op == OP_AFXOR64, XOR_RM_R, dst, src, s.off); return;
      case OP_ACMPXCHG32: case OP_ACMPXCHG64: {
        const bool w = op == OP_ACMPXCHG64;
        a_.rm(LOCK, w, CMPXCHG, src, dst, s.off);
        if (!w) a_.mov(false, RAX, RAX);  // r0 is the old value either way, zero-extended
        return;
      }

      case OP_JA:
        if (s.off != static_cast<int32_t>(pc) + 1) jump_to_insn(-1, static_cast<uint32_t>(s.off));
        return;
      case OP_CALL_HELPER: call_helper(pc, s.imm); return;
      case OP_LOOP: loop(pc, s); return;
      case OP_ARRAY_LOOKUP: {  // r0 = key < max_entries ? values + key * stride : 0, key = *(u32 *)r2
        const auto& a = *reinterpret_cast<const ArrayLookup*>(s.imm);
        a_.rm(NONE, false, MOV_R_RM, RAX, kReg[2], 0);
        a_.alu_imm(false, EXT_CMP, RAX, static_cast<int32_t>(a.max_entries));
        const size_t outside = a_.jcc(kAE);
        a_.rr(NONE, true, IMUL_R_RM_IMM, RAX, RAX);
        a_.u32(a.stride);
        a_.mov_imm(kTmp, a.values);
        a_.rr(NONE, true, ADD_RM_R, kTmp, RAX);
        const size_t done = a_.jmp();
        a_.patch_rel(outside, a_.pos());
        a_.rr(NONE, false, XOR_RM_R, RAX, RAX);
        a_.patch_rel(done, a_.pos());
        return;
      }
      case OP_LOAD_WORD:  // r0 = the word (a relaxed atomic load is a plain one on x86-64)
        a_.mov_imm(RAX, s.imm);
        a_.rm(NONE, true, MOV_R_RM, RAX, RAX, 0);
        return;
      case OP_XCHG_WORD:  // r0 = *r1, *r1 = r2: one run owns the field, no lock needed
        a_.rm(NONE, true, MOV_R_RM, RAX, kReg[1], 0);
        a_.rm(NONE, true, MOV_RM_R, kReg[2], kReg[1], 0);
        return;
      case OP_CALL_LOCAL:
        calls_.emplace_back(a_.call(), static_cast<uint32_t>(s.off));
        return;
      case OP_EXIT: epilogue(); return;
      default:  // OP_FELL_OFF_END: the sentinel after the last instruction
        a_.rm(NONE, false, MOV_RM8_IMM, 0, kFrame, kOwnFaultOff);
        a_.u8(static_cast<uint8_t>(Fault::FellOffEnd));
        a_.rm(NONE, false, MOV_RM_IMM, 0, kFrame, kFaultPcOff);
        a_.u32(pc);
        a_.jmp_to(fault_exit_);
        return;
    }
  }

  void call_helper(uint32_t pc, uint64_t fn) {
    a_.mov_imm(RAX, fn);
    a_.call_reg(RAX);
    // A helper may end the run (RunContext::fail): leave through the frame when it did.
    a_.rm(NONE, true, MOV_R_RM, kTmp, kFrame, kFaultOff);
    a_.rm(NONE, false, CMP_RM8_IMM8, EXT_CMP, kTmp, 0);
    a_.u8(0);
    helper_faults_.emplace_back(a_.jcc(kNE), pc);
  }

  // bpf_loop(nr, callback, ctx, flags) with its callback known (s.off): the loop runs here and
  // calls the callback's code directly, with the checks and counts of the helper and of
  // RunState::call. Flags, nr > BPF_MAX_LOOPS or no call depth to spare: the helper's call,
  // which answers or refuses. Each call counts against the run's 2^23; past them the run ends.
  void loop(uint32_t pc, const Slot& s) {
    const uint8_t nr = kReg[1], ctx = kReg[3], flags = kReg[4];
    size_t to_helper[3];
    a_.rr(NONE, true, TEST_RM_R, flags, flags);
    to_helper[0] = a_.jcc(kNE);
    a_.alu_imm(true, EXT_CMP, nr, static_cast<int32_t>(ebpf::kMaxLoops));
    to_helper[1] = a_.jcc(kA);
    add_to_nesting(1);  // leaves the new depth in kTmp2
    a_.alu_imm(false, EXT_CMP, kTmp2, ebpf::kMaxCallDepth - 1);  // RunState::call: depth + 2 < 8
    to_helper[2] = a_.jcc(kGE);
    // [rsp] padding, [rsp+8] i, [rsp+16] ctx, [rsp+24] nr: 32 bytes keep the stack aligned.
    a_.push(nr);
    a_.push(ctx);
    a_.rr(NONE, false, XOR_RM_R, kTmp2, kTmp2);
    a_.push(kTmp2);
    a_.push(kTmp2);
    a_.rr(NONE, true, TEST_RM_R, nr, nr);
    const size_t none = a_.jcc(kE);
    const size_t top = a_.pos();
    a_.rm(NONE, true, MOV_R_RM, kTmp, kFrame, kCallbackCallsOff);
    a_.rm(NONE, true, MOV_R_RM, kTmp2, kTmp, 0);
    a_.alu_imm(true, EXT_ADD, kTmp2, 1);
    a_.rm(NONE, true, MOV_RM_R, kTmp2, kTmp, 0);
    a_.alu_imm(true, EXT_CMP, kTmp2, static_cast<int32_t>(RunState::kMaxCallbackCalls));
    const size_t spent = a_.jcc(kA);
    a_.rm(NONE, true, MOV_R_RM, kReg[1], RSP, 8);
    a_.rm(NONE, true, MOV_R_RM, kReg[2], RSP, 16);
    for (int r = 3; r <= 5; ++r) a_.rr(NONE, false, XOR_RM_R, kReg[r], kReg[r]);
    calls_.emplace_back(a_.call(), static_cast<uint32_t>(s.off));
    a_.rm(NONE, true, MOV_R_RM, kTmp, RSP, 8);
    a_.alu_imm(true, EXT_ADD, kTmp, 1);
    a_.rm(NONE, true, MOV_RM_R, kTmp, RSP, 8);
    a_.rr(NONE, true, TEST_RM_R, RAX, RAX);
    const size_t stopped = a_.jcc(kNE);
    a_.rm(NONE, true, CMP_RM_R, kTmp, RSP, 24);  // nr > i + 1: again
    a_.jcc_to(kA, top);
    a_.patch_rel(none, a_.pos());
    a_.rm(NONE, true, MOV_R_RM, RAX, RSP, 24);  // every call made: r0 = nr
    const size_t finished = a_.jmp();
    a_.patch_rel(stopped, a_.pos());
    a_.mov(true, RAX, kTmp);  // the callback stopped the loop: r0 = i + 1
    a_.patch_rel(finished, a_.pos());
    a_.alu_imm(true, EXT_ADD, RSP, 32);
    add_to_nesting(-1);
    const size_t done = a_.jmp();
    a_.patch_rel(spent, a_.pos());  // the run ends, as RunState::call ends it (run_jit names why)
    a_.rm(NONE, false, MOV_RM8_IMM, 0, kFrame, kOwnFaultOff);
    a_.u8(static_cast<uint8_t>(Fault::Budget));
    a_.rm(NONE, false, MOV_RM_IMM, 0, kFrame, kFaultPcOff);
    a_.u32(pc);
    a_.jmp_to(fault_exit_);
    // The depth was raised before its check: lower it again on the way to the helper.
    a_.patch_rel(to_helper[2], a_.pos());
    add_to_nesting(-1);
    a_.patch_rel(to_helper[0], a_.pos());
    a_.patch_rel(to_helper[1], a_.pos());
    call_helper(pc, s.imm);
    a_.patch_rel(done, a_.pos());
  }
  // *frame->nesting += delta; the new value in kTmp2.
  void add_to_nesting(int32_t delta) {
    a_.rm(NONE, true, MOV_R_RM, kTmp, kFrame, kNestingOff);
    a_.rm(NONE, false, MOV_R_RM, kTmp2, kTmp, 0);
    a_.alu_imm(false, EXT_ADD, kTmp2, delta);
    a_.rm(NONE, false, MOV_RM_R, kTmp2, kTmp, 0);
  }

  // BPFQ_ALU_OPS order: ADD SUB MUL DIV SDIV OR AND LSH RSH MOD SMOD XOR MOV ARSH.
  void alu(int k, bool w, bool x, uint8_t dst, uint8_t src, int32_t imm) {
    static constexpr uint8_t kGroup1[] = {EXT_ADD, EXT_SUB, 0, 0, 0, EXT_OR, EXT_AND, 0, 0, 0, 0, EXT_XOR};
    static constexpr uint16_t kRegForm[] = {ADD_RM_R, SUB_RM_R, 0, 0, 0, OR_RM_R, AND_RM_R, 0, 0, 0, 0, XOR_RM_R};
    switch (k) {
      case 0: case 1: case 5: case 6: case 11:
        if (x) a_.rr(NONE, w, kRegForm[k], src, dst);
        else a_.alu_imm(w, kGroup1[k], dst, imm);
        return;
      case 2:  // MUL: the low bits of a product do not depend on signedness
        if (x) {
          a_.rr(NONE, w, IMUL_R_RM, dst, src);
        } else {
          a_.rr(NONE, w, IMUL_R_RM_IMM, dst, dst);
          a_.u32(static_cast<uint32_t>(imm));
        }
        return;
      case 3: divide(w, x, false, false, dst, src, imm); return;
      case 4: divide(w, x, true, false, dst, src, imm); return;
      case 9: divide(w, x, false, true, dst, src, imm); return;
      case 10: divide(w, x, true, true, dst, src, imm); return;
      case 7: shift(w, x, EXT_SHL, dst, src, imm); return;
      case 8: shift(w, x, EXT_SHR, dst, src, imm); return;
      case 13: shift(w, x, EXT_SAR, dst, src, imm); return;
      case 12:  // MOV
        if (x) a_.mov(w, dst, src);
        else a_.mov_imm(dst, w ? static_cast<uint64_t>(static_cast<int64_t>(imm)) : static_cast<uint32_t>(imm));
        return;
    }
  }

  // Shifts count modulo the width, as x86 itself does; a count in a register must be in cl,
  // which is r4's register.
  void shift(bool w, bool x, uint8_t ext, uint8_t dst, uint8_t src, int32_t imm) {
    if (!x) {
      const auto count = static_cast<uint8_t>(imm & (w ? 63 : 31));
      if (count != 0) a_.shift_imm(w, ext, dst, count);
      else if (!w) a_.mov(false, dst, dst);
      return;
    }
    if (src == RCX) {
      a_.rr(NONE, w, SHIFT_CL, ext, dst);
    } else if (dst == RCX) {
      a_.mov(true, kTmp, RCX);
      a_.mov(true, RCX, src);
      a_.rr(NONE, w, SHIFT_CL, ext, kTmp);
      a_.mov(true, RCX, kTmp);
    } else {
      a_.mov(true, kTmp, RCX);
      a_.mov(true, RCX, src);
      a_.rr(NONE, w, SHIFT_CL, ext, dst);
      a_.mov(true, RCX, kTmp);
    }
    if (!w) a_.mov(false, dst, dst);
  }

  // RFC 9669: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, x % -1 = 0 (no trap). div and idiv
  // use rax and rdx, which hold r0 and r3: both are kept in scratch registers meanwhile.
  void divide(bool w, bool x, bool is_signed, bool is_mod, uint8_t dst, uint8_t src, int32_t imm) {
    auto zero_divisor = [&] {
      if (!is_mod) a_.mov_imm(dst, 0);
      else if (!w) a_.mov(false, dst, dst);
    };
    auto minus_one_divisor = [&] {
      if (is_mod) a_.mov_imm(dst, 0);
      else a_.rr(NONE, w, GRP3, EXT_NEG, dst);
    };
    size_t to_zero = SIZE_MAX, to_minus_one = SIZE_MAX;
    if (!x) {
      if (imm == 0) return zero_divisor();
      if (is_signed && imm == -1) return minus_one_divisor();
      a_.mov_imm(kTmp, w ? static_cast<uint64_t>(static_cast<int64_t>(imm)) : static_cast<uint32_t>(imm));
    } else {
      a_.mov(w, kTmp, src);
      a_.rr(NONE, w, TEST_RM_R, kTmp, kTmp);
      to_zero = a_.jcc(kE);
      if (is_signed) {
        a_.alu_imm(w, EXT_CMP, kTmp, -1);
        to_minus_one = a_.jcc(kE);
      }
    }
    a_.mov(true, kTmp2, RAX);
    a_.mov(true, kTmp3, RDX);
    a_.mov(w, RAX, dst);
    if (!is_signed) a_.rr(NONE, false, XOR_RM_R, RDX, RDX);
    else if (w) a_.cqo();
    else a_.cdq();
    a_.rr(NONE, w, GRP3, is_signed ? EXT_IDIV : EXT_DIV, kTmp);
    a_.mov(true, kTmp, is_mod ? RDX : RAX);
    a_.mov(true, RAX, kTmp2);
    a_.mov(true, RDX, kTmp3);
    a_.mov(w, dst, kTmp);
    if (!x) return;
    const size_t to_done = a_.jmp();
    a_.patch_rel(to_zero, a_.pos());
    zero_divisor();
    if (is_signed) {
      const size_t to_done2 = a_.jmp();
      a_.patch_rel(to_minus_one, a_.pos());
      minus_one_divisor();
      a_.patch_rel(to_done2, a_.pos());
    }
    a_.patch_rel(to_done, a_.pos());
  }

  // Atomic fetch-and-{or,and,xor}: x86 has no such instruction, so a compare-exchange loop on
  // rax (r0, kept in a scratch register meanwhile).
  void fetch_op(bool w, uint16_t opc, uint8_t dst, uint8_t src, int32_t offset) {
    a_.rm(NONE, true, LEA, kTmp, dst, offset);
    a_.mov(true, kTmp2, RAX);
    a_.rm(NONE, w, MOV_R_RM, RAX, kTmp, 0);
    const size_t loop = a_.pos();
    a_.mov(true, kTmp3, RAX);
    a_.rr(NONE, w, opc, src == RAX ? kTmp2 : src, kTmp3);
    a_.rm(LOCK, w, CMPXCHG, kTmp3, kTmp, 0);
    a_.jcc_to(kNE, loop);
    a_.mov(w, kTmp3, RAX);
    a_.mov(true, RAX, kTmp2);
    a_.mov(true, src, kTmp3);
  }

  // BPFQ_JMP_OPS order: JEQ JGT JGE JSET JNE JSGT JSGE JLT JLE JSLT JSLE.
  void cond_jump(int k, bool w, bool x, uint8_t dst, uint8_t src, int32_t imm, uint32_t target) {
    static constexpr uint8_t kCond[] = {kE, kA, kAE, kNE, kNE, kG, kGE, kB, kBE, kL, kLE};
    if (k == 3) {  // JSET: test
      if (x) {
        a_.rr(NONE, w, TEST_RM_R, src, dst);
      } else {
        a_.rr(NONE, w, GRP3, EXT_TEST, dst);
        a_.u32(static_cast<uint32_t>(imm));
      }
    } else if (x) {
      a_.rr(NONE, w, CMP_RM_R, src, dst);
    } else if (imm == 0 && (k == 0 || k == 4)) {
      a_.rr(NONE, w, TEST_RM_R, dst, dst);
    } else {
      a_.alu_imm(w, EXT_CMP, dst, imm);
    }
    jump_to_insn(kCond[k], target);
  }

  const std::vector<Slot>& slots_;
  std::vector<uint8_t> is_start_;  // first instructions of sub-programs
  Assembler a_;
  std::vector<uint32_t> label_;  // code offset of each instruction
  std::vector<std::pair<uint32_t, uint32_t>> entries_;  // (first insn, prologue's code offset)
  size_t fault_exit_ = 0;
  std::vector<Jump> jumps_;      // to instructions, in code order (the same in every pass)
  std::vector<uint8_t> short_;   // of each jump: 8-bit in the next pass
  // (displacement at, instruction): calls, helper fault exits.
  std::vector<std::pair<size_t, uint32_t>> calls_, helper_faults_;
};

}  // namespace

// W^X: code is written into a memfd with pwrite() and runs from a mapping of the file that is
// read + execute: no mapping of it is ever writable. The memfds are chunks of one arena for the
// process, each mapped once: a compile appends its code to the current chunk with a single
// system call, where a memfd and a mapping of its own cost a program five (memfd_create, write,
// mmap, close, munmap: 12-15 µs on the development VM). The current chunk starts over once its
// last program is gone, so its pages are written again instead of allocated anew; code never
// changes under a program that runs it. A chunk left behind (full, or shared with a child by
// fork) goes with its last program.
struct CodeChunk {
  int fd = -1;
  uint8_t* view = nullptr;  // read + execute, `capacity` bytes
  size_t capacity = 0;
  size_t end = 0;       // bytes written
  size_t programs = 0;  // live programs in it
};

namespace {

class CodeArena {
 public:
  // Never destroyed: programs in static storage may outlive any destructor's turn.
  static CodeArena& instance() {
    static CodeArena* const arena = new CodeArena;
    return *arena;
  }

  // The code's address in `chunk`, or nullptr where memfds are unavailable (seccomp, old
  // kernels) or may not be mapped executable (vm.memfd_noexec=2).
  const uint8_t* place(const Assembler& code, CodeChunk*& chunk) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t at = current_ ? (current_->end + kAlign - 1) / kAlign * kAlign : 0;
    if (!current_ || at + code.pos() > current_->capacity) {
      if (current_ && current_->programs == 0) destroy(current_);
      current_ = create(std::max(kChunkBytes, round_to_pages(code.pos())));
      if (!current_) return nullptr;
      at = 0;
    }
    const ssize_t written = pwrite(current_->fd, code.data(), code.pos(), static_cast<off_t>(at));
    current_->end = at + code.pos();  // a failed write's bytes are not used again either
    if (written != static_cast<ssize_t>(code.pos())) return nullptr;
    // Under valgrind: these addresses may have held other code, which it translated and cached;
    // it cannot see a pwrite() change them.
    VALGRIND_DISCARD_TRANSLATIONS(current_->view + at, code.pos());
    ++current_->programs;
    chunk = current_;
    return current_->view + at;
  }

  void release(CodeChunk* chunk) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--chunk->programs != 0) return;
    if (chunk == current_) chunk->end = 0;
    else destroy(chunk);
  }

 private:
  static constexpr size_t kChunkBytes = size_t{1} << 20;  // address space; pages come as written
  static constexpr size_t kAlign = 64;                    // each program starts a cache line

  CodeArena() {
    // After fork, parent and child share the current chunk's file, and each may run the code in
    // it: both leave it behind, so that neither writes where the other's programs are.
    pthread_atfork([] { instance().mutex_.lock(); }, [] { instance().leave_current(); },
                   [] { instance().leave_current(); });
  }

  void leave_current() {  // with mutex_ held, which it unlocks
    if (current_ && current_->programs == 0) destroy(current_);
    current_ = nullptr;
    mutex_.unlock();
  }

  static size_t round_to_pages(size_t bytes) {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (bytes + page - 1) / page * page;
  }

  static CodeChunk* create(size_t capacity) {
    const int fd = memfd_create("bpfq-jit", MFD_CLOEXEC);
    if (fd < 0) return nullptr;
    // The file grows with each write; the view covers the chunk from the start.
    void* view = mmap(nullptr, capacity, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (view == MAP_FAILED) {
      close(fd);
      return nullptr;
    }
    return new CodeChunk{fd, static_cast<uint8_t*>(view), capacity};
  }

  static void destroy(CodeChunk* chunk) {
    munmap(chunk->view, chunk->capacity);
    close(chunk->fd);
    delete chunk;
  }

  std::mutex mutex_;
  CodeChunk* current_ = nullptr;  // where the next program goes
};

// The fallback: anonymous memory written while only writable, then made read + execute.
void* map_anonymous(const Assembler& code, size_t mapped) {
  void* mem = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw Error("JIT: cannot map " + std::to_string(mapped) + " bytes: " + std::strerror(errno));
  std::memcpy(mem, code.data(), code.pos());
  if (mprotect(mem, mapped, PROT_READ | PROT_EXEC) != 0) {
    const int e = errno;
    munmap(mem, mapped);
    throw Error(std::string("JIT: cannot make code executable: ") + std::strerror(e));
  }
  return mem;
}
}  // namespace

JitCodePtr JitCode::compile(const std::vector<Slot>& slots,
                                          const std::vector<uint32_t>& callback_targets) {
  JitCodePtr jit(new JitCode);
  const Assembler code = Translator(slots, callback_targets).translate(jit->entries_);
  jit->size_ = code.pos();
  if (const uint8_t* placed = CodeArena::instance().place(code, jit->chunk_)) {
    jit->code_ = placed;
  } else {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    jit->mapped_ = (code.pos() + page - 1) / page * page;
    jit->code_ = static_cast<const uint8_t*>(map_anonymous(code, jit->mapped_));
  }
  jit->main_entry_ = reinterpret_cast<uint64_t>(jit->code_) + jit->entries_.front().second;
  return jit;
}

JitCode::~JitCode() {
  if (chunk_) CodeArena::instance().release(chunk_);
  else if (code_) munmap(const_cast<uint8_t*>(code_), mapped_);
}

#else  // not x86-64: programs run on the interpreter
bool jit_supported() { return false; }
JitCodePtr JitCode::compile(const std::vector<Slot>&, const std::vector<uint32_t>&) {
  throw Error("the JIT runs only on x86-64");
}
JitCode::~JitCode() = default;
#endif

uint32_t JitCode::offset_of(uint32_t insn) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair<uint32_t, uint32_t>{insn, 0});
  return it->second;
}

}  // namespace bpfq::exec
