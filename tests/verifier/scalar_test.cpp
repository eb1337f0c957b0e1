// The scalar abstract domain: soundness against the interpreter on random abstract values (every
// concrete result of concrete members must be a member of the abstract result), and precision
// on the cases the verifier depends on.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/exec/program.hpp>

#include "../../src/verifier/scalar.hpp"

namespace bpfq::verifier {
namespace {

namespace e = bpfq::ebpf;
using e::Insn;

// ---- the oracle: tiny programs run by the interpreter on ctx = {a, b} ----

constexpr Insn kLoadA = Insn::make(e::LDX | e::MEM | e::DW, 0, 1, 0);  // r0 = a
constexpr Insn kLoadB = Insn::make(e::LDX | e::MEM | e::DW, 2, 1, 8);  // r2 = b
constexpr Insn kExit = Insn::make(e::JMP | e::EXIT);

exec::Program load(std::vector<Insn> body) {
  std::vector<Insn> p = {kLoadA, kLoadB};
  p.insert(p.end(), body.begin(), body.end());
  p.push_back(kExit);
  return exec::Program::load(p);
}

uint64_t run(const exec::Program& prog, uint64_t a, uint64_t b = 0) {
  uint64_t ctx[2] = {a, b};
  const exec::RunResult r = prog.run(ctx, sizeof ctx);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.r0;
}

const AluOp kAluOps[] = {AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::Mod, AluOp::SDiv, AluOp::SMod,
                         AluOp::Or,  AluOp::And, AluOp::Xor, AluOp::Lsh, AluOp::Rsh, AluOp::Arsh};
const CmpOp kCmpOps[] = {CmpOp::Eq,  CmpOp::Ne,  CmpOp::Gt,  CmpOp::Ge,  CmpOp::Lt, CmpOp::Le,
                         CmpOp::SGt, CmpOp::SGe, CmpOp::SLt, CmpOp::SLe, CmpOp::Set};

const char* name(AluOp op) {
  static const char* const names[] = {"add", "sub", "mul", "div", "mod", "sdiv", "smod",
                                      "or",  "and", "xor", "lsh", "rsh", "arsh"};
  return names[static_cast<int>(op)];
}
const char* name(CmpOp op) {
  static const char* const names[] = {"jeq",  "jne",  "jgt",  "jge",  "jlt", "jle",
                                      "jsgt", "jsge", "jslt", "jsle", "jset"};
  return names[static_cast<int>(op)];
}

// "r0 op= r2" in the given width.
Insn alu_insn(AluOp op, bool is32) {
  static const uint8_t codes[] = {e::ADD, e::SUB, e::MUL, e::DIV, e::MOD, e::DIV, e::MOD,
                                  e::OR,  e::AND, e::XOR, e::LSH, e::RSH, e::ARSH};
  const int16_t off = op == AluOp::SDiv || op == AluOp::SMod ? 1 : 0;
  return Insn::make((is32 ? e::ALU : e::ALU64) | codes[static_cast<int>(op)] | e::X, 0, 2, off);
}

// r0 = (r3 op r4) ? 1 : 0
exec::Program load_branch(CmpOp op, bool is32) {
  static const uint8_t codes[] = {e::JEQ,  e::JNE,  e::JGT,  e::JGE,  e::JLT, e::JLE,
                                  e::JSGT, e::JSGE, e::JSLT, e::JSLE, e::JSET};
  const std::vector<Insn> p = {
      Insn::make(e::LDX | e::MEM | e::DW, 3, 1, 0),
      Insn::make(e::LDX | e::MEM | e::DW, 4, 1, 8),
      Insn::make(e::ALU64 | e::MOV | e::K, 0, 0, 0, 1),
      Insn::make((is32 ? e::JMP32 : e::JMP) | codes[static_cast<int>(op)] | e::X, 3, 4, 1),
      Insn::make(e::ALU64 | e::MOV | e::K, 0, 0, 0, 0),
      kExit,
  };
  return exec::Program::load(p);
}

std::string dump(const Scalar& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{var_off=(0x%" PRIx64 "; 0x%" PRIx64 ") u=[0x%" PRIx64 ", 0x%" PRIx64 "] s=[%" PRId64
                ", %" PRId64 "] u32=[0x%x, 0x%x] s32=[%d, %d]}",
                s.bits.value, s.bits.mask, s.umin, s.umax, s.smin, s.smax, s.u32min, s.u32max, s.s32min,
                s.s32max);
  return buf;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// Every component well formed and already at sync's fixpoint-or-consistent state.
bool consistent(const Scalar& s) {
  Scalar t = s;
  return t.sync();
}

// ---- random abstract values and their members ----

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  uint64_t u64() { return rng_(); }
  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }
  bool coin(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  uint64_t between(uint64_t lo, uint64_t hi) {  // inclusive, lo <= hi
    const uint64_t span = hi - lo;
    return span == ~uint64_t{0} ? rng_() : lo + below(span + 1);
  }
  int64_t sbetween(int64_t lo, int64_t hi) {
    return static_cast<int64_t>(
        between(static_cast<uint64_t>(lo) ^ (1ull << 63), static_cast<uint64_t>(hi) ^ (1ull << 63)) ^
        (1ull << 63));
  }

  // Values near the boundaries where wrapping and sign changes happen.
  uint64_t interesting() {
    static const uint64_t anchors[] = {0,
                                       1,
                                       2,
                                       7,
                                       0x7f,
                                       0x80,
                                       0xff,
                                       0x100,
                                       0x7fff,
                                       0x8000,
                                       0xffff,
                                       0x10000,
                                       0x7fffffff,
                                       0x80000000,
                                       0xffffffff,
                                       0x100000000,
                                       0x17fffffff,
                                       0x1ffffffff,
                                       1ull << 62,
                                       INT64_MAX,
                                       1ull << 63,
                                       UINT64_MAX,
                                       UINT64_MAX - 0x7fffffff,
                                       0xffffffff80000000ull};
    switch (below(5)) {
      case 0: return u64();
      case 1: return below(64);
      case 2: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(u64())));
      default: {
        const uint64_t a = anchors[below(std::size(anchors))];
        return coin(50) ? a : a + below(9) - 4;
      }
    }
  }

  Scalar scalar(int depth) {
    for (;;) {
      if (auto s = try_scalar(depth); s && consistent(*s)) return *s;
    }
  }

  // A concrete member of s (range ends included), or nullopt if none was found.
  std::optional<uint64_t> member(const Scalar& s) {
    for (int tries = 0; tries < 200; ++tries) {
      uint64_t x = 0;
      switch (below(10)) {
        case 0: x = s.umin; break;
        case 1: x = s.umax; break;
        case 2: x = static_cast<uint64_t>(s.smin); break;
        case 3: x = static_cast<uint64_t>(s.smax); break;
        case 4: x = between(s.umin, s.umax); break;
        case 5: x = static_cast<uint64_t>(sbetween(s.smin, s.smax)); break;
        case 6: x = s.bits.value | (u64() & s.bits.mask); break;
        case 7:  // 64-bit range, then a low half from a 32-bit range
          x = (between(s.umin, s.umax) & ~0xffffffffull) |
              (coin(50) ? between(s.u32min, s.u32max) : static_cast<uint32_t>(sbetween(s.s32min, s.s32max)));
          break;
        case 8: x = coin(50) ? s.umin + below(4) : s.umax - below(4); break;
        default:
          x = coin(50) ? static_cast<uint64_t>(s.smin) + below(4) : static_cast<uint64_t>(s.smax) - below(4);
      }
      if (coin(50)) x = (x & s.bits.mask) | s.bits.value;
      if (s.contains(x)) return x;
    }
    return std::nullopt;
  }

  using Unary = std::function<Scalar(const Scalar&)>;
  static const std::vector<std::pair<std::string, Unary>>& unaries();

 private:
  std::optional<Scalar> try_scalar(int depth) {
    const int kinds = depth > 0 ? 14 : 10;
    switch (below(kinds)) {
      case 0: return Scalar::constant(interesting());
      case 1: return corner();
      case 2: {  // a small unsigned range around a boundary
        const uint64_t c = interesting(), w = below(3) == 0 ? below(1 << 20) : below(40);
        const uint64_t lo = c - below(w + 1);
        return lo <= lo + w ? Scalar::urange(lo, lo + w) : Scalar::urange(lo, UINT64_MAX);
      }
      case 3: {  // a small signed range around a boundary
        const auto c = static_cast<int64_t>(interesting());
        const auto w = static_cast<int64_t>(below(3) == 0 ? below(1 << 20) : below(40));
        const int64_t lo = c > INT64_MIN + w ? c - w : INT64_MIN;
        return Scalar::srange(lo, lo <= INT64_MAX - w ? lo + w : INT64_MAX);
      }
      case 4: {
        uint64_t a = interesting(), b = interesting();
        if (a > b) std::swap(a, b);
        return Scalar::urange(a, b);
      }
      case 5: {
        auto a = static_cast<int64_t>(interesting()), b = static_cast<int64_t>(interesting());
        if (a > b) std::swap(a, b);
        return Scalar::srange(a, b);
      }
      case 6: {  // known bits: a random mask of some density, or a low-bits mask
        uint64_t m = u64();
        for (int i = static_cast<int>(below(4)); i > 0; --i) m &= u64();
        if (coin(30)) m = (1ull << below(64)) - 1;
        Scalar s;
        s.bits = {u64() & ~m, m};
        if (!s.sync()) return std::nullopt;
        return s;
      }
      case 7: {  // low-half ranges only
        Scalar s;
        uint32_t a = static_cast<uint32_t>(interesting()), b = static_cast<uint32_t>(interesting());
        if (a > b) std::swap(a, b);
        if (coin(50)) {
          s.u32min = a, s.u32max = b;
        } else {
          s.s32min = std::min(static_cast<int32_t>(a), static_cast<int32_t>(b));
          s.s32max = std::max(static_cast<int32_t>(a), static_cast<int32_t>(b));
        }
        if (coin(40)) s.umax = 0xffffffff + below(4) * 0x100000000ull;
        if (!s.sync()) return std::nullopt;
        return s;
      }
      case 8: {
        const int bytes = 1 << below(4);
        return coin(50) ? Scalar::unknown_of_size(bytes) : Scalar::unknown_signed_of_size(bytes);
      }
      case 9: return coin(25) ? Scalar::unknown() : corner();
      case 10:
      case 11: {  // the result of an earlier operation
        const Scalar a = scalar(depth - 1), b = scalar(depth - 1);
        const AluOp op = kAluOps[below(std::size(kAluOps))];
        return coin(50) ? Scalar::alu64(op, a, b) : Scalar::alu32(op, a, b);
      }
      case 12: {  // narrowed by a branch
        Scalar a = scalar(depth - 1), b = coin(60) ? Scalar::constant(interesting()) : scalar(depth - 1);
        if (!Scalar::refine(kCmpOps[below(std::size(kCmpOps))], coin(50), a, b, coin(30)))
          return std::nullopt;
        return a;
      }
      default: {
        const Scalar a = scalar(depth - 1);
        if (coin(50)) return a.join(scalar(depth - 1));
        const auto& u = unaries();
        return u[below(u.size())].second(a);
      }
    }
  }

  // Ranges ending at the values where signed and unsigned arithmetic overflow or trap
  // (INT_MIN / -1, x / 0, sign changes), in 64 and 32 bits.
  Scalar corner() {
    const auto w = static_cast<int64_t>(coin(50) ? below(4) + 1 : below(1000) + 1);
    Scalar s;
    switch (below(10)) {
      case 0: return Scalar::srange(INT64_MIN, INT64_MIN + w);
      case 1: return Scalar::srange(INT64_MAX - w, INT64_MAX);
      case 2: return Scalar::srange(-w, -1);
      case 3: return Scalar::srange(-1, w);
      case 4: return Scalar::srange(-w, w);
      case 5: return Scalar::urange(UINT64_MAX - static_cast<uint64_t>(w), UINT64_MAX);
      case 6: return Scalar::urange(0, static_cast<uint64_t>(w));
      case 7: s.s32min = INT32_MIN, s.s32max = INT32_MIN + static_cast<int32_t>(w); break;
      case 8: s.s32min = -static_cast<int32_t>(w), s.s32max = coin(50) ? -1 : static_cast<int32_t>(w); break;
      default: s.u32min = UINT32_MAX - static_cast<uint32_t>(w), s.u32max = UINT32_MAX; break;
    }
    if (coin(50)) s.umax = UINT32_MAX;
    s.sync();
    return s;
  }

  std::mt19937_64 rng_;
};

const std::vector<std::pair<std::string, Gen::Unary>>& Gen::unaries() {
  static const std::vector<std::pair<std::string, Unary>> list = {
      {"neg64", [](const Scalar& s) { return s.neg64(); }},
      {"neg32", [](const Scalar& s) { return s.neg32(); }},
      {"zext32", [](const Scalar& s) { return s.zext32(); }},
      {"truncate1", [](const Scalar& s) { return s.truncate(1); }},
      {"truncate2", [](const Scalar& s) { return s.truncate(2); }},
      {"truncate4", [](const Scalar& s) { return s.truncate(4); }},
      {"truncate8", [](const Scalar& s) { return s.truncate(8); }},
      {"sext1", [](const Scalar& s) { return s.sext(1); }},
      {"sext2", [](const Scalar& s) { return s.sext(2); }},
      {"sext4", [](const Scalar& s) { return s.sext(4); }},
      {"sext8", [](const Scalar& s) { return s.sext(8); }},
      {"sext32_1", [](const Scalar& s) { return s.sext32(1); }},
      {"sext32_2", [](const Scalar& s) { return s.sext32(2); }},
      {"sext32_4", [](const Scalar& s) { return s.sext32(4); }},
      {"bswap16", [](const Scalar& s) { return s.bswap(16); }},
      {"bswap32", [](const Scalar& s) { return s.bswap(32); }},
      {"bswap64", [](const Scalar& s) { return s.bswap(64); }},
      {"zext_low16", [](const Scalar& s) { return s.zext_low(16); }},
      {"zext_low32", [](const Scalar& s) { return s.zext_low(32); }},
      {"zext_low64", [](const Scalar& s) { return s.zext_low(64); }},
  };
  return list;
}

// The interpreter's version of each unary operation on r0.
std::vector<Insn> unary_body(const std::string& op) {
  const Insn spill = Insn::make(e::STX | e::MEM | e::DW, 10, 0, -8);
  if (op == "neg64") return {Insn::make(e::ALU64 | e::NEG, 0)};
  if (op == "neg32") return {Insn::make(e::ALU | e::NEG, 0)};
  if (op == "zext32" || op == "truncate4" || op == "sext32_4")
    return {Insn::make(e::ALU | e::MOV | e::X, 0, 0)};
  if (op == "truncate1") return {spill, Insn::make(e::LDX | e::MEM | e::B, 0, 10, -8)};
  if (op == "truncate2") return {spill, Insn::make(e::LDX | e::MEM | e::H, 0, 10, -8)};
  if (op == "truncate8" || op == "sext8" || op == "zext_low64") return {};
  if (op == "sext1") return {Insn::make(e::ALU64 | e::MOV | e::X, 0, 0, 8)};
  if (op == "sext2") return {Insn::make(e::ALU64 | e::MOV | e::X, 0, 0, 16)};
  if (op == "sext4") return {Insn::make(e::ALU64 | e::MOV | e::X, 0, 0, 32)};
  if (op == "sext32_1") return {Insn::make(e::ALU | e::MOV | e::X, 0, 0, 8)};
  if (op == "sext32_2") return {Insn::make(e::ALU | e::MOV | e::X, 0, 0, 16)};
  if (op.starts_with("bswap")) return {Insn::make(e::ALU64 | e::END, 0, 0, 0, std::stoi(op.substr(5)))};
  return {Insn::make(e::ALU | e::END | e::TO_LE, 0, 0, 0, std::stoi(op.substr(8)))};  // zext_low
}

constexpr uint64_t kSeed = 0x5ca1a7;
constexpr int kPairs = 500;   // abstract operand pairs per operation
constexpr int kSamples = 16;  // concrete pairs drawn from each

// Stops one operation's loop after a handful of failures to keep the log readable.
constexpr int kMaxFailures = 5;

TEST(ScalarSoundness, AluResultsHoldEveryConcreteResult) {
  Gen gen(kSeed);
  uint64_t checks = 0, misses = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const bool is32 : {false, true}) {
    for (const AluOp op : kAluOps) {
      const exec::Program prog = load({alu_insn(op, is32)});
      int failures = 0;
      for (int i = 0; i < kPairs && failures < kMaxFailures; ++i) {
        const Scalar A = gen.scalar(2);
        // Shift amounts: mostly in range, like compiled code.
        const Scalar B = (op == AluOp::Lsh || op == AluOp::Rsh || op == AluOp::Arsh) && gen.coin(60)
                             ? Scalar::alu64(AluOp::And, gen.scalar(1), Scalar::constant(is32 ? 31 : 63))
                             : gen.scalar(2);
        const Scalar R = is32 ? Scalar::alu32(op, A, B) : Scalar::alu64(op, A, B);
        if (!consistent(R)) {
          ADD_FAILURE() << name(op) << (is32 ? "32" : "64") << " inconsistent " << dump(R);
          ++failures;
        }
        for (int j = 0; j < kSamples; ++j) {
          const auto a = gen.member(A), b = gen.member(B);
          if (!a || !b) {
            ++misses;
            continue;
          }
          const uint64_t r = run(prog, *a, *b);
          ++checks;
          if (!R.contains(r)) {
            ADD_FAILURE() << name(op) << (is32 ? "32 " : "64 ") << hex(*a) << ", " << hex(*b) << " = "
                          << hex(r) << "\n  A=" << dump(A) << "\n  B=" << dump(B) << "\n  R=" << dump(R);
            if (++failures >= kMaxFailures) break;
          }
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ scalar   ] alu: %" PRIu64 " checks (%" PRIu64 " samples not found) in %.2f s\n", checks,
              misses, secs);
  EXPECT_LT(misses, checks / 20);  // the sampler finds members of nearly every value
}

TEST(ScalarSoundness, UnaryResultsHoldEveryConcreteResult) {
  Gen gen(kSeed + 1);
  uint64_t checks = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [op, fn] : Gen::unaries()) {
    const exec::Program prog = load(unary_body(op));
    int failures = 0;
    for (int i = 0; i < kPairs && failures < kMaxFailures; ++i) {
      const Scalar A = gen.scalar(2);
      const Scalar R = fn(A);
      if (!consistent(R)) {
        ADD_FAILURE() << op << " inconsistent " << dump(R);
        ++failures;
      }
      for (int j = 0; j < kSamples; ++j) {
        const auto a = gen.member(A);
        if (!a) continue;
        const uint64_t r = run(prog, *a);
        ++checks;
        if (!R.contains(r)) {
          ADD_FAILURE() << op << " " << hex(*a) << " = " << hex(r) << "\n  A=" << dump(A)
                        << "\n  R=" << dump(R);
          if (++failures >= kMaxFailures) break;
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ scalar   ] unary: %" PRIu64 " checks in %.2f s\n", checks, secs);
}

TEST(ScalarSoundness, BranchesNeverContradictTheInterpreter) {
  Gen gen(kSeed + 2);
  uint64_t checks = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const bool is32 : {false, true}) {
    for (const CmpOp op : kCmpOps) {
      const exec::Program prog = load_branch(op, is32);
      int failures = 0;
      for (int i = 0; i < kPairs && failures < kMaxFailures; ++i) {
        const Scalar A = gen.scalar(2);
        // Constants drawn from A make equal operands and range ends common.
        Scalar B = gen.scalar(2);
        if (gen.coin(40)) {
          const auto x = gen.member(A);
          const uint64_t ends[] = {
              A.umin,   A.umax,   static_cast<uint64_t>(A.smin),   static_cast<uint64_t>(A.smax),
              A.u32min, A.u32max, static_cast<uint64_t>(A.s32min), static_cast<uint64_t>(A.s32max)};
          uint64_t c = gen.coin(40) && x ? *x
                       : gen.coin(50)    ? ends[gen.below(8)] + gen.below(3) - 1
                                         : gen.interesting();
          B = Scalar::constant(c);
        }
        const auto decided = Scalar::branch_taken(op, A, B, is32);
        Scalar At = A, Bt = B, Af = A, Bf = B;
        const bool feasible_t = Scalar::refine(op, true, At, Bt, is32);
        const bool feasible_f = Scalar::refine(op, false, Af, Bf, is32);
        for (const Scalar* s : {&At, &Bt, &Af, &Bf}) {
          if (!consistent(*s)) {
            ADD_FAILURE() << name(op) << " inconsistent " << dump(*s);
            ++failures;
          }
        }
        for (int j = 0; j < kSamples; ++j) {
          const auto a = gen.member(A);
          auto b = gen.member(B);
          if (a && gen.coin(25) && B.contains(*a)) b = a;
          if (!a || !b) continue;
          const bool outcome = run(prog, *a, *b) != 0;
          ++checks;
          const bool kept = outcome ? feasible_t && At.contains(*a) && Bt.contains(*b)
                                    : feasible_f && Af.contains(*a) && Bf.contains(*b);
          const bool agrees = !decided || *decided == outcome;
          if (!kept || !agrees) {
            const Scalar& Ra = outcome ? At : Af;
            const Scalar& Rb = outcome ? Bt : Bf;
            ADD_FAILURE() << name(op) << (is32 ? "32 " : " ") << hex(*a) << ", " << hex(*b) << " is "
                          << (outcome ? "taken" : "not taken")
                          << (agrees ? "" : " but branch_taken disagrees") << "\n  A=" << dump(A)
                          << "\n  B=" << dump(B) << "\n  A'=" << dump(Ra) << "\n  B'=" << dump(Rb)
                          << " feasible=" << (outcome ? feasible_t : feasible_f);
            if (++failures >= kMaxFailures) break;
          }
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ scalar   ] branch: %" PRIu64 " checks in %.2f s\n", checks, secs);
}

// Components set independently (so mostly contradictory or loose): sync must keep every value
// that satisfies all of them, and may only fail when there is none.
TEST(ScalarSoundness, SyncKeepsEveryMember) {
  Gen gen(kSeed + 3);
  uint64_t checks = 0;
  for (int i = 0; i < 20000; ++i) {
    Scalar s;
    auto urange = [&](uint64_t& lo, uint64_t& hi) {
      uint64_t a = gen.interesting(), b = gen.interesting();
      if (a > b) std::swap(a, b);
      lo = a, hi = b;
    };
    if (gen.coin(50)) urange(s.umin, s.umax);
    if (gen.coin(50)) {
      uint64_t a, b;
      urange(a, b);
      s.smin = std::min(static_cast<int64_t>(a), static_cast<int64_t>(b));
      s.smax = std::max(static_cast<int64_t>(a), static_cast<int64_t>(b));
    }
    if (gen.coin(50)) {
      uint64_t a, b;
      urange(a, b);
      s.u32min = std::min(static_cast<uint32_t>(a), static_cast<uint32_t>(b));
      s.u32max = std::max(static_cast<uint32_t>(a), static_cast<uint32_t>(b));
    }
    if (gen.coin(50)) {
      uint64_t a, b;
      urange(a, b);
      s.s32min = std::min(static_cast<int32_t>(a), static_cast<int32_t>(b));
      s.s32max = std::max(static_cast<int32_t>(a), static_cast<int32_t>(b));
    }
    if (gen.coin(50)) {
      const uint64_t m = gen.u64() | gen.u64();
      s.bits = {gen.u64() & ~m, m};
    }
    const auto x = gen.member(s);
    Scalar t = s;
    const bool ok = t.sync();
    if (!x) continue;
    ++checks;
    ASSERT_TRUE(ok && t.contains(*x)) << hex(*x) << " lost: " << dump(s) << " -> " << dump(t);
  }
  EXPECT_GT(checks, 5000u);
}

TEST(ScalarSoundness, JoinHoldsBothOperands) {
  Gen gen(kSeed + 4);
  for (int i = 0; i < 5000; ++i) {
    const Scalar a = gen.scalar(1), b = gen.scalar(1);
    const Scalar j = a.join(b);
    ASSERT_TRUE(j.contains(a) && j.contains(b)) << dump(a) << " | " << dump(b) << " = " << dump(j);
    ASSERT_TRUE(consistent(j));
  }
}

// ---- precision ----

void expect_u(const Scalar& s, uint64_t lo, uint64_t hi) {
  EXPECT_EQ(s.umin, lo) << dump(s);
  EXPECT_EQ(s.umax, hi) << dump(s);
}
void expect_s(const Scalar& s, int64_t lo, int64_t hi) {
  EXPECT_EQ(s.smin, lo) << dump(s);
  EXPECT_EQ(s.smax, hi) << dump(s);
}

TEST(TnumPrecision, RangeArithmeticAndJoin) {
  EXPECT_EQ(Tnum::range(0, 255), (Tnum{0, 0xff}));
  EXPECT_EQ(Tnum::range(0x10, 0x17), (Tnum{0x10, 0x7}));
  EXPECT_EQ(Tnum::range(5, 5), Tnum::constant(5));
  EXPECT_EQ(Tnum::range(0, UINT64_MAX), Tnum::unknown());
  EXPECT_EQ(Tnum::constant(5).join(Tnum::constant(7)), (Tnum{5, 2}));
  EXPECT_FALSE(Tnum::constant(5).meet(Tnum::constant(7)).has_value());
  EXPECT_EQ(Tnum::range(0, 255).meet(Tnum{0x40, ~uint64_t{0x40}}), (Tnum{0x40, 0xbf}));
  EXPECT_TRUE((Tnum{0, 0xff}).contains(Tnum{0x40, 0x0f}));
  EXPECT_FALSE((Tnum{0, 0x0f}).contains(Tnum{0x40, 0x0f}));
  // The kernel documentation's example: byte load, | 0x40, + 1.
  const Scalar byte = Scalar::unknown_of_size(1);
  const Scalar ored = Scalar::alu64(AluOp::Or, byte, Scalar::constant(0x40));
  EXPECT_EQ(ored.bits, (Tnum{0x40, 0xbf}));
  EXPECT_EQ(Scalar::alu64(AluOp::Add, ored, Scalar::constant(1)).bits, (Tnum{0, 0x1ff}));
}

TEST(ScalarPrecision, ConstantsFoldExactlyForEveryOperation) {
  Gen gen(kSeed + 5);
  for (const bool is32 : {false, true}) {
    for (const AluOp op : kAluOps) {
      const exec::Program prog = load({alu_insn(op, is32)});
      for (int i = 0; i < 300; ++i) {
        const uint64_t a = gen.interesting(), b = gen.coin(10) ? 0 : gen.interesting();
        const Scalar r = is32 ? Scalar::alu32(op, Scalar::constant(a), Scalar::constant(b))
                              : Scalar::alu64(op, Scalar::constant(a), Scalar::constant(b));
        const uint64_t want = run(prog, a, b);
        ASSERT_TRUE(r.is_const()) << name(op) << " " << hex(a) << ", " << hex(b) << " " << dump(r);
        ASSERT_EQ(r.const_value(), want) << name(op) << (is32 ? "32 " : " ") << hex(a) << ", " << hex(b);
        ASSERT_EQ(r, Scalar::constant(want));
      }
    }
  }
  for (const auto& [op, fn] : Gen::unaries()) {
    const exec::Program prog = load(unary_body(op));
    for (int i = 0; i < 200; ++i) {
      const uint64_t a = gen.interesting();
      const Scalar r = fn(Scalar::constant(a));
      ASSERT_TRUE(r.is_const()) << op << " " << hex(a);
      ASSERT_EQ(r.const_value(), run(prog, a)) << op << " " << hex(a);
    }
  }
}

TEST(ScalarPrecision, DivisionAndModuloFollowRfc9669) {
  const Scalar seven = Scalar::constant(7), zero = Scalar::constant(0);
  const Scalar int_min = Scalar::constant(1ull << 63), minus1 = Scalar::constant(UINT64_MAX);
  EXPECT_EQ(Scalar::alu64(AluOp::Div, seven, zero), zero);
  EXPECT_EQ(Scalar::alu64(AluOp::Mod, seven, zero), seven);
  EXPECT_EQ(Scalar::alu64(AluOp::SDiv, seven, zero), zero);
  EXPECT_EQ(Scalar::alu64(AluOp::SMod, seven, zero), seven);
  EXPECT_EQ(Scalar::alu64(AluOp::SDiv, int_min, minus1), int_min);
  EXPECT_EQ(Scalar::alu64(AluOp::SMod, int_min, minus1), zero);
  EXPECT_EQ(Scalar::alu64(AluOp::SMod, Scalar::constant(-7), Scalar::constant(2)), Scalar::constant(-1));
  EXPECT_EQ(Scalar::alu64(AluOp::SDiv, Scalar::constant(-7), Scalar::constant(2)), Scalar::constant(-3));
  // 32-bit: operands' low halves, result zero-extended.
  EXPECT_EQ(Scalar::alu32(AluOp::SDiv, Scalar::constant(0x80000000), Scalar::constant(UINT64_MAX)),
            Scalar::constant(0x80000000));
  EXPECT_EQ(Scalar::alu32(AluOp::SMod, Scalar::constant(0x80000000), Scalar::constant(UINT64_MAX)), zero);
  EXPECT_EQ(Scalar::alu32(AluOp::SMod, Scalar::constant(-7), Scalar::constant(2)),
            Scalar::constant(0xffffffff));
  EXPECT_EQ(Scalar::alu32(AluOp::Mod, Scalar::constant(0x100000007), zero), seven);
  // Ranges.
  expect_u(Scalar::alu64(AluOp::Div, Scalar::urange(0, 100), Scalar::urange(0, 10)), 0, 100);
  expect_u(Scalar::alu64(AluOp::Div, Scalar::urange(20, 100), Scalar::urange(2, 10)), 2, 50);
  expect_u(Scalar::alu64(AluOp::Div, Scalar::urange(20, 100), Scalar::constant(4)), 5, 25);
  expect_u(Scalar::alu64(AluOp::Mod, Scalar::unknown(), Scalar::constant(10)), 0, 9);
  expect_u(Scalar::alu64(AluOp::Mod, Scalar::urange(3, 5), Scalar::urange(10, 20)), 3, 5);
  expect_u(Scalar::alu64(AluOp::Mod, Scalar::urange(0, 100), Scalar::urange(0, 10)), 0, 100);
  expect_u(Scalar::alu64(AluOp::Mod, Scalar::urange(12, 14), Scalar::constant(10)), 2, 4);
  EXPECT_EQ(Scalar::alu64(AluOp::Mod, Scalar::unknown(), Scalar::constant(8)).bits, (Tnum{0, 7}));
  expect_s(Scalar::alu64(AluOp::SMod, Scalar::srange(-100, 100), Scalar::constant(10)), -9, 9);
  // INT_MIN / -1 wraps to INT_MIN even when neither operand is a constant.
  const Scalar q =
      Scalar::alu64(AluOp::SDiv, Scalar::srange(INT64_MIN, INT64_MIN + 1), Scalar::srange(-2, -1));
  EXPECT_TRUE(q.contains(uint64_t{1} << 63)) << q.to_string();
  expect_s(q, INT64_MIN, INT64_MAX);  // INT_MIN and 2^62: the hull wraps round
  const Scalar q32 = Scalar::alu32(AluOp::SDiv, Scalar::constant(0x80000000), Scalar::srange(-2, -1));
  EXPECT_TRUE(q32.contains(uint64_t{0x80000000})) << q32.to_string();
  expect_s(Scalar::alu64(AluOp::SDiv, Scalar::srange(-100, 100), Scalar::constant(-10)), -10, 10);
}

TEST(ScalarPrecision, AddAndSubOfRangesWithoutOverflow) {
  const Scalar r = Scalar::alu64(AluOp::Add, Scalar::urange(10, 20), Scalar::urange(1, 5));
  expect_u(r, 11, 25);
  expect_s(r, 11, 25);
  EXPECT_EQ(r.u32min, 11u);
  EXPECT_EQ(r.u32max, 25u);
  expect_s(Scalar::alu64(AluOp::Sub, Scalar::srange(-5, 5), Scalar::constant(3)), -8, 2);
  expect_s(Scalar::alu64(AluOp::Add, Scalar::srange(-5, 5), Scalar::srange(-1, 1)), -6, 6);
  // Every sum wraps: the range survives, shifted.
  expect_u(Scalar::alu64(AluOp::Add, Scalar::urange(UINT64_MAX - 1, UINT64_MAX), Scalar::constant(3)), 1, 2);
  // Some sums wrap: nothing certain in unsigned terms, but signed is exact.
  const Scalar w =
      Scalar::alu64(AluOp::Add, Scalar::urange(UINT64_MAX - 1, UINT64_MAX), Scalar::urange(0, 3));
  expect_s(w, -2, 2);
  // 32-bit add: [0xfffffff0, 0xffffffff] + 0x20 wraps in 32 bits.
  const Scalar a32 =
      Scalar::alu32(AluOp::Add, Scalar::urange(0xfffffff0, 0xffffffff), Scalar::constant(0x20));
  expect_u(a32, 0x10, 0x1f);
  expect_u(Scalar::alu32(AluOp::Sub, Scalar::urange(10, 20), Scalar::constant(10)), 0, 10);
  expect_s(Scalar::srange(-3, 7).neg64(), -7, 3);
}

TEST(ScalarPrecision, BitwiseOperationsWithConstants) {
  const Scalar masked = Scalar::alu64(AluOp::And, Scalar::unknown(), Scalar::constant(0xff));
  expect_u(masked, 0, 255);
  expect_s(masked, 0, 255);
  EXPECT_EQ(masked.bits, (Tnum{0, 0xff}));
  EXPECT_EQ(masked.u32max, 255u);
  expect_u(Scalar::alu32(AluOp::And, Scalar::unknown(), Scalar::constant(0xff)), 0, 255);
  expect_u(Scalar::alu64(AluOp::And, Scalar::srange(-5, 7), Scalar::constant(0xff)), 0, 255);
  const Scalar ored = Scalar::alu64(AluOp::Or, Scalar::urange(0, 15), Scalar::constant(0x100));
  expect_u(ored, 0x100, 0x10f);
  EXPECT_EQ(ored.bits, (Tnum{0x100, 0xf}));
  EXPECT_EQ(Scalar::alu64(AluOp::Xor, Scalar::urange(0, 15), Scalar::constant(0xf0)).bits, (Tnum{0xf0, 0xf}));
}

TEST(ScalarPrecision, ShiftsByConstants) {
  expect_u(Scalar::alu64(AluOp::Rsh, Scalar::urange(0, 1000), Scalar::constant(3)), 0, 125);
  expect_u(Scalar::alu64(AluOp::Rsh, Scalar::unknown(), Scalar::constant(56)), 0, 255);
  expect_u(Scalar::alu32(AluOp::Rsh, Scalar::unknown(), Scalar::constant(24)), 0, 255);
  expect_u(Scalar::alu64(AluOp::Lsh, Scalar::urange(1, 10), Scalar::constant(4)), 16, 160);
  expect_s(Scalar::alu64(AluOp::Lsh, Scalar::srange(-2, 3), Scalar::constant(8)), -512, 768);
  expect_s(Scalar::alu64(AluOp::Arsh, Scalar::srange(-1000, 1000), Scalar::constant(2)), -250, 250);
  expect_s(Scalar::alu32(AluOp::Arsh, Scalar::constant(0x80000000), Scalar::constant(31)), 0xffffffff,
           0xffffffff);
  // Amounts are masked: 64 is 0 for 64-bit shifts, 32 is 0 for 32-bit ones.
  EXPECT_EQ(Scalar::alu64(AluOp::Lsh, Scalar::constant(3), Scalar::constant(64)), Scalar::constant(3));
  EXPECT_EQ(Scalar::alu32(AluOp::Lsh, Scalar::constant(3), Scalar::constant(33)), Scalar::constant(6));
  // A variable amount in [0, 3].
  expect_u(Scalar::alu64(AluOp::Lsh, Scalar::urange(1, 2), Scalar::urange(0, 3)), 1, 16);
  // Overflowing left shift: the tnum still knows the low bits are zero.
  const Scalar big = Scalar::alu64(AluOp::Lsh, Scalar::unknown(), Scalar::constant(4));
  EXPECT_EQ(big.bits, (Tnum{0, ~uint64_t{0xf}}));
}

TEST(ScalarPrecision, WidthChanges) {
  const Scalar any = Scalar::unknown();
  expect_u(any.zext32(), 0, 0xffffffff);
  expect_u(any.truncate(1), 0, 0xff);
  expect_u(any.truncate(2), 0, 0xffff);
  expect_u(any.truncate(4), 0, 0xffffffff);
  EXPECT_EQ(any.truncate(8), any);
  expect_u(Scalar::urange(0x100000010, 0x100000020).zext32(), 0x10, 0x20);
  expect_u(Scalar::urange(0x1fe, 0x1ff).truncate(1), 0xfe, 0xff);
  expect_s(any.sext(1), -128, 127);
  expect_s(any.sext(2), -32768, 32767);
  expect_s(any.sext(4), INT32_MIN, INT32_MAX);
  expect_s(Scalar::urange(0x7e, 0x7f).sext(1), 0x7e, 0x7f);
  const Scalar s32 = any.sext32(1);
  EXPECT_EQ(s32.s32min, -128);
  EXPECT_EQ(s32.s32max, 127);
  EXPECT_EQ(s32.umax, 0xffffffffu);
  EXPECT_EQ(Scalar::constant(0x1234).bswap(16), Scalar::constant(0x3412));
  EXPECT_EQ(Scalar::unknown_of_size(1).bswap(16).bits, (Tnum{0, 0xff00}));
  EXPECT_EQ(Scalar::unknown_of_size(1).bswap(64).bits, (Tnum{0, 0xff00000000000000}));
  expect_u(any.zext_low(16), 0, 0xffff);
  expect_u(Scalar::unknown_of_size(2), 0, 0xffff);
  expect_s(Scalar::unknown_signed_of_size(2), -32768, 32767);
}

TEST(ScalarPrecision, RefineUnsignedAndSignedCompares) {
  Scalar x = Scalar::unknown(), ten = Scalar::constant(10);
  ASSERT_TRUE(Scalar::refine(CmpOp::Lt, true, x, ten, false));
  expect_u(x, 0, 9);
  EXPECT_EQ(ten, Scalar::constant(10));
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::Lt, false, x, ten, false));
  expect_u(x, 10, UINT64_MAX);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::Ge, true, x, ten, false));
  expect_u(x, 10, UINT64_MAX);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::Le, true, x, ten, false));
  expect_u(x, 0, 10);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::Gt, false, x, ten, false));
  expect_u(x, 0, 10);

  Scalar five = Scalar::constant(5);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::SGt, true, x, five, false));
  expect_s(x, 6, INT64_MAX);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::SGt, false, x, five, false));
  expect_s(x, INT64_MIN, 5);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::SLe, true, x, five, false));
  expect_s(x, INT64_MIN, 5);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::SGe, true, x, five, false));
  expect_s(x, 5, INT64_MAX);
  expect_u(x, 5, INT64_MAX);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::SLt, true, x, five, false));
  expect_s(x, INT64_MIN, 4);
  // Both sides narrow: x < y with x in [3, 10] and y in [0, 8].
  Scalar a = Scalar::urange(3, 10), b = Scalar::urange(0, 8);
  ASSERT_TRUE(Scalar::refine(CmpOp::Lt, true, a, b, false));
  expect_u(a, 3, 7);
  expect_u(b, 4, 8);
  // A range check on a signed value proves it non-negative.
  x = Scalar::unknown_signed_of_size(4);
  Scalar zero = Scalar::constant(0);
  ASSERT_TRUE(Scalar::refine(CmpOp::SGe, true, x, zero, false));
  expect_u(x, 0, INT32_MAX);
}

// x (unknown) compared with the constant 10 on either side, in both widths, on both edges.
TEST(ScalarPrecision, RefineEveryCompareAgainstAConstant) {
  constexpr uint64_t U = UINT64_MAX;
  constexpr int64_t SMIN = INT64_MIN, SMAX = INT64_MAX;
  struct Case {
    CmpOp op;
    bool taken;
    bool is_signed;
    int64_t lo, hi;  // x's bounds with x on the left; x on the right in the second pair
    int64_t rlo, rhi;
  };
  const Case cases[] = {
      {CmpOp::Lt, true, false, 0, 9, 11, -1},       {CmpOp::Lt, false, false, 10, -1, 0, 10},
      {CmpOp::Le, true, false, 0, 10, 10, -1},      {CmpOp::Le, false, false, 11, -1, 0, 9},
      {CmpOp::Gt, true, false, 11, -1, 0, 9},       {CmpOp::Gt, false, false, 0, 10, 10, -1},
      {CmpOp::Ge, true, false, 10, -1, 0, 10},      {CmpOp::Ge, false, false, 0, 9, 11, -1},
      {CmpOp::SLt, true, true, SMIN, 9, 11, SMAX},  {CmpOp::SLt, false, true, 10, SMAX, SMIN, 10},
      {CmpOp::SLe, true, true, SMIN, 10, 10, SMAX}, {CmpOp::SLe, false, true, 11, SMAX, SMIN, 9},
      {CmpOp::SGt, true, true, 11, SMAX, SMIN, 9},  {CmpOp::SGt, false, true, SMIN, 10, 10, SMAX},
      {CmpOp::SGe, true, true, 10, SMAX, SMIN, 10}, {CmpOp::SGe, false, true, SMIN, 9, 11, SMAX},
  };
  for (const Case& c : cases) {
    for (const bool is32 : {false, true}) {
      for (const bool x_left : {true, false}) {
        Scalar x = Scalar::unknown(), k = Scalar::constant(10);
        const bool ok =
            x_left ? Scalar::refine(c.op, c.taken, x, k, is32) : Scalar::refine(c.op, c.taken, k, x, is32);
        const std::string what = std::string(name(c.op)) + (is32 ? "32" : "") +
                                 (c.taken ? " taken" : " not taken") + (x_left ? " x op 10 " : " 10 op x ") +
                                 dump(x);
        ASSERT_TRUE(ok) << what;
        EXPECT_EQ(k, Scalar::constant(10)) << what;
        const int64_t lo = x_left ? c.lo : c.rlo, hi = x_left ? c.hi : c.rhi;
        if (c.is_signed && is32) {
          EXPECT_EQ(x.s32min, std::max<int64_t>(lo, INT32_MIN)) << what;
          EXPECT_EQ(x.s32max, std::min<int64_t>(hi, INT32_MAX)) << what;
        } else if (c.is_signed) {
          EXPECT_EQ(x.smin, lo) << what;
          EXPECT_EQ(x.smax, hi) << what;
        } else if (is32) {
          EXPECT_EQ(x.u32min, static_cast<uint64_t>(lo)) << what;
          EXPECT_EQ(x.u32max, hi == -1 ? UINT32_MAX : static_cast<uint64_t>(hi)) << what;
        } else {
          EXPECT_EQ(x.umin, static_cast<uint64_t>(lo)) << what;
          EXPECT_EQ(x.umax, hi == -1 ? U : static_cast<uint64_t>(hi)) << what;
        }
      }
    }
  }
}

TEST(ScalarPrecision, RefineEqualityAndRangeEnds) {
  Scalar x = Scalar::unknown(), c = Scalar::constant(42);
  ASSERT_TRUE(Scalar::refine(CmpOp::Eq, true, x, c, false));
  EXPECT_EQ(x, Scalar::constant(42));
  x = Scalar::urange(0, 10);
  Scalar ten = Scalar::constant(10), zero = Scalar::constant(0);
  ASSERT_TRUE(Scalar::refine(CmpOp::Ne, true, x, ten, false));
  expect_u(x, 0, 9);
  ASSERT_TRUE(Scalar::refine(CmpOp::Ne, true, x, zero, false));
  expect_u(x, 1, 9);
  x = Scalar::urange(0, 10);
  ASSERT_TRUE(Scalar::refine(CmpOp::Eq, false, x, ten, false));
  expect_u(x, 0, 9);
  x = Scalar::urange(0, 10);
  ASSERT_TRUE(Scalar::refine(CmpOp::Ne, false, x, ten, false));
  EXPECT_EQ(x, ten);
  Scalar sx = Scalar::srange(-5, 5), m5 = Scalar::constant(-5), p5 = Scalar::constant(5);
  ASSERT_TRUE(Scalar::refine(CmpOp::Ne, true, sx, m5, false));
  expect_s(sx, -4, 5);
  ASSERT_TRUE(Scalar::refine(CmpOp::Ne, true, sx, p5, false));
  expect_s(sx, -4, 4);
  // Two ranges that are equal meet.
  Scalar a = Scalar::urange(0, 10), b = Scalar::urange(5, 20);
  ASSERT_TRUE(Scalar::refine(CmpOp::Eq, true, a, b, false));
  expect_u(a, 5, 10);
  expect_u(b, 5, 10);
  // Infeasible edges.
  x = Scalar::urange(0, 5);
  EXPECT_FALSE(Scalar::refine(CmpOp::Gt, true, x, ten, false));
  x = Scalar::constant(10);
  EXPECT_FALSE(Scalar::refine(CmpOp::Ne, true, x, ten, false));
  x = Scalar::urange(20, 30);
  EXPECT_FALSE(Scalar::refine(CmpOp::Eq, true, x, ten, false));
  EXPECT_EQ(x, Scalar::urange(20, 30));  // left unchanged
}

TEST(ScalarPrecision, RefineJset) {
  Scalar x = Scalar::unknown(), bit3 = Scalar::constant(8);
  ASSERT_TRUE(Scalar::refine(CmpOp::Set, false, x, bit3, false));  // x & 8 == 0
  EXPECT_EQ(x.bits, (Tnum{0, ~uint64_t{8}}));
  x = Scalar::unknown_of_size(1);
  Scalar mask = Scalar::constant(0xf0);
  ASSERT_TRUE(Scalar::refine(CmpOp::Set, false, x, mask, false));
  EXPECT_EQ(x.bits, (Tnum{0, 0x0f}));
  expect_u(x, 0, 15);
  x = Scalar::unknown();
  ASSERT_TRUE(Scalar::refine(CmpOp::Set, true, x, bit3, false));  // x & 8 != 0
  EXPECT_EQ(x.bits, (Tnum{8, ~uint64_t{8}}));
  x = Scalar::constant(7);
  EXPECT_FALSE(Scalar::refine(CmpOp::Set, true, x, bit3, false));
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Set, Scalar::constant(12), bit3, false), true);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Set, Scalar::urange(0, 7), bit3, false), false);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Set, Scalar::urange(0, 15), bit3, false), std::nullopt);
}

TEST(ScalarPrecision, Refine32BitComparesOnTheLowHalf) {
  Scalar x = Scalar::unknown(), ten = Scalar::constant(10);
  ASSERT_TRUE(Scalar::refine(CmpOp::Lt, true, x, ten, true));
  EXPECT_EQ(x.u32max, 9u);
  EXPECT_EQ(x.umin, 0u);  // the upper half is still unknown: only the top block's end moves
  EXPECT_EQ(x.umax, 0xffffffff00000009);
  x = Scalar::unknown_of_size(4);
  ASSERT_TRUE(Scalar::refine(CmpOp::Lt, true, x, ten, true));
  expect_u(x, 0, 9);  // upper half known zero: the 64-bit bounds follow
  x = Scalar::unknown_of_size(4);
  Scalar zero = Scalar::constant(0);
  ASSERT_TRUE(Scalar::refine(CmpOp::SLt, true, x, zero, true));
  expect_u(x, 0x80000000, 0xffffffff);
  EXPECT_EQ(x.s32max, -1);
  x = Scalar::unknown();
  Scalar big = Scalar::constant(0x500000007);
  ASSERT_TRUE(Scalar::refine(CmpOp::Eq, true, x, big, true));  // compares only the low halves
  EXPECT_EQ(x.u32min, 7u);
  EXPECT_EQ(x.u32max, 7u);
  EXPECT_EQ(x.bits, (Tnum{7, ~uint64_t{0xffffffff}}));
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Eq, Scalar::constant(0x100000005), Scalar::constant(5), true), true);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Eq, Scalar::constant(0x100000005), Scalar::constant(5), false),
            false);
}

TEST(ScalarPrecision, BranchTakenFromRanges) {
  const Scalar ten = Scalar::constant(10);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Lt, Scalar::urange(0, 5), ten, false), true);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Lt, Scalar::urange(10, 50), ten, false), false);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Lt, Scalar::urange(5, 50), ten, false), std::nullopt);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::SLt, Scalar::srange(-5, 5), ten, false), true);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Lt, Scalar::srange(-5, 5), ten, false), std::nullopt);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Eq, Scalar::urange(0, 5), ten, false), false);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Ne, Scalar::urange(0, 5), ten, false), true);
  // Known bits alone: an odd value is never 10.
  const Scalar odd = Scalar::alu64(AluOp::Or, Scalar::unknown(), Scalar::constant(1));
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Eq, odd, ten, false), false);
  const Scalar x = Scalar::unknown();
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Ge, x, x, false), true);
  EXPECT_EQ(Scalar::branch_taken(CmpOp::Lt, x, x, true), false);
  // A register compared with itself (the same object on both sides).
  Scalar y = Scalar::urange(0, 5);
  EXPECT_FALSE(Scalar::refine(CmpOp::Lt, true, y, y, false));
  EXPECT_TRUE(Scalar::refine(CmpOp::Le, true, y, y, false));
  ASSERT_TRUE(Scalar::refine(CmpOp::Set, true, y, y, false));  // y & y != 0: y != 0
  expect_u(y, 1, 5);
  EXPECT_FALSE(Scalar::refine(CmpOp::Set, false, y, y, false));
  y = Scalar::urange(0, 5);
  ASSERT_TRUE(Scalar::refine(CmpOp::Set, false, y, y, false));
  EXPECT_EQ(y, Scalar::constant(0));
}

TEST(ScalarPrecision, ToStringIsKernelLike) {
  EXPECT_EQ(Scalar::constant(42).to_string(), "42");
  EXPECT_EQ(Scalar::constant(UINT64_MAX).to_string(), "-1");
  EXPECT_EQ(Scalar::alu64(AluOp::And, Scalar::unknown(), Scalar::constant(0xff)).to_string(),
            "smin=0 smax=255 umax=255 var_off=(0x0; 0xff)");
  EXPECT_EQ(Scalar::srange(-5, 7).to_string(), "smin=-5 smax=7");
  EXPECT_EQ(Scalar::unknown().to_string(), "scalar");
}

TEST(ScalarPrecision, ContainsAndJoin) {
  const Scalar a = Scalar::urange(0, 10), b = Scalar::urange(20, 30);
  const Scalar j = a.join(b);
  expect_u(j, 0, 30);
  EXPECT_TRUE(j.contains(a));
  EXPECT_TRUE(j.contains(b));
  EXPECT_FALSE(a.contains(j));
  EXPECT_TRUE(Scalar::unknown().contains(a));
  EXPECT_TRUE(a.contains(Scalar::constant(10)));
  EXPECT_FALSE(a.contains(Scalar::constant(11)));
  EXPECT_TRUE(a.contains(uint64_t{5}));
  EXPECT_FALSE(a.contains(uint64_t{11}));
  EXPECT_EQ(Scalar::constant(3).join(Scalar::constant(3)), Scalar::constant(3));
}

TEST(ScalarPrecision, SyncDeducesAcrossWidths) {
  // The low half in [0, 9] with the upper half fixed at 1.
  Scalar s = Scalar::urange(0x100000000, 0x1ffffffff);
  s.u32max = 9;
  ASSERT_TRUE(s.sync());
  expect_u(s, 0x100000000, 0x100000009);
  // A signed 64-bit range inside one 32-bit block gives the low half's signed range.
  const Scalar t = Scalar::srange(-3, 4);
  EXPECT_EQ(t.s32min, -3);
  EXPECT_EQ(t.s32max, 4);
  // Contradictions are reported.
  Scalar bad = Scalar::urange(0, 5);
  bad.bits = Tnum::constant(7);
  EXPECT_FALSE(bad.sync());
}

}  // namespace
}  // namespace bpfq::verifier
