// Differential test: bpfq's interpreter (fast and checked mode) and JIT against the running Linux
// kernel's eBPF (verifier + JIT, through BPF_PROG_TEST_RUN), on the bpf_conformance corpus and
// on seeded random ALU programs. All 64 bits of r0 are compared (see kernel_runner.hpp).
// Skips itself where bpf() is not permitted.
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>

#include "kernel_runner.hpp"
#include "random_alu_program.hpp"
#include "support/conformance_file.hpp"

namespace bpfq {
namespace {
using namespace bpfq::test;
using ebpf::Insn;

const std::filesystem::path kCorpus = BPFQ_SHARED_DIR "/conformance/bpf_conformance/tests";

#define SKIP_WITHOUT_KERNEL_BPF()                                        \
  do {                                                                   \
    if (auto why = kernel_bpf_unavailable()) GTEST_SKIP() << *why;       \
  } while (0)

// r0 from bpfq in one mode, or why there is none.
struct BpfqRun {
  bool ok = false;
  uint64_t r0 = 0;
  std::string error;
};

// Runs like the kernel side: r1 = 0 (no context), r2 = 0.
BpfqRun run_bpfq(const std::vector<Insn>& insns, bool checked,
                 exec::Backend backend = exec::Backend::Interpreter) {
  BpfqRun out;
  try {
    exec::ProgramOptions opts;
    opts.checked = checked;
    opts.backend = backend;
    const exec::Program prog = exec::Program::load(insns, {}, opts);
    const exec::RunResult r = prog.run(nullptr, 0);
    if (!r.ok()) {
      out.error = "faulted: " + r.message();
      return out;
    }
    out.ok = true;
    out.r0 = r.r0;
  } catch (const Error& e) {
    out.error = std::string("rejected at load: ") + e.what();
  }
  return out;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string describe(const BpfqRun& r) { return r.ok ? hex(r.r0) : r.error; }

// Compares one kernel-accepted program; returns "" on agreement, else what differed.
std::string disagreement(const std::vector<Insn>& insns, uint64_t kernel_r0) {
  const BpfqRun fast = run_bpfq(insns, false);
  const BpfqRun checked = run_bpfq(insns, true);
  const BpfqRun jit = run_bpfq(insns, false, exec::Backend::Jit);
  if (fast.ok && checked.ok && jit.ok && fast.r0 == kernel_r0 && checked.r0 == kernel_r0 &&
      jit.r0 == kernel_r0)
    return {};
  return "kernel r0 = " + hex(kernel_r0) + ", bpfq fast = " + describe(fast) +
         ", bpfq checked = " + describe(checked) + ", bpfq JIT = " + describe(jit);
}

TEST(KernelDiff, HarnessReadsAll64BitsOfR0) {
  SKIP_WITHOUT_KERNEL_BPF();
  const KernelResult flat = run_in_kernel(ebpf::assemble("lddw %r0, 0x8000000180000002\nexit\n"));
  ASSERT_TRUE(flat.accepted) << flat.reason;
  EXPECT_EQ(flat.r0, 0x8000000180000002ull);

  // Exits inside a sub-program return to its caller, not to the wrapper that reads r0 >> 32.
  const KernelResult calls = run_in_kernel(ebpf::assemble(
      "call local f\n"
      "add %r0, 1\n"
      "exit\n"
      "f:\n"
      "lddw %r0, 0xfedcba9876543210\n"
      "exit\n"));
  ASSERT_TRUE(calls.accepted) << calls.reason;
  EXPECT_EQ(calls.r0, 0xfedcba9876543211ull);

  // The program sees r1 = r2 = 0, as bpfq's run(nullptr, 0) gives it.
  const KernelResult args = run_in_kernel(ebpf::assemble("mov %r0, %r1\nor %r0, %r2\nadd %r0, 7\nexit\n"));
  ASSERT_TRUE(args.accepted) << args.reason;
  EXPECT_EQ(args.r0, 7u);
}

// What the random generator leaves out because the kernel rejects it (the ISA defines it).
TEST(KernelDiff, KernelRejectsWhatTheGeneratorExcludes) {
  SKIP_WITHOUT_KERNEL_BPF();
  const KernelResult shift = run_in_kernel(ebpf::assemble("mov %r0, 1\nlsh32 %r0, 32\nexit\n"));
  EXPECT_FALSE(shift.accepted);
  EXPECT_EQ(shift.reason, "invalid shift 32");
  const KernelResult div = run_in_kernel(ebpf::assemble("mov %r0, 1\ndiv %r0, 0\nexit\n"));
  EXPECT_FALSE(div.accepted);
  EXPECT_EQ(div.reason, "div by zero");
}

bool calls_helper(const std::vector<Insn>& insns) {
  for (const Insn& i : insns)
    if (i.code == (ebpf::JMP | ebpf::CALL) && i.src == ebpf::CALL_HELPER) return true;
  return false;
}

TEST(KernelDiff, ConformanceProgramsAgreeWithKernel) {
  SKIP_WITHOUT_KERNEL_BPF();
  if (!std::filesystem::is_directory(kCorpus))
    GTEST_SKIP() << "bpf_conformance corpus not found at " << kCorpus << " (BPFQ_SHARED_DIR)";

  int files = 0, compared = 0, agreed = 0, rejected = 0, helper_calls = 0, checked_against_file = 0;
  std::ostringstream rejections;
  for (const auto& path : conformance_files(kCorpus)) {
    ++files;
    const ConformanceCase c = parse_conformance_file(path);
    const std::vector<Insn> insns = conformance_program(c).value();  // the corpus assembles (ConformanceFiles)
    // Helper ids are ubpf's in this corpus; the same id names another kernel helper (5 is
    // bpf_ktime_get_ns), so the kernel may accept the program and compute something else.
    if (calls_helper(insns)) {
      ++helper_calls;
      continue;
    }
    const KernelResult k = run_in_kernel(insns);
    if (!k.accepted) {
      ++rejected;
      rejections << "  " << c.name << ": " << k.reason << "\n";
      continue;
    }
    ++compared;
    const std::string diff = disagreement(insns, k.r0);
    if (!diff.empty()) {
      ADD_FAILURE() << c.name << ": " << diff << "\n" << ebpf::disassemble(insns.data(), insns.size());
      continue;
    }
    ++agreed;
    // The kernel ran it with no input memory; where the file gives none either, the kernel's
    // answer is the file's, which checks the harness's r0 reconstruction too.
    if (c.mem.empty() && c.result) {
      ++checked_against_file;
      EXPECT_EQ(k.r0, *c.result) << c.name;
    }
  }
  std::printf("kernel diff, bpf_conformance: %d files, %d compared, %d agreed, %d kernel-rejected, "
              "%d not submitted (ubpf helper calls); %d also checked against the file's result\n",
              files, compared, agreed, rejected, helper_calls, checked_against_file);
  std::printf("kernel-rejected:\n%s", rejections.str().c_str());
  EXPECT_EQ(agreed, compared);
  // Every test that needs neither input memory, a helper nor an out-of-range shift reaches the
  // kernel (260 on Linux 6.18); fewer means the harness started losing programs.
  EXPECT_GE(compared, 260);
}

TEST(KernelDiff, RandomAluProgramsAgreeWithKernel) {
  SKIP_WITHOUT_KERNEL_BPF();
  constexpr uint64_t kSeed = 0x6b65726e656c;  // "kernel"
  constexpr int kPrograms = 5000;
  RandomAluProgram gen(kSeed);
  int compared = 0, agreed = 0, shown = 0;
  std::set<uint64_t> results;
  for (int n = 0; n < kPrograms; ++n) {
    const std::vector<Insn> insns = gen.next(20, 60);
    const KernelResult k = run_in_kernel(insns);
    std::string problem;
    if (!k.accepted) {
      problem = "kernel rejected: " + k.reason;
    } else {
      ++compared;
      results.insert(k.r0);
      problem = disagreement(insns, k.r0);
      if (problem.empty()) ++agreed;
    }
    if (!problem.empty() && shown++ < 5) {
      ADD_FAILURE() << "program " << n << " (seed " << hex(kSeed) << "): " << problem << "\n"
                    << ebpf::disassemble(insns.data(), insns.size());
    }
  }
  std::printf("kernel diff, random ALU programs: %d generated, %d compared, %d agreed, %zu distinct r0\n",
              kPrograms, compared, agreed, results.size());
  EXPECT_EQ(compared, kPrograms);
  EXPECT_EQ(agreed, kPrograms);
  // The programs compute something: nearly every one ends with its own r0 (fixed by the seed).
  EXPECT_GE(results.size(), kPrograms * 99 / 100);
}

}  // namespace
}  // namespace bpfq
