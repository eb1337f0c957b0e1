#pragma once
// The pre-decoded form the interpreter runs: one Slot per instruction, same indices as the
// original program (the second half of an lddw becomes an unused slot), plus a sentinel.
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <bpfq/exec/program.hpp>

namespace bpfq::exec {

// Every operation the interpreter dispatches on. X-macro so the enum and the label table
// in the interpreter cannot drift apart.
#define BPFQ_ALU_OPS(W)                                                                       \
  W(ADD) W(SUB) W(MUL) W(DIV) W(SDIV) W(OR) W(AND) W(LSH) W(RSH) W(MOD) W(SMOD) W(XOR) W(MOV) \
  W(ARSH)
#define BPFQ_JMP_OPS(W) W(JEQ) W(JGT) W(JGE) W(JSET) W(JNE) W(JSGT) W(JSGE) W(JLT) W(JLE) W(JSLT) W(JSLE)

#define BPFQ_OPS(X)                                                                  \
  BPFQ_ALU_OPS(X##_ALU64_K) BPFQ_ALU_OPS(X##_ALU64_X) BPFQ_ALU_OPS(X##_ALU32_K)      \
  BPFQ_ALU_OPS(X##_ALU32_X)                                                          \
  X(NEG64) X(NEG32) X(MOVSX64_8) X(MOVSX64_16) X(MOVSX64_32) X(MOVSX32_8) X(MOVSX32_16) \
  X(LE16) X(LE32) X(LE64) X(BE16) X(BE32) X(BE64)                                    \
  X(LDXB) X(LDXH) X(LDXW) X(LDXDW) X(LDXSB) X(LDXSH) X(LDXSW)                         \
  X(STB) X(STH) X(STW) X(STDW) X(STXB) X(STXH) X(STXW) X(STXDW)                       \
  X(AADD32) X(AOR32) X(AAND32) X(AXOR32) X(AFADD32) X(AFOR32) X(AFAND32) X(AFXOR32)   \
  X(AXCHG32) X(ACMPXCHG32)                                                           \
  X(AADD64) X(AOR64) X(AAND64) X(AXOR64) X(AFADD64) X(AFOR64) X(AFAND64) X(AFXOR64)   \
  X(AXCHG64) X(ACMPXCHG64)                                                           \
  X(LDDW) X(JA)                                                                      \
  BPFQ_JMP_OPS(X##_JMP_K) BPFQ_JMP_OPS(X##_JMP_X) BPFQ_JMP_OPS(X##_JMP32_K)          \
  BPFQ_JMP_OPS(X##_JMP32_X)                                                          \
  X(CALL_HELPER) X(ARRAY_LOOKUP) X(LOAD_WORD) X(XCHG_WORD) X(LOOP) X(CALL_LOCAL) X(EXIT) X(FELL_OFF_END)

// Token pasting helpers: OP_ADD_ALU64_K etc.
#define BPFQ_OP_ENUM(name) OP_##name,
#define BPFQ_OP_ENUM_ALU64_K(name) OP_##name##_ALU64_K,
#define BPFQ_OP_ENUM_ALU64_X(name) OP_##name##_ALU64_X,
#define BPFQ_OP_ENUM_ALU32_K(name) OP_##name##_ALU32_K,
#define BPFQ_OP_ENUM_ALU32_X(name) OP_##name##_ALU32_X,
#define BPFQ_OP_ENUM_JMP_K(name) OP_##name##_JMP_K,
#define BPFQ_OP_ENUM_JMP_X(name) OP_##name##_JMP_X,
#define BPFQ_OP_ENUM_JMP32_K(name) OP_##name##_JMP32_K,
#define BPFQ_OP_ENUM_JMP32_X(name) OP_##name##_JMP32_X,

enum Op : uint16_t { BPFQ_OPS(BPFQ_OP_ENUM) OP_COUNT };

struct Slot {
  uint16_t op;
  uint8_t dst;
  uint8_t src;
  int32_t off;   // memory offset; for jumps, local calls and LOOP's callback the target index
  uint64_t imm;  // sign-extended imm32; lddw value; helper function pointer; ARRAY_LOOKUP: its
                 // ArrayLookup*; LOAD_WORD: the word's address
};
static_assert(sizeof(Slot) == 16);

// Callback values (lddw PSEUDO_FUNC) are tagged instruction indices, opaque to programs.
inline constexpr uint64_t kCallbackTag = 0xcb00'0000'0000'0000ULL;

class JitCode;  // jit.hpp
struct JitCodeDeleter {
  void operator()(JitCode* code) const;
};
using JitCodePtr = std::unique_ptr<JitCode, JitCodeDeleter>;

struct Program::Impl {
  std::vector<ebpf::Insn> insns;
  std::vector<Slot> slots;               // insns.size() + 1 (sentinel)
  std::vector<MemRegion> regions;        // static regions from the LinkEnv
  std::vector<uint32_t> callback_targets;  // sorted instruction indices
  std::deque<ArrayLookup> lookups;         // of the ARRAY_LOOKUP slots (stable addresses)
  bool checked = false;
  uint64_t insn_budget = 0;
  JitCodePtr jit;  // Backend::Jit: the machine code run instead
};

}  // namespace bpfq::exec
