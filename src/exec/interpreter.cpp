// The interpreter: threaded (computed-goto) dispatch over pre-decoded Slots.
// Instantiated twice: fast (no per-access checks) and checked (bounds + budget).
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>

#include "decoded.hpp"
#include "jit.hpp"
#include "run_state.hpp"

namespace bpfq::exec {

namespace {
// Makes `rc` the current run for helpers until the scope ends (runs nest for callbacks).
struct CurrentRun {
  explicit CurrentRun(RunState* rc) : prev(detail::current_run) { detail::current_run = rc; }
  ~CurrentRun() { detail::current_run = prev; }
  RunContext* prev;
};

template <typename T>
inline T load(uint64_t addr) {
  T v;
  __builtin_memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
  return v;
}
template <typename T>
inline void store(uint64_t addr, T v) {
  __builtin_memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}

inline bool inside(const MemRegion& r, uint64_t a, uint64_t n) {
  return a >= r.begin && n <= r.end - r.begin && a - r.begin <= r.end - r.begin - n;
}
}  // namespace

// The public face forwards to the state behind it.
bool RunContext::may_access_checked(uint64_t p, uint64_t len, bool write) const {
  return static_cast<const RunState*>(this)->may_access(p, len, write);
}
void RunContext::grant_checked(uint64_t p, uint64_t len, bool writable) {
  static_cast<RunState*>(this)->grant(p, len, writable);
}
void RunContext::fail(const char* detail) { static_cast<RunState*>(this)->fail(detail); }
bool RunContext::is_callback(uint64_t fn) const { return static_cast<const RunState*>(this)->is_callback(fn); }
uint64_t RunContext::call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  return static_cast<RunState*>(this)->call(fn, a1, a2, a3, a4, a5);
}
bool RunContext::failed() const { return static_cast<const RunState*>(this)->result_.fault != Fault::None; }

// Checked runs only (RunContext::may_access answers for the others).
bool RunState::may_access(uint64_t a, uint64_t n, bool write) const {
  auto ok = [&](const MemRegion& r) { return inside(r, a, n) && (!write || r.writable); };
  if (ok(ctx_)) return true;
  for (int i = 0; i < n_stacks_; ++i)
    if (ok(stacks_[i])) return true;
  // Consecutive accesses mostly stay in one map value or packet field: the region that let the
  // last one through is tried before the scans.
  if (last_hit_.end != 0 && ok(last_hit_)) return true;  // end 0: nothing cached
  auto remember = [&](const MemRegion& r) {
    last_hit_ = r;
    return true;
  };
  for (const MemRegion& r : prog_.regions)
    if (ok(r)) return remember(r);
  for (const MemRegion& r : extra_)
    if (ok(r)) return remember(r);
  for (int i = 0, k = next_grant_; i < n_grants_; ++i) {  // newest first: the likeliest
    k = (k + kMaxGrants - 1) % kMaxGrants;
    if (ok(grants_[k])) return remember(grants_[k]);
  }
  return false;
}

// Checked runs only (RunContext::grant does nothing for the others).
void RunState::grant(uint64_t p, uint64_t len, bool writable) {
  if (p + len < p) return;  // a region that wraps would cover everything
  // A region granted among the last kRecentGrants (a map value looked up on every loop
  // iteration) needs no new slot. Their addresses are kept in an array of their own, so the
  // look back is a few compares without branches, not a walk through the slots.
  if (n_grants_ > 0) {  // before the first grant, the ring's zeros mean nothing
    unsigned match = 0;  // independent compares, no chain through a running index
    for (int i = 0; i < kRecentGrants; ++i) match |= unsigned{recent_begin_[i] == p} << i;
    for (; match != 0; match &= match - 1) {
      const MemRegion& previous = grants_[recent_slot_[__builtin_ctz(match)]];
      if (previous.begin == p && previous.end == p + len && (previous.writable || !writable)) return;
    }
  }
  // A bounded table: the oldest grant is recycled. A program keeping a map value's pointer
  // across more than kMaxGrants lookups of other values would lose it (a false fault).
  if (n_grants_ == kMaxGrants) last_hit_ = {};  // it may be the grant recycled
  grants_[next_grant_] = {p, p + len, writable};
  recent_begin_[next_recent_] = p;
  recent_slot_[next_recent_] = static_cast<uint8_t>(next_grant_);
  next_recent_ = (next_recent_ + 1) & (kRecentGrants - 1);
  next_grant_ = (next_grant_ + 1) & (kMaxGrants - 1);
  if (n_grants_ < kMaxGrants) ++n_grants_;
}

void RunState::fail(const char* detail) {
  if (result_.fault != Fault::None) return;
  result_.fault = Fault::HelperFault;
  result_.detail = detail;
}

bool RunState::is_callback(uint64_t fn) const {
  if (fn == known_callback_) return true;  // a loop's helper asks for every iteration
  if ((fn & 0xff00'0000'0000'0000ULL) != kCallbackTag) return false;
  const uint64_t t = fn & 0xffff'ffffULL;
  const auto& v = prog_.callback_targets;
  if (!std::binary_search(v.begin(), v.end(), static_cast<uint32_t>(t))) return false;
  known_callback_ = fn;
  return true;
}

struct Interpreter {
  // Runs from `start` with r1..r5 set; returns r0. Faults are recorded in rc.result_.
  template <bool Checked>
  static uint64_t execute(RunState& rc, const Slot* start, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5);
};

template <bool Checked>
uint64_t Interpreter::execute(RunState& rc, const Slot* start, uint64_t a1, uint64_t a2,
                              uint64_t a3, uint64_t a4, uint64_t a5) {
#define BPFQ_LABEL(name) &&L_##name,
#define BPFQ_LABEL_ALU64_K(name) &&L_##name##_ALU64_K,
#define BPFQ_LABEL_ALU64_X(name) &&L_##name##_ALU64_X,
#define BPFQ_LABEL_ALU32_K(name) &&L_##name##_ALU32_K,
#define BPFQ_LABEL_ALU32_X(name) &&L_##name##_ALU32_X,
#define BPFQ_LABEL_JMP_K(name) &&L_##name##_JMP_K,
#define BPFQ_LABEL_JMP_X(name) &&L_##name##_JMP_X,
#define BPFQ_LABEL_JMP32_K(name) &&L_##name##_JMP32_K,
#define BPFQ_LABEL_JMP32_X(name) &&L_##name##_JMP32_X,
  static const void* const kLabels[OP_COUNT] = {BPFQ_OPS(BPFQ_LABEL)};

  struct Frame {
    const Slot* ret;
    uint64_t saved[5];  // r6..r9, r10
  };
  const Slot* const base = rc.prog_.slots.data();
  alignas(16) uint8_t stack[ebpf::kMaxCallDepth * ebpf::kStackSize];
  Frame frames[ebpf::kMaxCallDepth];
  int depth = 0;
  uint64_t reg[ebpf::kNumRegs];
  reg[0] = 0;
  reg[1] = a1, reg[2] = a2, reg[3] = a3, reg[4] = a4, reg[5] = a5;
  reg[6] = reg[7] = reg[8] = reg[9] = 0;
  reg[10] = reinterpret_cast<uint64_t>(stack + sizeof stack);
  // Checked mode: uninitialised stack reads are deterministic (zero). Only the frames in use are
  // accessible (the current one and its callers', which may pass pointers to their stack), so
  // each frame is zeroed when it first becomes accessible: the same as zeroing the whole stack
  // up front, without paying for the frames a run never reaches.
  uint8_t* zeroed_from = stack + sizeof stack;
  (void)zeroed_from;  // fast mode does not zero
  if constexpr (Checked) {
    zeroed_from -= ebpf::kStackSize;
    std::memset(zeroed_from, 0, ebpf::kStackSize);
    rc.stacks_[rc.n_stacks_++] = {reg[10] - ebpf::kStackSize,
                                  reinterpret_cast<uint64_t>(stack + sizeof stack), true};
  }
  uint64_t budget = 0;  // checked mode's instructions left
  if constexpr (Checked) budget = rc.budget_;
  const Slot* pc = start;

#define FAULT(kind, address, bytes)                             \
  do {                                                          \
    rc.result_.fault = Fault::kind;                             \
    rc.result_.pc = static_cast<uint32_t>(pc - base);           \
    rc.result_.addr = (address);                                \
    rc.result_.size = (bytes);                                  \
    goto out;                                                   \
  } while (0)
#define DISPATCH()                                     \
  do {                                                 \
    if constexpr (Checked) {                           \
      if (__builtin_expect(budget-- == 0, 0)) FAULT(Budget, 0, 0); \
    }                                                  \
    goto* kLabels[pc->op];                             \
  } while (0)
#define NEXT() \
  do {         \
    ++pc;      \
    DISPATCH(); \
  } while (0)
#define DST reg[pc->dst]
#define SRC reg[pc->src]
#define IMM pc->imm
#define CHECK(addr, n, write)                                                        \
  do {                                                                               \
    if constexpr (Checked) {                                                         \
      if (__builtin_expect(!rc.may_access((addr), (n), (write)), 0)) {               \
        if ((write) && rc.may_access((addr), (n), false)) FAULT(ReadOnly, (addr), (n)); \
        FAULT(OutOfBounds, (addr), (n));                                             \
      }                                                                              \
    }                                                                                \
  } while (0)

  DISPATCH();

  // ---- ALU: one body per operation, instantiated for K/X and 32/64 ----
// Variadic so that bodies may contain commas.
#define ALU64(name, ...)            \
  L_##name##_ALU64_K : {            \
    const uint64_t s = IMM;         \
    __VA_ARGS__;                    \
    NEXT();                         \
  }                                 \
  L_##name##_ALU64_X : {            \
    const uint64_t s = SRC;         \
    __VA_ARGS__;                    \
    NEXT();                         \
  }
#define ALU32(name, ...)                           \
  L_##name##_ALU32_K : {                           \
    const uint32_t s = static_cast<uint32_t>(IMM); \
    const uint32_t d = static_cast<uint32_t>(DST); \
    (void)d;                                       \
    __VA_ARGS__;                                   \
    NEXT();                                        \
  }                                                \
  L_##name##_ALU32_X : {                           \
    const uint32_t s = static_cast<uint32_t>(SRC); \
    const uint32_t d = static_cast<uint32_t>(DST); \
    (void)d;                                       \
    __VA_ARGS__;                                   \
    NEXT();                                        \
  }
  ALU64(ADD, DST += s)
  ALU64(SUB, DST -= s)
  ALU64(MUL, DST *= s)
  ALU64(DIV, DST = s ? DST / s : 0)
  ALU64(SDIV, {
          const int64_t a = static_cast<int64_t>(DST), b = static_cast<int64_t>(s);
          DST = b == 0 ? 0 : (a == INT64_MIN && b == -1) ? static_cast<uint64_t>(a) : static_cast<uint64_t>(a / b);
        })
  ALU64(OR, DST |= s)
  ALU64(AND, DST &= s)
  ALU64(LSH, DST <<= (s & 63))
  ALU64(RSH, DST >>= (s & 63))
  ALU64(MOD, DST = s ? DST % s : DST)
  ALU64(SMOD, {
          const int64_t a = static_cast<int64_t>(DST), b = static_cast<int64_t>(s);
          DST = b == 0 ? DST : b == -1 ? 0 : static_cast<uint64_t>(a % b);
        })
  ALU64(XOR, DST ^= s)
  ALU64(MOV, DST = s)
  ALU64(ARSH, DST = static_cast<uint64_t>(static_cast<int64_t>(DST) >> (s & 63)))

  ALU32(ADD, DST = static_cast<uint32_t>(d + s))
  ALU32(SUB, DST = static_cast<uint32_t>(d - s))
  ALU32(MUL, DST = static_cast<uint32_t>(d * s))
  ALU32(DIV, DST = s ? d / s : 0)
  ALU32(SDIV, {
    const int32_t a = static_cast<int32_t>(d), b = static_cast<int32_t>(s);
    DST = static_cast<uint32_t>(b == 0 ? 0 : (a == INT32_MIN && b == -1) ? a : a / b);
  })
  ALU32(OR, DST = d | s)
  ALU32(AND, DST = d & s)
  ALU32(LSH, DST = static_cast<uint32_t>(d << (s & 31)))
  ALU32(RSH, DST = d >> (s & 31))
  ALU32(MOD, DST = s ? d % s : d)
  ALU32(SMOD, {
    const int32_t a = static_cast<int32_t>(d), b = static_cast<int32_t>(s);
    DST = static_cast<uint32_t>(b == 0 ? a : b == -1 ? 0 : a % b);
  })
  ALU32(XOR, DST = d ^ s)
  ALU32(MOV, DST = s)
  ALU32(ARSH, DST = static_cast<uint32_t>(static_cast<int32_t>(d) >> (s & 31)))

L_NEG64 : DST = -DST; NEXT();
L_NEG32 : DST = static_cast<uint32_t>(-static_cast<uint32_t>(DST)); NEXT();
L_MOVSX64_8 : DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(SRC))); NEXT();
L_MOVSX64_16 : DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(SRC))); NEXT();
L_MOVSX64_32 : DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(SRC))); NEXT();
L_MOVSX32_8 : DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(SRC))); NEXT();
L_MOVSX32_16 : DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(SRC))); NEXT();
L_LE16 : DST = static_cast<uint16_t>(DST); NEXT();
L_LE32 : DST = static_cast<uint32_t>(DST); NEXT();
L_LE64 : NEXT();
L_BE16 : DST = __builtin_bswap16(static_cast<uint16_t>(DST)); NEXT();
L_BE32 : DST = __builtin_bswap32(static_cast<uint32_t>(DST)); NEXT();
L_BE64 : DST = __builtin_bswap64(DST); NEXT();

  // ---- memory ----
#define LDX(name, T, ext)                   \
  L_##name : {                              \
    const uint64_t a = SRC + pc->off;       \
    CHECK(a, sizeof(T), false);             \
    DST = static_cast<ext>(load<T>(a));     \
    NEXT();                                 \
  }
  LDX(LDXB, uint8_t, uint64_t)
  LDX(LDXH, uint16_t, uint64_t)
  LDX(LDXW, uint32_t, uint64_t)
  LDX(LDXDW, uint64_t, uint64_t)
  LDX(LDXSB, int8_t, int64_t)
  LDX(LDXSH, int16_t, int64_t)
  LDX(LDXSW, int32_t, int64_t)
#define ST(name, T, value)                  \
  L_##name : {                              \
    const uint64_t a = DST + pc->off;       \
    CHECK(a, sizeof(T), true);              \
    store<T>(a, static_cast<T>(value));     \
    NEXT();                                 \
  }
  ST(STB, uint8_t, IMM)
  ST(STH, uint16_t, IMM)
  ST(STW, uint32_t, IMM)
  ST(STDW, uint64_t, IMM)
  ST(STXB, uint8_t, SRC)
  ST(STXH, uint16_t, SRC)
  ST(STXW, uint32_t, SRC)
  ST(STXDW, uint64_t, SRC)

  // ---- atomics: sequentially consistent, like the kernel's lock-prefixed forms ----
#define ATOMIC_ADDR(T)                                                   \
  const uint64_t a = DST + pc->off;                                      \
  CHECK(a, sizeof(T), true);                                             \
  if constexpr (Checked) {                                               \
    if (a % sizeof(T)) FAULT(Misaligned, a, sizeof(T));                  \
  }                                                                      \
  T* p = reinterpret_cast<T*>(a);
#define ATOMIC_RMW(name, T, builtin, fetch)                                  \
  L_##name : {                                                               \
    ATOMIC_ADDR(T)                                                           \
    const T old = builtin(p, static_cast<T>(SRC), __ATOMIC_SEQ_CST);         \
    if (fetch) SRC = old;                                                    \
    NEXT();                                                                  \
  }
  ATOMIC_RMW(AADD32, uint32_t, __atomic_fetch_add, false)
  ATOMIC_RMW(AOR32, uint32_t, __atomic_fetch_or, false)
  ATOMIC_RMW(AAND32, uint32_t, __atomic_fetch_and, false)
  ATOMIC_RMW(AXOR32, uint32_t, __atomic_fetch_xor, false)
  ATOMIC_RMW(AFADD32, uint32_t, __atomic_fetch_add, true)
  ATOMIC_RMW(AFOR32, uint32_t, __atomic_fetch_or, true)
  ATOMIC_RMW(AFAND32, uint32_t, __atomic_fetch_and, true)
  ATOMIC_RMW(AFXOR32, uint32_t, __atomic_fetch_xor, true)
  ATOMIC_RMW(AXCHG32, uint32_t, __atomic_exchange_n, true)
  ATOMIC_RMW(AADD64, uint64_t, __atomic_fetch_add, false)
  ATOMIC_RMW(AOR64, uint64_t, __atomic_fetch_or, false)
  ATOMIC_RMW(AAND64, uint64_t, __atomic_fetch_and, false)
  ATOMIC_RMW(AXOR64, uint64_t, __atomic_fetch_xor, false)
  ATOMIC_RMW(AFADD64, uint64_t, __atomic_fetch_add, true)
  ATOMIC_RMW(AFOR64, uint64_t, __atomic_fetch_or, true)
  ATOMIC_RMW(AFAND64, uint64_t, __atomic_fetch_and, true)
  ATOMIC_RMW(AFXOR64, uint64_t, __atomic_fetch_xor, true)
  ATOMIC_RMW(AXCHG64, uint64_t, __atomic_exchange_n, true)
#define ATOMIC_CMPXCHG_OP(name, T)                                                         \
  L_##name : {                                                                             \
    ATOMIC_ADDR(T)                                                                         \
    T expected = static_cast<T>(reg[0]);                                                   \
    __atomic_compare_exchange_n(p, &expected, static_cast<T>(SRC), false, __ATOMIC_SEQ_CST, \
                                __ATOMIC_SEQ_CST);                                         \
    reg[0] = expected; /* the old value either way, zero-extended for 32 bits */           \
    NEXT();                                                                                \
  }
  ATOMIC_CMPXCHG_OP(ACMPXCHG32, uint32_t)
  ATOMIC_CMPXCHG_OP(ACMPXCHG64, uint64_t)

L_LDDW : DST = IMM; pc += 2; DISPATCH();

  // ---- jumps ----
L_JA : pc = base + pc->off; DISPATCH();
// One conditional jump on operands of type T, with an immediate (K) or register (X) source.
#define JMP_OPS(label, T, cond)                                   \
  L_##label##_K : {                                               \
    const T d = static_cast<T>(DST), s = static_cast<T>(IMM);      \
    pc = (cond) ? base + pc->off : pc + 1;                        \
    DISPATCH();                                                   \
  }                                                               \
  L_##label##_X : {                                               \
    const T d = static_cast<T>(DST), s = static_cast<T>(SRC);      \
    pc = (cond) ? base + pc->off : pc + 1;                        \
    DISPATCH();                                                   \
  }
// Both widths: JMP compares 64-bit operands, JMP32 their low 32 bits.
#define JMP(name, T64, T32, cond) JMP_OPS(name##_JMP, T64, cond) JMP_OPS(name##_JMP32, T32, cond)
  JMP(JEQ, uint64_t, uint32_t, d == s)
  JMP(JNE, uint64_t, uint32_t, d != s)
  JMP(JGT, uint64_t, uint32_t, d > s)
  JMP(JGE, uint64_t, uint32_t, d >= s)
  JMP(JLT, uint64_t, uint32_t, d < s)
  JMP(JLE, uint64_t, uint32_t, d <= s)
  JMP(JSET, uint64_t, uint32_t, (d & s) != 0)
  JMP(JSGT, int64_t, int32_t, d > s)
  JMP(JSGE, int64_t, int32_t, d >= s)
  JMP(JSLT, int64_t, int32_t, d < s)
  JMP(JSLE, int64_t, int32_t, d <= s)

L_LOOP :  // bpf_loop with a known callback: the JIT runs it in place, the interpreter calls it
L_CALL_HELPER : {
    const HelperFn fn = reinterpret_cast<HelperFn>(IMM);
    if constexpr (Checked) rc.budget_ = budget;
    reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
    if constexpr (Checked) {
      budget = rc.budget_;  // callbacks run by the helper spent from the same budget
      if (__builtin_expect(rc.result_.fault != Fault::None, 0)) {
        if (rc.result_.pc == kNoPc) rc.result_.pc = static_cast<uint32_t>(pc - base);
        goto out;
      }
    } else if (__builtin_expect(rc.result_.fault != Fault::None, 0)) {
      if (rc.result_.pc == kNoPc) rc.result_.pc = static_cast<uint32_t>(pc - base);
      goto out;  // a helper may refuse even in fast mode (e.g. an invalid callback)
    }
    NEXT();
  }
L_ARRAY_LOOKUP : {  // an inlined bpf_map_lookup_elem (unchecked runs only: see decoder.cpp)
    const auto& a = *reinterpret_cast<const ArrayLookup*>(IMM);
    uint32_t key;
    std::memcpy(&key, reinterpret_cast<const void*>(reg[2]), sizeof key);
    reg[0] = key < a.max_entries ? a.values + uint64_t{key} * a.stride : 0;
    NEXT();
  }
L_LOAD_WORD : {  // an inlined helper that reads a word (unchecked runs only: see decoder.cpp)
    reg[0] = reinterpret_cast<const std::atomic<uint64_t>*>(IMM)->load(std::memory_order_relaxed);
    NEXT();
  }
L_XCHG_WORD : {  // an inlined bpf_kptr_xchg (unchecked runs only: see decoder.cpp)
    const uint64_t old = load<uint64_t>(reg[1]);
    store<uint64_t>(reg[1], reg[2]);
    reg[0] = old;
    NEXT();
  }
L_CALL_LOCAL : {
    if (__builtin_expect(depth + 1 >= ebpf::kMaxCallDepth, 0)) FAULT(CallDepth, 0, 0);
    Frame& f = frames[depth++];
    f.ret = pc + 1;
    std::memcpy(f.saved, &reg[6], sizeof f.saved);
    reg[10] -= ebpf::kStackSize;
    if constexpr (Checked) {
      uint8_t* frame = reinterpret_cast<uint8_t*>(reg[10] - ebpf::kStackSize);
      if (frame < zeroed_from) {
        std::memset(frame, 0, static_cast<size_t>(zeroed_from - frame));
        zeroed_from = frame;
      }
      rc.stacks_[rc.n_stacks_ - 1].begin = reg[10] - ebpf::kStackSize;
    }
    pc = base + pc->off;
    DISPATCH();
  }
L_EXIT : {
    if (depth == 0) goto out;
    const Frame& f = frames[--depth];
    std::memcpy(&reg[6], f.saved, sizeof f.saved);
    if constexpr (Checked) rc.stacks_[rc.n_stacks_ - 1].begin = reg[10] - ebpf::kStackSize;
    pc = f.ret;
    DISPATCH();
  }
L_FELL_OFF_END : FAULT(FellOffEnd, 0, 0);

out:
  if constexpr (Checked) {
    rc.budget_ = budget;
    --rc.n_stacks_;
  }
  return reg[0];

#undef FAULT
#undef DISPATCH
#undef NEXT
#undef DST
#undef SRC
#undef IMM
#undef CHECK
}

RunResult Program::run(void* ctx, uint64_t ctx_len, const RunOptions& opts) const {
  RunResult result;
  RunState rc(*impl_, opts.user, result);
  const uint64_t c = reinterpret_cast<uint64_t>(ctx);
  if (checked_) rc.init_checked(opts.extra, {c, c + (ctx ? ctx_len : 0), true});
  CurrentRun scope(&rc);
  result.r0 = rc.run_from(0, c, ctx_len, 0, 0, 0);
  return result;  // built in place: the caller's object all along
}

inline uint64_t RunState::run_from(uint32_t insn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                   uint64_t a5) {
  if (prog_.jit) return run_jit(insn, a1, a2, a3, a4, a5);
  const Slot* start = prog_.slots.data() + insn;
  return checked() ? Interpreter::execute<true>(*this, start, a1, a2, a3, a4, a5)
                   : Interpreter::execute<false>(*this, start, a1, a2, a3, a4, a5);
}

// Inline in run_from: on every run of a JIT program, where a call of its own cost 20 instructions.
[[gnu::always_inline]] inline uint64_t RunState::run_jit(uint32_t insn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                             uint64_t a5) {
  JitFrame frame;
  frame.target = prog_.jit->entry(insn);
  frame.args[0] = a1, frame.args[1] = a2, frame.args[2] = a3, frame.args[3] = a4, frame.args[4] = a5;
  frame.fault = &result_.fault;
  frame.own_fault = Fault::None;
  frame.fault_pc = kNoPc;
  frame.callback_calls = &callback_calls_;
  frame.nesting = &nesting_;
  const uint64_t r0 = prog_.jit->run(frame);
  if (frame.own_fault != Fault::None && result_.fault == Fault::None) {
    result_.fault = frame.own_fault;
    if (frame.own_fault == Fault::Budget) result_.detail = kCallbackBudgetSpent;  // a LOOP's calls
  }
  if (result_.fault != Fault::None && result_.pc == kNoPc) result_.pc = frame.fault_pc;
  return r0;
}

uint64_t RunState::call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  if (!is_callback(fn)) {
    fail("callback is not a sub-program of this program");
    result_.fault = Fault::BadCallback;
    return 0;
  }
  if (nesting_ + 2 >= ebpf::kMaxCallDepth) {  // the outermost run holds one stack too
    result_.fault = Fault::CallDepth;
    return 0;
  }
  // Fast mode has no instruction budget: a verified program's own code ends, but helpers may call
  // back 2^23 times each, nested. The run stops past 2^23 callback calls in all (as checked
  // mode's budget would).
  if (!checked() && ++callback_calls_ > kMaxCallbackCalls) {
    if (result_.fault == Fault::None) {
      result_.fault = Fault::Budget;
      result_.detail = kCallbackBudgetSpent;
    }
    return 0;
  }
  ++nesting_;
  const uint64_t r0 = run_from(static_cast<uint32_t>(fn & 0xffff'ffffULL), a1, a2, a3, a4, a5);
  --nesting_;
  return r0;
}

}  // namespace bpfq::exec
