// Interpreter behaviour: the calling convention, local calls, helpers, callbacks, checked-mode
// faults and load-time validation errors.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>

namespace bpfq {
namespace {

using exec::Fault;
using exec::Program;

exec::ProgramOptions mode(bool checked, uint64_t budget = 100'000) {
  exec::ProgramOptions o;
  o.checked = checked;
  o.insn_budget = budget;
  return o;
}

// Load-time error text for `asm_text`, or "" if it loads.
std::string load_error(const std::string& asm_text, const exec::LinkEnv& env = {}) {
  try {
    Program::load(ebpf::assemble(asm_text), env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A link environment whose registry has one helper.
struct OneHelper {
  OneHelper(int32_t id, const char* name, exec::HelperFn fn) {
    registry.add_helper(id, name, fn);
    env.helpers = &registry;
  }
  OneHelper(const OneHelper&) = delete;
  exec::HelperRegistry registry;
  exec::LinkEnv env;
};

class BothModes : public ::testing::TestWithParam<bool> {
 protected:
  Program load(const std::string& text, const exec::LinkEnv& env = {}) const {
    return Program::load(ebpf::assemble(text), env, mode(GetParam()));
  }
};
INSTANTIATE_TEST_SUITE_P(Interpreter, BothModes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "checked" : "fast"; });

TEST_P(BothModes, PassesContextInR1AndLengthInR2) {
  uint8_t ctx[12] = {0};
  ctx[4] = 0x2a;
  const auto r = load("ldxb %r0, [%r1+4]\nadd %r0, %r2\nexit").run(ctx, sizeof ctx);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0x2au + 12);
}

TEST_P(BothModes, ProgramMayWriteItsContext) {
  uint64_t ctx = 0;
  const auto r = load("lddw %r2, 0x1122334455667788\nstxdw [%r1+0], %r2\nmov %r0, 0\nexit").run(&ctx, 8);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(ctx, 0x1122334455667788ull);
}

TEST_P(BothModes, LocalCallsPreserveCalleeSavedRegistersAndUseTheirOwnFrame) {
  const auto r = load(R"(
    mov %r6, 100
    stdw [%r10-8], 7
    mov %r1, 5
    call local double_it
    ldxdw %r1, [%r10-8]      # caller's stack slot is untouched by the callee
    add %r0, %r1
    add %r0, %r6             # r6 restored
    exit
  double_it:
    mov %r6, 999             # clobbers r6 inside the callee only
    stdw [%r10-8], 1000      # the callee's own frame
    mov %r0, %r1
    add %r0, %r1
    exit
  )").run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 10u + 7 + 100);
}

TEST_P(BothModes, CallDepthBeyondEightFramesFaults) {
  const auto r = load("call local f\nexit\nf:\ncall local f\nexit").run(nullptr, 0);
  EXPECT_EQ(r.fault, Fault::CallDepth);
  EXPECT_NE(r.message().find("call depth"), std::string::npos);
}

uint64_t add_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return a + b + c + d + e; }

TEST_P(BothModes, HelpersReceiveR1ToR5) {
  const OneHelper helper(7, "add5", add_helper);
  const exec::LinkEnv& env = helper.env;
  const auto r = load("mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 7\nexit", env)
                     .run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 15u);
}

TEST_P(BothModes, KfuncsResolveByName) {
  exec::HelperRegistry h;
  h.add_kfunc("bpf_add5", add_helper);
  exec::LinkEnv env;
  env.helpers = &h;
  env.kfunc_names = {"bpf_add5"};
  std::vector<ebpf::Insn> p = ebpf::assemble("mov %r1, 40\nmov %r2, 2\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\ncall 0\nexit");
  p[5].src = ebpf::CALL_KFUNC;
  const auto r = Program::load(p, env, mode(GetParam())).run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 42u);
}

// bpf_loop-like helper: calls the callback r1 times with (index, ctx).
uint64_t loop_helper(uint64_t n, uint64_t fn, uint64_t ctx, uint64_t, uint64_t) {
  auto* rc = exec::RunContext::current();
  uint64_t i = 0;
  for (; i < n; ++i)
    if (rc->call(fn, i, ctx, 0, 0, 0) != 0 || rc->failed()) break;
  return i;
}

TEST_P(BothModes, HelpersCallBackIntoTheProgramWithTheCallersStack) {
  const OneHelper helper(181, "loop", loop_helper);
  const exec::LinkEnv& env = helper.env;
  // sum of 0..9 accumulated through a pointer to the caller's stack
  std::vector<ebpf::Insn> p = ebpf::assemble(R"(
    stdw [%r10-8], 0
    mov %r1, 10
    lddw %r2, 0
    mov %r3, %r10
    add %r3, -8
    call 181
    ldxdw %r0, [%r10-8]
    exit
  body:
    ldxdw %r3, [%r2+0]
    add %r3, %r1
    stxdw [%r2+0], %r3
    mov %r0, 0
    exit
  )");
  p[2].src = ebpf::PSEUDO_FUNC;
  p[2].imm = 9 - (2 + 1);  // "body" is instruction 9
  const auto r = Program::load(p, env, mode(GetParam())).run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 45u);
}

TEST_P(BothModes, HelperRefusingACallbackValueEndsTheRun) {
  const OneHelper helper(181, "loop", [](uint64_t, uint64_t fn, uint64_t, uint64_t, uint64_t) -> uint64_t {
    auto* rc = exec::RunContext::current();
    if (!rc->is_callback(fn)) rc->fail("not a callback");
    return 0;
  });
  const exec::LinkEnv& env = helper.env;
  const auto r = load("mov %r1, 1\nmov %r2, 1234\ncall 181\nmov %r0, 7\nexit", env).run(nullptr, 0);
  EXPECT_EQ(r.fault, Fault::HelperFault);
  EXPECT_EQ(r.pc, 2u);
  EXPECT_NE(r.message().find("not a callback"), std::string::npos) << r.message();
}

TEST(CheckedMode, OutOfBoundsLoadFaultsWithAddressAndInstruction) {
  uint8_t ctx[8] = {};
  const auto p = Program::load(ebpf::assemble("mov %r0, 0\nldxdw %r0, [%r1+4]\nexit"), {}, mode(true));
  const auto r = p.run(ctx, sizeof ctx);
  EXPECT_EQ(r.fault, Fault::OutOfBounds);
  EXPECT_EQ(r.pc, 1u);
  EXPECT_EQ(r.addr, reinterpret_cast<uint64_t>(ctx) + 4);
  EXPECT_EQ(r.size, 8u);
  EXPECT_NE(r.message().find("out-of-bounds access of 8 bytes"), std::string::npos) << r.message();
}

TEST(CheckedMode, EveryFrameStartsZeroed) {
  // The caller fills its frame; the callee's frame, below it, reads as zero however deep.
  const auto p = Program::load(ebpf::assemble("stdw [%r10-8], 7\nstdw [%r10-512], 7\n"
                                              "call local +1\nexit\n"
                                              "call local +1\nexit\n"
                                              "ldxdw %r0, [%r10-8]\nldxdw %r1, [%r10-512]\nadd %r0, %r1\nexit"),
                               {}, mode(true));
  const auto r = p.run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0u);
}

TEST(CheckedMode, StackBelowTheFrameFaults) {
  const auto p = Program::load(ebpf::assemble("stdw [%r10-4096], 1\nexit"), {}, mode(true));
  EXPECT_EQ(p.run(nullptr, 0).fault, Fault::OutOfBounds);
  const auto ok = Program::load(ebpf::assemble("stdw [%r10-512], 1\nmov %r0, 0\nexit"), {}, mode(true));
  EXPECT_TRUE(ok.run(nullptr, 0).ok());
}

TEST(CheckedMode, WritesToReadOnlyRegionsFaultButReadsWork) {
  static const uint64_t constant = 77;
  exec::LinkEnv env;
  env.regions.push_back({reinterpret_cast<uint64_t>(&constant), reinterpret_cast<uint64_t>(&constant) + 8, false});
  std::vector<ebpf::Insn> read = ebpf::assemble("lddw %r1, 0\nldxdw %r0, [%r1+0]\nexit");
  read[0].imm = static_cast<int32_t>(reinterpret_cast<uint64_t>(&constant));
  read[1].imm = static_cast<int32_t>(reinterpret_cast<uint64_t>(&constant) >> 32);
  auto r = Program::load(read, env, mode(true)).run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 77u);
  std::vector<ebpf::Insn> write = read;
  write[2] = ebpf::assemble("stdw [%r1+0], 1")[0];
  write.push_back(ebpf::assemble("exit")[0]);
  r = Program::load(write, env, mode(true)).run(nullptr, 0);
  EXPECT_EQ(r.fault, Fault::ReadOnly);
  EXPECT_EQ(constant, 77u);
}

uint64_t grant_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  static uint64_t cell = 5;
  exec::RunContext::current()->grant(reinterpret_cast<uint64_t>(&cell), sizeof cell, true);
  return reinterpret_cast<uint64_t>(&cell);
}

TEST(CheckedMode, MemoryGrantedByAHelperIsAccessibleForTheRun) {
  const OneHelper helper(1, "lookup", grant_helper);
  const exec::LinkEnv& env = helper.env;
  const auto r = Program::load(ebpf::assemble("call 1\nldxdw %r1, [%r0+0]\nadd %r1, 1\nstxdw [%r0+0], %r1\nldxdw %r0, [%r0+0]\nexit"),
                               env, mode(true))
                     .run(nullptr, 0);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 6u);
}

// What may_access answers for each probe, from inside a run: the cache of the last region that
// passed must never answer differently from the full scan.
uint64_t probe_accesses(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  static uint64_t cell[2];
  auto* rc = exec::RunContext::current();
  const auto at = reinterpret_cast<uint64_t>(cell);
  uint64_t answers = 0;
  answers |= uint64_t{rc->may_access(0, 0, false)} << 0;        // nothing granted at 0
  rc->grant(at, sizeof cell, true);
  answers |= uint64_t{rc->may_access(at, 8, true)} << 1;        // granted, and now cached
  answers |= uint64_t{rc->may_access(0, 0, false)} << 2;        // still nothing at 0
  answers |= uint64_t{rc->may_access(at + 8, 16, false)} << 3;  // runs past the grant
  rc->grant(UINT64_MAX - 7, 16, true);                           // would wrap: refused
  answers |= uint64_t{rc->may_access(0, 8, false)} << 4;
  answers |= uint64_t{rc->may_access(UINT64_MAX - 7, 8, false)} << 5;
  return answers;
}

TEST(CheckedMode, TheLastRegionCacheAnswersAsTheScanDoes) {
  const OneHelper helper(1, "probe", probe_accesses);
  const exec::LinkEnv& env = helper.env;
  uint64_t ctx = 0;  // a context of its own: a null one would be an empty region at 0
  const auto r = Program::load(ebpf::assemble("call 1\nexit"), env, mode(true)).run(&ctx, sizeof ctx);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0b000010u);  // only the granted access passes
}

TEST(CheckedMode, RunawayLoopExhaustsTheBudget) {
  const auto p = Program::load(ebpf::assemble("l:\nja l\nexit"), {}, mode(true, 10'000));
  const auto r = p.run(nullptr, 0);
  EXPECT_EQ(r.fault, Fault::Budget);
  EXPECT_NE(r.message().find("budget"), std::string::npos);
}

TEST(CheckedMode, MisalignedAtomicFaults) {
  const auto p = Program::load(ebpf::assemble("mov %r1, 1\nlock add [%r10-12], %r1\nexit"), {}, mode(true));
  EXPECT_EQ(p.run(nullptr, 0).fault, Fault::Misaligned);
}

TEST(CheckedMode, FallingOffTheEndFaults) {
  const auto p = Program::load(ebpf::assemble("mov %r0, 1"), {}, mode(true));
  const auto r = p.run(nullptr, 0);
  EXPECT_EQ(r.fault, Fault::FellOffEnd);
  EXPECT_EQ(r.pc, 1u);
}

TEST(LoadErrors, NameTheInstructionAndTheProblem) {
  EXPECT_EQ(load_error(""), "insn 0: program has no instructions (hint: an eBPF program ends with exit)");
  EXPECT_EQ(load_error("mov %r0, 0\nja +5\nexit"),
            "insn 1: jump out of range from insn 1 to 7 (hint: the program has insns 0..2)");
  EXPECT_EQ(load_error("mov %r10, 0\nexit"), "insn 0: write to r10, the read-only frame pointer");
  EXPECT_EQ(load_error("call 99\nexit"),
            "insn 0: unknown helper id 99 (hint: bpfq provides the helpers listed in docs/runtime.md and docs/program-model.md)");
  EXPECT_EQ(load_error("mov %r1, 1\ncall %r1\nexit"),
            "insn 1: callx (indirect call through a register) is not supported (hint: call helpers by id)");
  EXPECT_EQ(load_error("lddw %r1, map[3]\nexit"),
            "insn 0: lddw refers to map 3 but no maps are linked (hint: load the program through an "
            "object, which creates its maps)");
  EXPECT_EQ(load_error(".insn 0x0000000000000020\nexit"),
            "insn 0: legacy packet access (ld_abs/ld_ind) is not supported (hint: read packet bytes "
            "through skb->data/data_end or bpf_skb_load_bytes)");
  EXPECT_EQ(load_error(".insn 0x00000000000000ff\nexit"),
            "insn 0: unknown opcode 0xff (raw 0xff) (hint: bpfq implements eBPF ISA v4 (RFC 9669))");
}

TEST(LoadErrors, JumpIntoTheMiddleOfLddwIsRejected) {
  EXPECT_EQ(load_error("ja +1\nlddw %r0, 0x100000001\nexit"),
            "insn 0: jump into the middle of ldimm64 insn 1 (hint: an lddw fills two slots)");
}

TEST(LoadErrors, WhereNamesTheProgram) {
  exec::LinkEnv env;
  env.where = "fifo.bpf.o section qdisc/enqueue";
  EXPECT_EQ(load_error("call 99\nexit", env),
            "fifo.bpf.o section qdisc/enqueue insn 0: unknown helper id 99 (hint: bpfq provides the "
            "helpers listed in docs/runtime.md and docs/program-model.md)");
}

// bpf_map_lookup_elem on an array map loaded into r1 just before runs in place on unchecked
// runs (JIT and interpreter alike: the element's address, or NULL past the end) and stays a
// call in checked runs and wherever r1 may come from elsewhere.
class InlineArrayLookup : public ::testing::TestWithParam<exec::Backend> {
 protected:
  static uint64_t helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 0xdead; }
  static constexpr uint64_t kMap = 0x5000;

  InlineArrayLookup() {
    registry.add_helper(1, "bpf_map_lookup_elem", helper);
    env.helpers = &registry;
    env.resolve_lddw = [](uint8_t, int32_t, int32_t) { return kMap; };
    env.inline_lookup = [this](uint64_t fn, uint64_t map) -> std::optional<exec::ArrayLookup> {
      if (fn != reinterpret_cast<uint64_t>(&helper) || map != kMap) return std::nullopt;
      return exec::ArrayLookup{reinterpret_cast<uint64_t>(values), 24, 4};
    };
  }
  uint64_t run(const std::string& text, uint32_t key, bool checked = false) {
    exec::ProgramOptions o = mode(checked);
    o.backend = checked ? exec::Backend::Interpreter : GetParam();
    const Program p = Program::load(ebpf::assemble(text), env, o);
    uint32_t ctx = key;
    const exec::RunResult r = p.run(&ctx, sizeof ctx);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.r0;
  }
  // The key from the context onto the stack, r2 at it, r1 the map: the shape clang emits.
  static constexpr const char* kLookup =
      "ldxw %r3, [%r1+0]\nstxw [%r10-4], %r3\nlddw %r1, map[0]\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit";

  exec::HelperRegistry registry;
  exec::LinkEnv env;
  alignas(8) uint8_t values[4 * 24] = {};
};

TEST_P(InlineArrayLookup, FindsTheElementOrNullInPlace) {
  const auto base = reinterpret_cast<uint64_t>(values);
  EXPECT_EQ(run(kLookup, 0), base);
  EXPECT_EQ(run(kLookup, 3), base + 3 * 24);
  EXPECT_EQ(run(kLookup, 4), 0u);
  EXPECT_EQ(run(kLookup, 0xffffffff), 0u);
  EXPECT_EQ(run(kLookup, 2, true), 0xdeadu) << "checked runs call the helper";
}

TEST_P(InlineArrayLookup, StaysACallWhereR1MayComeFromElsewhere) {
  // r1 rewritten after the lddw; a jump landing between the lddw and the call.
  EXPECT_EQ(run("lddw %r1, map[0]\nmov %r1, %r1\nmov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 1\ncall 1\nexit", 0), 0xdeadu);
  EXPECT_EQ(run("stw [%r10-4], 1\nlddw %r1, map[0]\nmov %r2, %r10\nadd %r2, -4\nja +0\ncall 1\nexit", 0), 0xdeadu);
  // Other registers and stores in between do not matter.
  EXPECT_EQ(run("lddw %r1, map[0]\nmov %r2, %r10\nstw [%r10-4], 1\nmov %r4, 9\nadd %r2, -4\ncall 1\nexit", 0),
            reinterpret_cast<uint64_t>(values) + 24);
}

INSTANTIATE_TEST_SUITE_P(Backends, InlineArrayLookup,
                         ::testing::Values(exec::Backend::Interpreter, exec::Backend::Jit),
                         [](const ::testing::TestParamInfo<exec::Backend>& i) { return exec::backend_name(i.param); });

}  // namespace
}  // namespace bpfq
