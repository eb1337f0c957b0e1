// build_cfg: successors, sub-program ranges, loop heads, jump targets, reachability, and the
// kernel-worded error for each structural defect; plus a fuzz pass for memory safety.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/cfg.hpp>

namespace bpfq::ebpf {
namespace {

using Succs = std::vector<std::vector<uint32_t>>;

// The graph's successors as plain vectors, to compare with a Succs literal.
Succs as_vectors(const std::vector<ebpf::Successors>& succs) {
  Succs out;
  for (const ebpf::Successors& s : succs) out.emplace_back(s.begin(), s.end());
  return out;
}
std::vector<uint32_t> as_vector(const ebpf::Successors& s) { return {s.begin(), s.end()}; }

struct Built {
  std::vector<Insn> insns;
  Cfg cfg;
  std::vector<CfgError> errors;
};

Built build(std::vector<Insn> insns) {
  Built b;
  b.insns = std::move(insns);
  b.cfg = build_cfg(b.insns, b.errors);
  return b;
}
Built build(std::string_view text) { return build(assemble(text)); }

// "insn: message" for each error, to compare whole lists at once.
std::vector<std::string> texts(const std::vector<CfgError>& errors) {
  std::vector<std::string> out;
  for (const CfgError& e : errors) out.push_back(std::to_string(e.insn) + ": " + e.message);
  return out;
}
using Texts = std::vector<std::string>;

// Indices where a 0/1 vector is set.
std::vector<size_t> set_in(const std::vector<uint8_t>& v) {
  std::vector<size_t> out;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i]) out.push_back(i);
  return out;
}
using Idx = std::vector<size_t>;

std::vector<std::pair<size_t, size_t>> ranges(const Cfg& cfg) {
  std::vector<std::pair<size_t, size_t>> out;
  for (const Subprogram& fn : cfg.subprograms) out.emplace_back(fn.start, fn.end);
  return out;
}
using Ranges = std::vector<std::pair<size_t, size_t>>;

TEST(Cfg, BranchesFallThroughFirstThenTarget) {
  const Built b = build(R"(
    mov %r0, 0
    jeq %r1, 0, +2
    mov %r0, 1
    ja +1
    mov %r0, 2
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(b.cfg.size, 6u);
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {2, 4}, {3}, {5}, {5}, {}}));
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 6}}));
  EXPECT_FALSE(b.cfg.subprograms[0].is_callback);
  EXPECT_EQ(set_in(b.cfg.jump_target), (Idx{2, 4, 5}));  // both sides of the branch, the join
  EXPECT_EQ(set_in(b.cfg.loop_head), Idx{});  // 5 is reached twice but is no loop
  EXPECT_EQ(set_in(b.cfg.reachable), (Idx{0, 1, 2, 3, 4, 5}));
}

TEST(Cfg, ConditionalJumpByZeroKeepsBothEdges) {
  const Built b = build("jeq %r1, 0, +0\nexit");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1, 1}, {}}));
}

TEST(Cfg, LddwSkipsItsSecondSlot) {
  const Built b = build("lddw %r0, 0x100000001\nja +2\nlddw %r1, 7\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"3: unreachable insn 3"});
  EXPECT_EQ(set_in(b.cfg.is_lddw_tail), (Idx{1, 4}));
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{2}, {}, {5}, {5}, {}, {}}));
  EXPECT_EQ(set_in(b.cfg.reachable), (Idx{0, 2, 5}));
}

TEST(Cfg, JumpOutOfRangeForward) {
  const Built b = build("mov %r0, 0\nja +5\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"1: jump out of range from insn 1 to 7", "2: unreachable insn 2"}));
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::JumpOutOfProgram);
  EXPECT_EQ(b.errors[0].target, 7);
  EXPECT_EQ(b.errors[1].kind, CfgErrorKind::Unreachable);
  EXPECT_EQ(as_vector(b.cfg.succs[1]), std::vector<uint32_t>{});
}

TEST(Cfg, JumpOutOfRangeBackwardAndConditional) {
  Built b = build("ja -2\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"0: jump out of range from insn 0 to -1", "1: unreachable insn 1"}));
  EXPECT_EQ(b.errors[0].target, -1);
  b = build("jeq %r1, 0, +3\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"0: jump out of range from insn 0 to 4"});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {}}));  // the valid fall-through edge stays
}

TEST(Cfg, GotolTakesItsOffsetFromImm) {
  // off is deliberately nonzero: JMP32|JA must ignore it.
  Built b = build({Insn::make(JMP32 | JA, 0, 0, 5, 1), Insn::make(JMP | EXIT), Insn::make(JMP | EXIT)});
  EXPECT_EQ(texts(b.errors), Texts{"1: unreachable insn 1"});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{2}, {}, {}}));
  EXPECT_EQ(set_in(b.cfg.jump_target), Idx{2});

  b = build({Insn::make(JMP32 | JA, 0, 0, 0, 40000), Insn::make(JMP | EXIT)});
  EXPECT_EQ(texts(b.errors), (Texts{"0: jump out of range from insn 0 to 40001", "1: unreachable insn 1"}));
  b = build({Insn::make(JMP32 | JA, 0, 0, 0, -3), Insn::make(JMP | EXIT)});
  EXPECT_EQ(texts(b.errors), (Texts{"0: jump out of range from insn 0 to -2", "1: unreachable insn 1"}));

  // A loop closed by gotol.
  b = build(R"(
    mov %r0, 0
  top:
    add %r0, 1
    jlt %r0, 10, +1
    exit
    ja32 top
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {2}, {3, 4}, {}, {1}}));
  EXPECT_EQ(set_in(b.cfg.loop_head), Idx{1});
}

TEST(Cfg, JumpIntoTheMiddleOfLddw) {
  Built b = build("ja +1\nlddw %r0, 0x100000001\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"0: jump into the middle of ldimm64 insn 1", "1: unreachable insn 1",
                                    "3: unreachable insn 3"}));
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::JumpIntoLddw);
  EXPECT_EQ(b.errors[0].target, 2);
  b = build("jeq %r1, 0, +1\nlddw %r0, 1\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"0: jump into the middle of ldimm64 insn 1"});
  EXPECT_EQ(as_vector(b.cfg.succs[0]), std::vector<uint32_t>{1});
}

TEST(Cfg, FallingPastTheEndOfTheProgram) {
  EXPECT_EQ(texts(build("mov %r0, 0").errors), Texts{"0: last insn is not an exit or jmp"});
  EXPECT_EQ(texts(build("lddw %r0, 1").errors), Texts{"0: last insn is not an exit or jmp"});
  EXPECT_EQ(texts(build("call 1").errors), Texts{"0: last insn is not an exit or jmp"});
  // A loop whose exit edge leaves the program.
  Built b = build("top:\nmov %r0, 0\njeq %r1, 0, top");
  EXPECT_EQ(texts(b.errors), Texts{"1: last insn is not an exit or jmp"});
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::FallThrough);
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {0}}));
  EXPECT_EQ(set_in(b.cfg.loop_head), Idx{0});
  // Nothing at all falls off at once.
  b = build(std::vector<Insn>{});
  EXPECT_EQ(texts(b.errors), Texts{"0: last insn is not an exit or jmp"});
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 0}}));
}

TEST(Cfg, IncompleteLddw) {
  Built b = build({Insn::make(LDDW_OPCODE, 0, 0, 0, 1)});
  EXPECT_EQ(texts(b.errors), Texts{"0: invalid BPF_LD_IMM insn"});
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::IncompleteLddw);
  EXPECT_EQ(set_in(b.cfg.is_lddw_tail), Idx{});
  b = build({Insn::make(JMP | EXIT), Insn::make(LDDW_OPCODE)});
  EXPECT_EQ(texts(b.errors), (Texts{"1: invalid BPF_LD_IMM insn", "1: unreachable insn 1"}));
}

TEST(Cfg, SubprogramsSplitAtCallTargets) {
  const Built b = build(R"(
    mov %r1, 1
    call local f
    call local g
    exit
  f:
    mov %r0, %r1
    call local g
    exit
  g:
    jeq %r1, 0, +1
    mov %r0, 2
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 4}, {4, 7}, {7, 10}}));
  EXPECT_EQ(b.cfg.call_target(1), 4u);
  EXPECT_EQ(b.cfg.call_target(2), 7u);
  EXPECT_EQ(b.cfg.call_target(5), 7u);
  EXPECT_EQ(b.cfg.call_target(0), std::nullopt);
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {2}, {3}, {}, {5}, {6}, {}, {8, 9}, {9}, {}}));
  EXPECT_EQ(b.cfg.subprogram_of(0).start, 0u);
  EXPECT_EQ(b.cfg.subprogram_of(3).start, 0u);
  EXPECT_EQ(b.cfg.subprogram_of(4).start, 4u);
  EXPECT_EQ(b.cfg.subprogram_of(6).end, 7u);
  EXPECT_EQ(b.cfg.subprogram_of(9).start, 7u);
  EXPECT_EQ(set_in(b.cfg.reachable).size(), 10u);
  for (const Subprogram& fn : b.cfg.subprograms) EXPECT_FALSE(fn.is_callback);
}

TEST(Cfg, HelperAndKfuncCallsOnlyFallThrough) {
  const Built b = build("call 1\ncall kfunc 0\nexit");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {2}, {}}));
  EXPECT_TRUE(b.cfg.calls.empty());
  EXPECT_EQ(b.cfg.call_target(0), std::nullopt);
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 3}}));
}

TEST(Cfg, FallingFromOneSubprogramIntoTheNext) {
  const Built b = build(R"(
    call local f
    mov %r0, 0
  f:
    mov %r0, 1
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{"1: last insn is not an exit or jmp"});
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 2}, {2, 4}}));
  EXPECT_EQ(as_vector(b.cfg.succs[1]), std::vector<uint32_t>{});
}

TEST(Cfg, JumpsMayNotLeaveTheirSubprogram) {
  Built b = build(R"(
    call local f
    ja f
  f:
    mov %r0, 1
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{"1: jump out of range from insn 1 to 2"});
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::JumpOutOfSubprogram);
  b = build(R"(
  main:
    call local f
    exit
  f:
    jeq %r1, 0, main
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{"2: jump out of range from insn 2 to 0"});
  EXPECT_EQ(as_vector(b.cfg.succs[2]), std::vector<uint32_t>{3});
}

TEST(Cfg, BadCallAndCallbackTargets) {
  Built b = build("call local +100\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"0: call to invalid destination"});
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::BadCallTarget);
  EXPECT_EQ(b.errors[0].target, 101);
  EXPECT_EQ(as_vector(b.cfg.succs[0]), std::vector<uint32_t>{1});  // still falls through
  b = build("call local -2\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"0: call to invalid destination"});
  b = build("lddw %r1, func +100\nexit");
  EXPECT_EQ(texts(b.errors), Texts{"0: invalid func target"});
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::BadFuncTarget);
  // A call into an lddw's second slot: no sub-program starts there.
  b = build("call local +2\nexit\nlddw %r0, 1\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"0: jump into the middle of ldimm64 insn 2", "2: unreachable insn 2",
                                    "4: unreachable insn 4"}));
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 5}}));
}

TEST(Cfg, UnreachableCodeAfterExit) {
  Built b = build("mov %r0, 0\nexit\nmov %r0, 1\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"2: unreachable insn 2", "3: unreachable insn 3"}));
  EXPECT_EQ(b.errors[0].kind, CfgErrorKind::Unreachable);
  EXPECT_EQ(set_in(b.cfg.reachable), (Idx{0, 1}));
  // The second slot of a dead lddw is not an instruction to report.
  b = build("exit\nlddw %r0, 1\nexit");
  EXPECT_EQ(texts(b.errors), (Texts{"1: unreachable insn 1", "3: unreachable insn 3"}));
}

TEST(Cfg, UnreferencedSubprogramIsOneError) {
  // f is called only from dead code: one error for f, one per dead insn of main.
  const Built b = build(R"(
    mov %r0, 0
    exit
    call local f
    exit
  f:
    mov %r0, 1
    mov %r0, 2
    exit
  )");
  EXPECT_EQ(texts(b.errors),
            (Texts{"2: unreachable insn 2", "3: unreachable insn 3", "4: unreachable insn 4"}));
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 4}, {4, 7}}));
  EXPECT_EQ(set_in(b.cfg.reachable), (Idx{0, 1}));
}

TEST(Cfg, CalleesOfReachedSubprogramsAreReached) {
  const Built b = build(R"(
    call local f
    exit
  f:
    call local g
    exit
  g:
    mov %r0, 0
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(set_in(b.cfg.reachable), (Idx{0, 1, 2, 3, 4, 5}));
}

TEST(Cfg, CallbacksViaLddwPseudoFunc) {
  const Built b = build(R"(
    lddw %r2, func cb
    mov %r1, 4
    mov %r3, 0
    mov %r4, 0
    call 181
    exit
  cb:
    mov %r0, 0
    exit
  )");
  // cb is referenced only by the lddw, and is reached through it.
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 7}, {7, 9}}));
  EXPECT_TRUE(b.cfg.subprograms[1].is_callback);
  EXPECT_FALSE(b.cfg.subprograms[0].is_callback);
  EXPECT_EQ(b.cfg.func_ref(0), 7u);
  EXPECT_EQ(b.cfg.call_target(0), std::nullopt);
  EXPECT_EQ(b.cfg.call_target(5), std::nullopt);  // the helper call
  EXPECT_EQ(as_vector(b.cfg.succs[0]), std::vector<uint32_t>{2});
  EXPECT_TRUE(b.cfg.reachable[7]);
}

TEST(Cfg, SubprogramBothCalledAndPassedIsACallback) {
  const Built b = build(R"(
    call local cb
    lddw %r2, func cb
    exit
  cb:
    mov %r0, 0
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(ranges(b.cfg), (Ranges{{0, 4}, {4, 6}}));
  EXPECT_TRUE(b.cfg.subprograms[1].is_callback);
}

TEST(Cfg, NestedLoop) {
  const Built b = build(R"(
    mov %r1, 0
  outer:
    mov %r2, 0
  inner:
    add %r2, 1
    jlt %r2, 4, inner
    add %r1, 1
    jlt %r1, 3, outer
    mov %r0, %r1
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(as_vectors(b.cfg.succs), (Succs{{1}, {2}, {3}, {4, 2}, {5}, {6, 1}, {7}, {}}));
  EXPECT_EQ(set_in(b.cfg.loop_head), (Idx{1, 2}));
  EXPECT_EQ(set_in(b.cfg.jump_target), (Idx{1, 2, 4, 6}));
}

TEST(Cfg, LoopHeadsInEverySubprogram) {
  const Built b = build(R"(
    call local f
    exit
  f:
    mov %r0, 0
  loop:
    add %r0, 1
    jne %r0, 8, loop
    exit
  )");
  EXPECT_EQ(texts(b.errors), Texts{});
  EXPECT_EQ(set_in(b.cfg.loop_head), Idx{3});
}

// Structural invariants every graph keeps, whatever the input.
void expect_well_formed(const Built& b) {
  const Cfg& cfg = b.cfg;
  const size_t n = b.insns.size();
  ASSERT_EQ(cfg.size, n);
  ASSERT_EQ(cfg.succs.size(), n);
  ASSERT_EQ(cfg.is_lddw_tail.size(), n);
  ASSERT_EQ(cfg.reachable.size(), n);
  ASSERT_EQ(cfg.loop_head.size(), n);
  ASSERT_EQ(cfg.jump_target.size(), n);
  ASSERT_FALSE(cfg.subprograms.empty());
  ASSERT_EQ(cfg.subprograms.front().start, 0u);
  ASSERT_EQ(cfg.subprograms.back().end, n);
  for (size_t k = 1; k < cfg.subprograms.size(); ++k)
    ASSERT_EQ(cfg.subprograms[k].start, cfg.subprograms[k - 1].end);
  for (size_t i = 0; i < n; ++i) {
    const Subprogram& fn = cfg.subprogram_of(i);
    ASSERT_TRUE(fn.start <= i && i < fn.end);
    for (const uint32_t s : cfg.succs[i]) {
      ASSERT_LT(s, n);
      ASSERT_FALSE(cfg.is_lddw_tail[s]);
      ASSERT_TRUE(fn.start <= s && s < fn.end);
    }
    for (const auto& t : {cfg.call_target(i), cfg.func_ref(i)})
      if (t) {
        ASSERT_EQ(cfg.subprogram_of(*t).start, *t);
      }
    if (cfg.is_lddw_tail[i]) {
      ASSERT_TRUE(cfg.succs[i].empty());
    }
  }
  for (const std::vector<CallRef>* refs : {&cfg.calls, &cfg.func_refs})
    for (size_t k = 0; k < refs->size(); ++k) {
      ASSERT_LT((*refs)[k].insn, n);
      if (k > 0) {
        ASSERT_LT((*refs)[k - 1].insn, (*refs)[k].insn);
      }
    }
  for (size_t k = 1; k < b.errors.size(); ++k) ASSERT_LE(b.errors[k - 1].insn, b.errors[k].insn);
  for (const CfgError& e : b.errors) {
    ASSERT_LT(e.insn, std::max<size_t>(n, 1));
    ASSERT_FALSE(e.message.empty());
  }
}

// CfgDepth::Structure (the decoder's) builds the same graph and reports the same defects as a
// full build, less reachability, loop heads and Unreachable.
void expect_structure_same(const Built& b) {
  std::vector<CfgError> errors;
  const Cfg s = build_cfg(b.insns, errors, CfgDepth::Structure);
  EXPECT_EQ(s.succs, b.cfg.succs);
  EXPECT_EQ(s.is_lddw_tail, b.cfg.is_lddw_tail);
  EXPECT_EQ(s.jump_target, b.cfg.jump_target);
  EXPECT_EQ(ranges(s), ranges(b.cfg));
  for (size_t k = 0; k < s.subprograms.size() && k < b.cfg.subprograms.size(); ++k)
    EXPECT_EQ(s.subprograms[k].is_callback, b.cfg.subprograms[k].is_callback);
  auto pairs = [](const std::vector<CallRef>& refs) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const CallRef& r : refs) out.emplace_back(r.insn, r.target);
    return out;
  };
  EXPECT_EQ(pairs(s.calls), pairs(b.cfg.calls));
  EXPECT_EQ(pairs(s.func_refs), pairs(b.cfg.func_refs));
  EXPECT_TRUE(s.reachable.empty());
  EXPECT_TRUE(s.loop_head.empty());
  std::vector<CfgError> full;
  for (const CfgError& e : b.errors)
    if (e.kind != CfgErrorKind::Unreachable) full.push_back(e);
  EXPECT_EQ(texts(errors), texts(full));
}

TEST(CfgFuzz, RandomAndMutatedProgramsKeepSuccessorsInRange) {
  std::mt19937_64 rng(20261206);
  const std::vector<std::vector<Insn>> seeds = {
      assemble("mov %r1, 0\nouter:\nmov %r2, 0\ninner:\nadd %r2, 1\njlt %r2, 4, inner\nadd %r1, 1\n"
               "jlt %r1, 3, outer\nmov %r0, %r1\nexit"),
      assemble("lddw %r2, func cb\nmov %r1, 4\ncall 181\ncall local f\nexit\nf:\njeq %r1, 0, +1\n"
               "lddw %r0, 7\nexit\ncb:\nja32 +0\nmov %r0, 0\nexit"),
      assemble("jeq %r1, 0, +2\nlddw %r0, 1\nja -4\ncall kfunc 0\nexit"),
  };
  // Control-flow opcodes are overrepresented so that random bytes still make graphs.
  const uint8_t flow[] = {JMP | JA, JMP32 | JA, JMP | EXIT, JMP | CALL, JMP | JEQ, JMP32 | JSLT | X,
                          LDDW_OPCODE, ALU64 | MOV};
  size_t errors_seen = 0, clean = 0;
  for (int iter = 0; iter < 20'000; ++iter) {
    std::vector<Insn> prog;
    if (iter % 2 == 0) {
      const size_t n = rng() % 24;
      // Jump, call and func offsets mostly land near the program, just in or just out.
      auto near = [&] { return static_cast<int>(rng() % (2 * n + 3)) - static_cast<int>(n) - 1; };
      for (size_t i = 0; i < n; ++i) {
        Insn insn = Insn::from_raw(rng());
        if (rng() % 2) insn.code = flow[rng() % std::size(flow)];
        if (rng() % 2) insn.off = static_cast<int16_t>(near());
        if (rng() % 2) insn.imm = near();
        if (rng() % 2) insn.src = static_cast<uint8_t>(rng() % 5);
        prog.push_back(insn);
      }
    } else {
      prog = seeds[rng() % seeds.size()];
      const int mutations = 1 + static_cast<int>(rng() % 3);
      for (int m = 0; m < mutations && !prog.empty(); ++m) {
        Insn& insn = prog[rng() % prog.size()];
        switch (rng() % 6) {
          case 0: insn.off = static_cast<int16_t>(insn.off + static_cast<int>(rng() % 7) - 3); break;
          case 1: insn.imm += static_cast<int32_t>(rng() % 7) - 3; break;
          case 2: insn.code = flow[rng() % std::size(flow)]; break;
          case 3: insn.src = static_cast<uint8_t>(rng() % 16); break;
          case 4: prog.erase(prog.begin() + static_cast<ptrdiff_t>(rng() % prog.size())); break;
          case 5: prog.resize(rng() % (prog.size() + 1)); break;
        }
      }
    }
    const Built b = build(std::move(prog));
    ASSERT_NO_FATAL_FAILURE(expect_well_formed(b)) << "iteration " << iter;
    ASSERT_NO_FATAL_FAILURE(expect_structure_same(b)) << "iteration " << iter;
    errors_seen += b.errors.size();
    clean += b.errors.empty();
  }
  std::printf("cfg fuzz: %zu clean graphs, %zu errors\n", clean, errors_seen);
  // The generator must produce both accepted and rejected graphs.
  EXPECT_GT(clean, 500u);
  EXPECT_GT(errors_seen, 10'000u);
}

}  // namespace
}  // namespace bpfq::ebpf
