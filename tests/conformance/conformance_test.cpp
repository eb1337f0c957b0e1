// Runs every bpf_conformance program through the interpreter (fast and checked) and the JIT,
// and reports each failure by file name. The corpus lives in ../shared (never copied into the project).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>

#include "support/conformance_file.hpp"

namespace bpfq {
namespace {
using namespace bpfq::test;

const std::filesystem::path kCorpus = BPFQ_SHARED_DIR "/conformance/bpf_conformance/tests";

// ubpf's "unwind" helper 5 (the corpus's call_unwind_fail test): returns its first argument.
uint64_t unwind_helper(uint64_t a1, uint64_t, uint64_t, uint64_t, uint64_t) { return a1; }

struct Tally {
  int passed = 0, failed = 0, unsupported = 0;
};

Tally run_corpus(bool checked, exec::Backend backend) {
  exec::HelperRegistry helpers;
  helpers.add_helper(5, "unwind", unwind_helper);
  exec::LinkEnv env;
  env.helpers = &helpers;
  Tally t;
  for (const auto& path : conformance_files(kCorpus)) {
    const ConformanceCase c = parse_conformance_file(path);
    const std::string file = path.filename().string();
    const std::optional<std::vector<ebpf::Insn>> program = conformance_program(c);
    if (!program) {
      ADD_FAILURE() << file << ": does not assemble";
      ++t.failed;
      continue;
    }
    const std::vector<ebpf::Insn>& insns = *program;
    env.where = file;
    try {
      exec::ProgramOptions opts;
      opts.checked = checked;
      opts.backend = backend;
      const exec::Program prog = exec::Program::load(insns, env, opts);
      EXPECT_EQ(prog.backend(), backend) << file;
      std::vector<uint8_t> mem = c.mem;  // programs may write their input
      const exec::RunResult r = prog.run(mem.empty() ? nullptr : mem.data(), mem.size());
      if (c.error) {
        ADD_FAILURE() << file << ": expected error '" << *c.error << "', ran to r0=" << r.r0;
        ++t.failed;
      } else if (!r.ok()) {
        ADD_FAILURE() << file << ": faulted: " << r.message();
        ++t.failed;
      } else if (c.result && r.r0 != *c.result) {
        ADD_FAILURE() << file << ": r0 = 0x" << std::hex << r.r0 << ", expected 0x" << *c.result;
        ++t.failed;
      } else {
        ++t.passed;
      }
    } catch (const Error& e) {
      if (c.error) {
        ++t.passed;  // the expected load error
      } else if (file == "callx.data") {
        ++t.unsupported;  // callx is an optional conformance group; bpfq rejects it at load
        EXPECT_NE(std::string(e.what()).find("callx"), std::string::npos) << e.what();
      } else {
        ADD_FAILURE() << file << ": rejected at load: " << e.what();
        ++t.failed;
      }
    }
  }
  return t;
}

void check_corpus(bool checked, exec::Backend backend = exec::Backend::Interpreter) {
  if (!std::filesystem::is_directory(kCorpus))
    GTEST_SKIP() << "conformance corpus not found at " << kCorpus << " (shared/ is beside the project in CI)";
  if (backend == exec::Backend::Jit && !exec::jit_supported()) GTEST_SKIP() << "no JIT on this architecture";
  const Tally t = run_corpus(checked, backend);
  std::printf("bpf_conformance (%s): %d passed, %d failed, %d unsupported (callx)\n",
              backend == exec::Backend::Jit ? "JIT" : checked ? "checked mode" : "fast mode", t.passed,
              t.failed, t.unsupported);
  EXPECT_EQ(t.failed, 0);
  EXPECT_GE(t.passed, 312) << "every ISA v4 test must pass";
}

TEST(Conformance, AllV4TestsPassInFastMode) { check_corpus(false); }
TEST(Conformance, AllV4TestsPassInCheckedMode) { check_corpus(true); }
TEST(Conformance, AllV4TestsPassOnTheJit) { check_corpus(false, exec::Backend::Jit); }

}  // namespace
}  // namespace bpfq
