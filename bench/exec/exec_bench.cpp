// ns per executed eBPF instruction of the interpreter (Interp/, Checked/) and the JIT (Jit/), next
// to a native C++ loop doing the same work, in the same run. Inputs come from the context so
// nothing can be folded.
//
// Against Linux's JIT: Kernel/ runs a program in the running kernel through BPF_PROG_TEST_RUN
// (a socket filter, timed by the kernel over `repeat` runs); JitK/ runs the very same
// instructions on bpfq's JIT. Those programs take their inputs from immediates instead of the
// context (a socket filter's context is an sk_buff) and keep the loop's table on the stack.
// JitCompile/ is the JIT's compile time for a program of `insns` instructions.
#include <benchmark/benchmark.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <vector>

#include <bpfq/exec/program.hpp>

#include "../../tests/support/kernel_bpf.hpp"
#include "../support/ratio_reporter.hpp"

namespace {

using bpfq::ebpf::Insn;
namespace e = bpfq::ebpf;

Insn alu64(uint8_t op, uint8_t dst, uint8_t src) { return Insn{uint8_t(e::ALU64 | op | e::X), dst, src, 0, 0}; }
Insn alu64k(uint8_t op, uint8_t dst, int32_t imm) { return Insn{uint8_t(e::ALU64 | op | e::K), dst, 0, 0, imm}; }
Insn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return Insn{uint8_t(e::LDX | e::MEM | size), dst, src, off, 0}; }
Insn jmp(uint8_t op, uint8_t dst, uint8_t src, int16_t off) { return Insn{uint8_t(e::JMP | op | e::X), dst, src, off, 0}; }
Insn call(int32_t id) { return Insn{uint8_t(e::JMP | e::CALL), 0, 0, 0, id}; }
Insn exit_insn() { return Insn{uint8_t(e::JMP | e::EXIT), 0, 0, 0, 0}; }

constexpr int kBlocks = 500;  // straight-line program: 8 ALU instructions per block

// (a) straight-line ALU: r0..r2 from the context, then kBlocks × 8 dependent ALU ops.
std::vector<Insn> straight_line_program() {
  std::vector<Insn> p = {ldx(e::DW, 0, 1, 0), ldx(e::DW, 2, 1, 8), alu64(e::MOV, 3, 0)};
  for (int i = 0; i < kBlocks; ++i) {
    p.push_back(alu64(e::ADD, 0, 2));
    p.push_back(alu64k(e::XOR, 0, 0x5555));
    p.push_back(alu64(e::MOV, 3, 0));
    p.push_back(alu64k(e::RSH, 3, 3));
    p.push_back(alu64k(e::MUL, 0, 5));
    p.push_back(alu64(e::SUB, 0, 3));
    p.push_back(alu64k(e::ADD, 2, 7));
    p.push_back(alu64(e::OR, 2, 0));
  }
  p.push_back(exit_insn());
  return p;
}

__attribute__((noinline)) uint64_t straight_line_native(const uint64_t* in) {
  uint64_t r0 = in[0], r2 = in[1], r3;
  for (int i = 0; i < kBlocks; ++i) {
    r0 += r2;
    r0 ^= 0x5555;
    r3 = r0;
    r3 >>= 3;
    r0 *= 5;
    r0 -= r3;
    r2 += 7;
    r2 |= r0;
    benchmark::DoNotOptimize(r0);  // keep one block per iteration: no cross-block folding
  }
  return r0;
}

// (b) loop over a 64-entry table; the trip count is ctx[0]. 8 instructions per iteration.
//   r2 = count; r3 = &table; r0 = 0; r6 = 0
//   loop: r5 = r6; r5 &= 63; r5 <<= 3; r5 += r3; r4 = *(u64*)r5; r0 += r4; r6 += 1; if r6 < r2 goto loop
std::vector<Insn> loop_program() {
  return {
      ldx(e::DW, 2, 1, 0),   alu64(e::MOV, 3, 1),  alu64k(e::ADD, 3, 8),
      alu64k(e::MOV, 0, 0),  alu64k(e::MOV, 6, 0),
      alu64(e::MOV, 5, 6),   alu64k(e::AND, 5, 63), alu64k(e::LSH, 5, 3), alu64(e::ADD, 5, 3),
      ldx(e::DW, 4, 5, 0),   alu64(e::ADD, 0, 4),  alu64k(e::ADD, 6, 1), jmp(e::JLT, 6, 2, -8),
      exit_insn(),
  };
}
constexpr int kLoopInsnsPerIter = 8;

struct LoopCtx {
  uint64_t count;
  uint64_t table[64];
};

__attribute__((noinline)) uint64_t loop_native(const LoopCtx* c) {
  uint64_t r0 = 0;
  for (uint64_t i = 0; i < c->count; ++i) {
    r0 += c->table[i & 63];
    benchmark::DoNotOptimize(r0);  // as the program does: one element per iteration
  }
  return r0;
}

// (c) helper-heavy: each iteration calls a helper. 5 instructions per iteration.
//   r6 = count; r7 = 0; loop: r1 = r7; call 1; r7 += 1; if r7 < r6 goto loop
uint64_t g_helper_state;
uint64_t counting_helper(uint64_t a1, uint64_t, uint64_t, uint64_t, uint64_t) {
  g_helper_state += a1;
  return g_helper_state;
}
std::vector<Insn> helper_program() {
  return {
      ldx(e::DW, 6, 1, 0), alu64k(e::MOV, 7, 0),
      alu64(e::MOV, 1, 7), call(1), alu64k(e::ADD, 7, 1), jmp(e::JLT, 7, 6, -4),
      exit_insn(),
  };
}
constexpr int kHelperInsnsPerIter = 4;

__attribute__((noinline)) uint64_t helper_native(uint64_t count, bpfq::exec::HelperFn fn) {
  uint64_t r0 = 0;
  for (uint64_t i = 0; i < count; ++i) r0 = fn(i, 0, 0, 0, 0);
  return r0;
}

enum class Mode { Interp, Checked, Jit };

bpfq::exec::Program load(const std::vector<Insn>& insns, Mode mode) {
  static bpfq::exec::HelperRegistry helpers = [] {
    bpfq::exec::HelperRegistry h;
    h.add_helper(1, "counting", counting_helper);
    return h;
  }();
  bpfq::exec::LinkEnv env;
  env.helpers = &helpers;
  bpfq::exec::ProgramOptions opts;
  opts.checked = mode == Mode::Checked;
  opts.backend = mode == Mode::Jit ? bpfq::exec::Backend::Jit : bpfq::exec::Backend::Interpreter;
  opts.insn_budget = 1ull << 40;
  return bpfq::exec::Program::load(insns, env, opts);
}

void report_insns(benchmark::State& state, double insns_per_run) {
  state.counters["insns"] = insns_per_run;
  // Seconds per instruction, shown in ns by the reporter's time formatting of "ns/insn".
  state.counters["ns_per_insn"] = benchmark::Counter(insns_per_run * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void BM_StraightLine(benchmark::State& state, Mode mode) {
  const auto prog = load(straight_line_program(), mode);
  uint64_t in[2] = {12345, 678};
  for (auto _ : state) benchmark::DoNotOptimize(prog.run(in, sizeof in).r0);
  report_insns(state, 3 + 8.0 * kBlocks + 1);
}
void BM_StraightLineNative(benchmark::State& state) {
  uint64_t in[2] = {12345, 678};
  for (auto _ : state) benchmark::DoNotOptimize(straight_line_native(in));
  report_insns(state, 3 + 8.0 * kBlocks + 1);
}

constexpr uint64_t kLoopCount = 1000;
constexpr int32_t kLoopCountKernel = 1000;
void BM_Loop(benchmark::State& state, Mode mode) {
  const auto prog = load(loop_program(), mode);
  LoopCtx c{kLoopCount, {}};
  for (int i = 0; i < 64; ++i) c.table[i] = i * 3;
  for (auto _ : state) benchmark::DoNotOptimize(prog.run(&c, sizeof c).r0);
  report_insns(state, 5 + kLoopInsnsPerIter * double(kLoopCount) + 1);
}
void BM_LoopNative(benchmark::State& state) {
  LoopCtx c{kLoopCount, {}};
  for (int i = 0; i < 64; ++i) c.table[i] = i * 3;
  for (auto _ : state) benchmark::DoNotOptimize(loop_native(&c));
  report_insns(state, 5 + kLoopInsnsPerIter * double(kLoopCount) + 1);
}

void BM_Helper(benchmark::State& state, Mode mode) {
  const auto prog = load(helper_program(), mode);
  uint64_t count = kLoopCount;
  for (auto _ : state) benchmark::DoNotOptimize(prog.run(&count, sizeof count).r0);
  report_insns(state, 2 + kHelperInsnsPerIter * double(kLoopCount) + 1);
}
void BM_HelperNative(benchmark::State& state) {
  bpfq::exec::HelperFn fn = counting_helper;
  benchmark::DoNotOptimize(fn);
  for (auto _ : state) benchmark::DoNotOptimize(helper_native(kLoopCount, fn));
  report_insns(state, 2 + kHelperInsnsPerIter * double(kLoopCount) + 1);
}

// ---- the same programs in the kernel: inputs as immediates, the table on the stack ----

// straight_line with r0, r2 = 12345, 678 from immediates.
std::vector<Insn> straight_line_kernel() {
  std::vector<Insn> p = straight_line_program();
  p[0] = alu64k(e::MOV, 0, 12345);
  p[1] = alu64k(e::MOV, 2, 678);
  return p;
}
// loop_loads over a 64-entry table at r10-512 (written first: 64 stores), kLoopCount times.
std::vector<Insn> loop_kernel() {
  std::vector<Insn> p;
  for (int i = 0; i < 64; ++i) p.push_back(Insn{uint8_t(e::ST | e::MEM | e::DW), 10, 0, int16_t(-512 + 8 * i), i * 3});
  p.push_back(alu64k(e::MOV, 2, kLoopCountKernel));
  p.push_back(alu64(e::MOV, 3, 10));
  p.push_back(alu64k(e::ADD, 3, -512));
  std::vector<Insn> body = loop_program();
  p.insert(p.end(), body.begin() + 3, body.end());  // from r0 = 0 on
  return p;
}
constexpr double kLoopKernelInsns = 64 + 3 + 2 + kLoopInsnsPerIter * double(kLoopCountKernel) + 1;

// A socket filter in the running kernel; fd -1 and `why` when it cannot be loaded.
bpfq::test::Fd load_in_kernel(const std::vector<Insn>& insns, std::string& why) {
  const int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bpfq_bench", "GPL",
                               reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), nullptr);
  if (fd < 0) why = bpfq::test::errno_text(-fd);
  return bpfq::test::Fd(fd);
}

// One iteration is kRepeat runs on both sides: the kernel times them itself, and a benchmark
// iteration costs one system call instead of one per run.
constexpr int kRepeat = 100;

// The kernel's own time (BPF_PROG_TEST_RUN's average duration over kRepeat runs).
void BM_Kernel(benchmark::State& state, std::vector<Insn> (*program)(), double insns) {
  std::string why;
  const bpfq::test::Fd fd = load_in_kernel(program(), why);
  if (!fd.ok()) {
    state.SkipWithError(("the kernel did not load the program: " + why).c_str());
    return;
  }
  uint8_t packet[64] = {};
  for (auto _ : state) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = packet;
    opts.data_size_in = sizeof(packet);
    opts.repeat = kRepeat;
    if (bpf_prog_test_run_opts(fd.get(), &opts) != 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    state.SetIterationTime(opts.duration * 1e-9 * kRepeat);  // the kernel's mean, times the runs
  }
  report_insns(state, insns * kRepeat);
}
void BM_JitK(benchmark::State& state, std::vector<Insn> (*program)(), double insns) {
  const auto prog = load(program(), Mode::Jit);
  uint8_t packet[64] = {};
  for (auto _ : state)
    for (int i = 0; i < kRepeat; ++i) benchmark::DoNotOptimize(prog.run(packet, sizeof packet).r0);
  report_insns(state, insns * kRepeat);
}

// Compile time of the JIT (decoding included) for a straight-line program of range(0) insns.
void BM_JitCompile(benchmark::State& state) {
  std::vector<Insn> p = straight_line_kernel();
  p.resize(static_cast<size_t>(state.range(0)) - 1, alu64k(e::ADD, 0, 1));
  p.push_back(exit_insn());
  for (auto _ : state) benchmark::DoNotOptimize(load(p, Mode::Jit));
  state.counters["insns"] = static_cast<double>(p.size());
}
// The decoding alone (what the interpreter needs too), to see the JIT's own share.
void BM_Decode(benchmark::State& state) {
  std::vector<Insn> p = straight_line_kernel();
  p.resize(static_cast<size_t>(state.range(0)) - 1, alu64k(e::ADD, 0, 1));
  p.push_back(exit_insn());
  for (auto _ : state) benchmark::DoNotOptimize(load(p, Mode::Interp));
}

BENCHMARK_CAPTURE(BM_StraightLine, jit, Mode::Jit)->Name("Jit/straight_line");
BENCHMARK_CAPTURE(BM_StraightLine, fast, Mode::Interp)->Name("Interp/straight_line");
BENCHMARK_CAPTURE(BM_StraightLine, checked, Mode::Checked)->Name("Checked/straight_line");
BENCHMARK(BM_StraightLineNative)->Name("Native/straight_line");
BENCHMARK_CAPTURE(BM_Loop, jit, Mode::Jit)->Name("Jit/loop_loads");
BENCHMARK_CAPTURE(BM_Loop, fast, Mode::Interp)->Name("Interp/loop_loads");
BENCHMARK_CAPTURE(BM_Loop, checked, Mode::Checked)->Name("Checked/loop_loads");
BENCHMARK(BM_LoopNative)->Name("Native/loop_loads");
BENCHMARK_CAPTURE(BM_Helper, jit, Mode::Jit)->Name("Jit/helper_calls");
BENCHMARK_CAPTURE(BM_Helper, fast, Mode::Interp)->Name("Interp/helper_calls");
BENCHMARK_CAPTURE(BM_Helper, checked, Mode::Checked)->Name("Checked/helper_calls");
BENCHMARK(BM_HelperNative)->Name("Native/helper_calls");
BENCHMARK_CAPTURE(BM_JitK, straight_line, straight_line_kernel, 3 + 8.0 * kBlocks + 1)->Name("JitK/straight_line");
BENCHMARK_CAPTURE(BM_Kernel, straight_line, straight_line_kernel, 3 + 8.0 * kBlocks + 1)
    ->Name("Kernel/straight_line")->UseManualTime();
BENCHMARK_CAPTURE(BM_JitK, loop_loads, loop_kernel, kLoopKernelInsns)->Name("JitK/loop_loads");
BENCHMARK_CAPTURE(BM_Kernel, loop_loads, loop_kernel, kLoopKernelInsns)->Name("Kernel/loop_loads")->UseManualTime();
BENCHMARK(BM_JitCompile)->Name("JitCompile")->Arg(100)->Arg(1000)->Arg(4096);
BENCHMARK(BM_Decode)->Name("Decode")->Arg(100)->Arg(1000)->Arg(4096);

}  // namespace

int main(int argc, char** argv) {
  return bpfq::bench::run_with_ratios(argc, argv, {
      {"Jit/straight_line", "Native/straight_line"},
      {"Interp/straight_line", "Native/straight_line"},
      {"Checked/straight_line", "Native/straight_line"},
      {"Jit/loop_loads", "Native/loop_loads"},
      {"Interp/loop_loads", "Native/loop_loads"},
      {"Checked/loop_loads", "Native/loop_loads"},
      {"Jit/helper_calls", "Native/helper_calls"},
      {"Interp/helper_calls", "Native/helper_calls"},
      {"Checked/helper_calls", "Native/helper_calls"},
      {"JitK/straight_line", "Kernel/straight_line/manual_time"},
      {"JitK/loop_loads", "Kernel/loop_loads/manual_time"},
  });
}
