// The JIT's code arena (docs/jit.md, "W^X"): programs share memfd chunks, a chunk starts over
// once empty, and a forked child's programs and its parent's never overwrite each other's code.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/exec/program.hpp>

namespace bpfq {
namespace {

using ebpf::Insn;

// r0 = value + adds (one 64-bit add of 1 each), exit.
std::unique_ptr<exec::Program> compile(int32_t value, size_t adds = 0) {
  std::vector<Insn> insns{Insn{uint8_t(ebpf::ALU64 | ebpf::MOV | ebpf::K), 0, 0, 0, value}};
  insns.resize(1 + adds, Insn{uint8_t(ebpf::ALU64 | ebpf::ADD | ebpf::K), 0, 0, 0, 1});
  insns.push_back(Insn{uint8_t(ebpf::JMP | ebpf::EXIT), 0, 0, 0, 0});
  exec::ProgramOptions opts;
  opts.backend = exec::Backend::Jit;
  auto p = std::make_unique<exec::Program>(exec::Program::load(insns, exec::LinkEnv{}, opts));
  EXPECT_EQ(p->backend(), exec::Backend::Jit);
  return p;
}

uint64_t run(const exec::Program& p) { return p.run(nullptr, 0).r0; }

TEST(JitCodeArena, ProgramsKeepTheirCodeWhileOthersComeAndGo) {
  if (!exec::jit_supported()) GTEST_SKIP() << "no JIT on this architecture";
  std::vector<std::unique_ptr<exec::Program>> live;
  std::vector<int32_t> values;
  for (int32_t round = 0; round < 2000; ++round) {
    auto p = compile(round, static_cast<size_t>(round % 300));  // chunks fill up and are left behind
    ASSERT_EQ(run(*p), static_cast<uint64_t>(round + round % 300));
    if (round % 7 == 0) live.push_back(std::move(p)), values.push_back(round + round % 300);
  }
  for (size_t i = 0; i < live.size(); ++i) EXPECT_EQ(run(*live[i]), static_cast<uint64_t>(values[i])) << i;
  live.clear();
  // An empty arena starts over in place; code larger than a chunk gets a chunk of its own.
  EXPECT_EQ(run(*compile(5)), 5u);
  const auto big = compile(0, 300'000);
  EXPECT_GT(big->jit_code_size(), size_t{1} << 20);
  EXPECT_EQ(run(*big), 300'000u);
  EXPECT_EQ(run(*compile(6)), 6u);
}

TEST(JitCodeArena, ParentAndChildOfForkKeepTheirOwnCode) {
  if (!exec::jit_supported()) GTEST_SKIP() << "no JIT on this architecture";
  const auto before = compile(1);
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  char byte = 0;
  if (child == 0) {
    // Compiles while the parent compiles too, then runs its code after the parent's compile.
    const auto mine = compile(2, 10);
    bool ok = write(to_parent[1], "c", 1) == 1 && read(to_child[0], &byte, 1) == 1;
    ok = ok && run(*mine) == 12 && run(*before) == 1;
    _exit(ok ? 0 : 1);
  }
  ASSERT_EQ(read(to_parent[0], &byte, 1), 1);
  const auto theirs = compile(3, 20);
  ASSERT_EQ(write(to_child[1], "p", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's programs ran other code";
  EXPECT_EQ(run(*theirs), 23u);
  EXPECT_EQ(run(*before), 1u);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) close(fd);
}

}  // namespace
}  // namespace bpfq
