// The JIT against the interpreter: 100k seeded random programs that are safe by construction
// (every access inside a context buffer or the written part of the stack, forward jumps only)
// run on both; r0, the fault and every byte of the buffer must be identical. The programs use
// every ALU and jump operation, loads, stores, all atomics, helper calls (whose fault ends the
// run) and bpf-to-bpf calls, with values biased to edge cases (0, -1, INT_MIN, shifts ≥ width).
// Run under ASan: the JIT's code writes only where the program says.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/prng.hpp>

namespace bpfq {
namespace {

using ebpf::Insn;
constexpr int kCtxBytes = 256;
constexpr int kStackBytes = 64;  // the part of the stack the programs write, then use

// r1..r5 in, a mix out; refuses (ends the run) when r1's low byte is 0xad, as a helper rejecting
// its arguments does.
uint64_t mix_helper(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  if ((a1 & 0xff) == 0xad) exec::RunContext::current()->fail("mix refused its argument");
  return (a1 * 0x9e3779b97f4a7c15ULL) ^ (a2 << 7) ^ (a3 >> 3) ^ (a4 + a5);
}

// Calls the callback (bpf_loop-like) n & 3 times with (i, r3), stopping when it returns 1.
uint64_t loop_helper(uint64_t n, uint64_t fn, uint64_t ctx, uint64_t, uint64_t) {
  auto* rc = exec::RunContext::current();
  uint64_t i = 0;
  for (; i < (n & 3) && !rc->failed(); ++i)
    if (rc->call(fn, i, ctx, 0, 0, 0) == 1) break;
  return i;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : prng_(seed) {}

  std::vector<Insn> next(int body) {
    p_.clear();
    tail_.clear();
    jumps_.clear();
    // r6 keeps the context pointer; the stack's first 64 bytes are written before use.
    emit({ebpf::ALU64 | ebpf::MOV | ebpf::X, 6, 1, 0, 0});
    for (int off = -kStackBytes; off < 0; off += 8) {
      lddw(0, value());
      emit({ebpf::STX | ebpf::MEM | ebpf::DW, 10, 0, static_cast<int16_t>(off), 0});
    }
    reset_args();
    for (int r : {0, 7, 8, 9}) lddw(static_cast<uint8_t>(r), value());
    std::vector<size_t> calls;  // local calls, patched to the sub-programs at the end
    std::vector<size_t> callbacks;
    const size_t body_start = p_.size();
    while (p_.size() - body_start < static_cast<size_t>(body)) {
      const uint64_t kind = below(100);
      if (kind < 45) alu();
      else if (kind < 60) load();
      else if (kind < 72) store();
      else if (kind < 80) atomic();
      else if (kind < 92) jump();
      else if (kind < 95) {
        emit({ebpf::JMP | ebpf::CALL, 0, ebpf::CALL_HELPER, 0, 1});
        reset_args();
      } else if (kind < 98) {
        calls.push_back(p_.size());
        emit({ebpf::JMP | ebpf::CALL, 0, ebpf::CALL_LOCAL, 0, 0});
        reset_args();
      } else {
        callbacks.push_back(p_.size());
        lddw(2, 0);  // PSEUDO_FUNC, patched below
        p_[p_.size() - 2].src = ebpf::PSEUDO_FUNC;
        emit({ebpf::JMP | ebpf::CALL, 0, ebpf::CALL_HELPER, 0, 2});
        reset_args();
      }
    }
    // Each jump lands on the first instruction start at or after its pick, at most here.
    const size_t end = p_.size();
    for (const auto& [at, distance] : jumps_) {
      size_t t = std::min(at + 1 + distance, end);
      while (t < end && tail_[t]) ++t;
      p_[at].off = static_cast<int16_t>(t - at - 1);
    }
    for (int r : {1, 2, 3, 4, 5, 6, 7, 8, 9})
      emit({ebpf::ALU64 | ebpf::XOR | ebpf::X, 0, static_cast<uint8_t>(r), 0, 0});
    emit({ebpf::JMP | ebpf::EXIT, 0, 0, 0, 0});
    // A sub-program: r0 from r1..r5 through its own stack.
    const size_t sub = p_.size();
    emit({ebpf::STX | ebpf::MEM | ebpf::DW, 10, 1, -8, 0});
    emit({ebpf::ALU64 | ebpf::MUL | ebpf::X, 2, 3, 0, 0});
    emit({ebpf::LDX | ebpf::MEM | ebpf::DW, 0, 10, -8, 0});
    emit({ebpf::ALU64 | ebpf::ADD | ebpf::X, 0, 2, 0, 0});
    emit({ebpf::ALU | ebpf::DIV | ebpf::X, 0, 4, 1, 0});  // sdiv32
    emit({ebpf::ALU64 | ebpf::XOR | ebpf::X, 0, 5, 0, 0});
    emit({ebpf::JMP | ebpf::EXIT, 0, 0, 0, 0});
    for (size_t c : calls) p_[c].imm = static_cast<int32_t>(sub - c - 1);
    for (size_t c : callbacks) p_[c].imm = static_cast<int32_t>(sub - c - 1);
    return p_;
  }

 private:
  uint64_t bits() { return prng_.next_u64(); }
  uint64_t below(uint64_t n) { return bits() % n; }
  uint64_t value() {
    static constexpr uint64_t kEdges[] = {0, 1, 2, 7, 31, 32, 63, 64, 0x7fffffff, 0x80000000,
                                          0xffffffff, 0x100000000, 0x7fffffffffffffff,
                                          0x8000000000000000, ~uint64_t{0}, ~uint64_t{1}, 0xdead};
    return below(3) == 0 ? kEdges[below(std::size(kEdges))] : bits() >> (below(64));
  }
  void emit(Insn i) {
    p_.push_back(i);
    tail_.push_back(false);
  }
  void lddw(uint8_t dst, uint64_t v) {
    emit({ebpf::LDDW_OPCODE, dst, 0, 0, static_cast<int32_t>(v)});
    emit({0, 0, 0, 0, static_cast<int32_t>(v >> 32)});
    tail_.back() = true;
  }
  // r1..r5 are undefined after a call (the JIT's helpers clobber them): set them again.
  void reset_args() {
    emit({ebpf::LDX | ebpf::MEM | ebpf::DW, 1, 6, static_cast<int16_t>(8 * below(kCtxBytes / 8)), 0});
    for (uint8_t r = 2; r <= 5; ++r) lddw(r, value());
  }
  uint8_t data_reg() {  // any register but r6 (the context) and r10 (the stack)
    static constexpr uint8_t kRegs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9};
    return kRegs[below(std::size(kRegs))];
  }
  int32_t imm() { return static_cast<int32_t>(value()); }

  void alu() {
    static constexpr uint8_t kOps[] = {ebpf::ADD, ebpf::SUB, ebpf::MUL, ebpf::DIV, ebpf::OR, ebpf::AND,
                                       ebpf::LSH, ebpf::RSH, ebpf::NEG, ebpf::MOD, ebpf::XOR,
                                       ebpf::MOV, ebpf::ARSH, ebpf::END};
    const uint8_t cls = below(2) ? ebpf::ALU64 : ebpf::ALU;
    const uint8_t op = kOps[below(std::size(kOps))];
    Insn i{0, data_reg(), data_reg(), 0, imm()};
    const bool x = below(2);
    i.code = static_cast<uint8_t>(cls | op | (x ? ebpf::X : ebpf::K));
    if ((op == ebpf::DIV || op == ebpf::MOD) && below(2)) i.off = 1;  // sdiv/smod
    if (op == ebpf::MOV && x && below(3) == 0) i.off = static_cast<int16_t>(8 << below(cls == ebpf::ALU ? 2 : 3));  // movsx
    if (op == ebpf::NEG) i.code = static_cast<uint8_t>(cls | op);
    if (op == ebpf::END) {
      i.imm = 16 << below(3);
      i.code = static_cast<uint8_t>(cls == ebpf::ALU64 ? ebpf::ALU64 | ebpf::END : ebpf::ALU | ebpf::END | (below(2) ? ebpf::X : ebpf::K));
    }
    emit(i);
  }
  // A base register and an offset inside its memory for `size` bytes, aligned to it.
  std::pair<uint8_t, int16_t> place(int size) {
    if (below(2)) return {6, static_cast<int16_t>(size * below(kCtxBytes / size))};
    return {10, static_cast<int16_t>(-size * (1 + static_cast<int>(below(kStackBytes / size))))};
  }
  uint8_t size_code(int size) { return size == 1 ? ebpf::B : size == 2 ? ebpf::H : size == 4 ? ebpf::W : ebpf::DW; }
  void load() {
    const int size = 1 << below(4);
    const auto [base, off] = place(size);
    const uint8_t mode = size < 8 && below(3) == 0 ? ebpf::MEMSX : ebpf::MEM;
    emit({static_cast<uint8_t>(ebpf::LDX | mode | size_code(size)), data_reg(), base, off, 0});
  }
  void store() {
    const int size = 1 << below(4);
    const auto [base, off] = place(size);
    if (below(2)) emit({static_cast<uint8_t>(ebpf::ST | ebpf::MEM | size_code(size)), base, 0, off, imm()});
    else emit({static_cast<uint8_t>(ebpf::STX | ebpf::MEM | size_code(size)), base, data_reg(), off, 0});
  }
  void atomic() {
    static constexpr int32_t kOps[] = {ebpf::ATOMIC_ADD, ebpf::ATOMIC_OR, ebpf::ATOMIC_AND, ebpf::ATOMIC_XOR};
    const int size = below(2) ? 8 : 4;
    const auto [base, off] = place(size);
    int32_t op;
    const uint64_t k = below(10);
    if (k < 8) op = kOps[k % 4] | (k >= 4 ? ebpf::ATOMIC_FETCH : 0);
    else op = k == 8 ? ebpf::ATOMIC_XCHG : ebpf::ATOMIC_CMPXCHG;
    emit({static_cast<uint8_t>(ebpf::STX | ebpf::ATOMIC | size_code(size)), base, data_reg(), off, op});
  }
  // A forward jump of up to 8 instructions; its offset is set once the body is complete.
  void jump() {
    static constexpr uint8_t kOps[] = {ebpf::JEQ, ebpf::JGT, ebpf::JGE, ebpf::JSET, ebpf::JNE, ebpf::JSGT,
                                       ebpf::JSGE, ebpf::JLT, ebpf::JLE, ebpf::JSLT, ebpf::JSLE, ebpf::JA};
    const uint8_t op = kOps[below(std::size(kOps))];
    jumps_.emplace_back(p_.size(), below(8));
    const uint8_t cls = below(2) ? ebpf::JMP : ebpf::JMP32;
    if (op == ebpf::JA) return emit({ebpf::JMP | ebpf::JA, 0, 0, 0, 0});
    const bool x = below(2);
    emit({static_cast<uint8_t>(cls | op | (x ? ebpf::X : ebpf::K)), data_reg(), data_reg(), 0, imm()});
  }

  runtime::Prng prng_;
  std::vector<Insn> p_;
  std::vector<bool> tail_;  // second halves of lddw: no jump lands there
  std::vector<std::pair<size_t, size_t>> jumps_;  // (index, distance picked)
};

struct Outcome {
  exec::RunResult result;
  std::array<uint8_t, kCtxBytes> ctx;
};

// Both backends run on the same buffer (its address is a value the programs compute with).
Outcome run(const exec::Program& prog, const std::array<uint8_t, kCtxBytes>& input) {
  alignas(8) static std::array<uint8_t, kCtxBytes> buffer;
  buffer = input;
  const exec::RunResult r = prog.run(buffer.data(), buffer.size());
  return {r, buffer};
}

TEST(JitDifferential, HundredThousandRandomProgramsMatchTheInterpreter) {
  if (!exec::jit_supported()) GTEST_SKIP() << "no JIT on this architecture";
  exec::HelperRegistry helpers;
  helpers.add_helper(1, "mix", mix_helper);
  helpers.add_helper(2, "loop", loop_helper);
  exec::LinkEnv env;
  env.helpers = &helpers;
  constexpr uint64_t kSeed = 0x6a6974;  // "jit"
  constexpr int kPrograms = 100'000;
  Generator gen(kSeed);
  runtime::Prng data(kSeed + 1);
  int faults = 0, shown = 0;
  for (int n = 0; n < kPrograms; ++n) {
    const std::vector<Insn> insns = gen.next(10 + n % 50);
    std::array<uint8_t, kCtxBytes> input;
    for (size_t k = 0; k < input.size(); k += 8) {
      const uint64_t v = data.next_u64();
      std::memcpy(&input[k], &v, 8);
    }
    const exec::Program interp = exec::Program::load(insns, env);
    exec::ProgramOptions jit_opts;
    jit_opts.backend = exec::Backend::Jit;
    const exec::Program jit = exec::Program::load(insns, env, jit_opts);
    ASSERT_EQ(jit.backend(), exec::Backend::Jit);
    const Outcome a = run(interp, input), b = run(jit, input);
    faults += !a.result.ok();
    const bool same = a.result.fault == b.result.fault &&
                      (a.result.ok() ? a.result.r0 == b.result.r0 : a.result.pc == b.result.pc) &&
                      a.ctx == b.ctx;
    if (!same && shown++ < 3) {
      ADD_FAILURE() << "program " << n << ": interpreter " << (a.result.ok() ? "r0 " + std::to_string(a.result.r0) : a.result.message())
                    << ", JIT " << (b.result.ok() ? "r0 " + std::to_string(b.result.r0) : b.result.message())
                    << (a.ctx == b.ctx ? "" : ", context bytes differ") << "\n"
                    << ebpf::disassemble(insns.data(), insns.size());
    }
  }
  EXPECT_EQ(shown, 0);
  std::printf("JIT differential: %d programs, %d ended by a helper's refusal on both\n", kPrograms, faults);
  EXPECT_GT(faults, 0);  // the fault path is exercised
}

}  // namespace
}  // namespace bpfq
