// Checked mode must survive any instruction sequence: 100k random programs, each either
// rejected at load with bpfq::Error or run to completion or to a reported fault. Run under ASan.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>

namespace bpfq {
namespace {

using ebpf::Insn;

// Opcodes a generator picks from: every valid one, plus a few invalid ones.
std::vector<uint8_t> opcode_pool() {
  std::vector<uint8_t> ops;
  for (uint8_t cls : {ebpf::ALU, ebpf::ALU64})
    for (uint8_t op = 0; op <= 0xd0; op += 0x10)
      for (uint8_t srcbit : {ebpf::K, ebpf::X}) ops.push_back(cls | op | srcbit);
  for (uint8_t cls : {ebpf::JMP, ebpf::JMP32})
    for (uint8_t op = 0; op <= 0xd0; op += 0x10)
      for (uint8_t srcbit : {ebpf::K, ebpf::X}) ops.push_back(cls | op | srcbit);
  for (uint8_t size : {ebpf::B, ebpf::H, ebpf::W, ebpf::DW}) {
    ops.push_back(ebpf::LDX | ebpf::MEM | size);
    ops.push_back(ebpf::LDX | ebpf::MEMSX | size);
    ops.push_back(ebpf::ST | ebpf::MEM | size);
    ops.push_back(ebpf::STX | ebpf::MEM | size);
    ops.push_back(ebpf::STX | ebpf::ATOMIC | size);
  }
  ops.push_back(ebpf::LDDW_OPCODE);
  ops.push_back(0xff);  // invalid
  ops.push_back(0x20);  // legacy ld_abs
  return ops;
}

uint64_t grant_helper(uint64_t a1, uint64_t a2, uint64_t, uint64_t, uint64_t) {
  // Like map_lookup_elem: hands the program a pointer it may use (8 bytes).
  static thread_local uint64_t cell;
  if (auto* rc = exec::RunContext::current()) rc->grant(reinterpret_cast<uint64_t>(&cell), 8, true);
  return (a1 ^ a2) & 1 ? reinterpret_cast<uint64_t>(&cell) : 0;
}

uint64_t loop_helper(uint64_t n, uint64_t fn, uint64_t ctx, uint64_t, uint64_t) {
  // Like bpf_loop: calls back into the program, refusing non-callbacks.
  auto* rc = exec::RunContext::current();
  if (!rc->is_callback(fn)) {
    rc->fail("not a callback");
    return 0;
  }
  for (uint64_t i = 0; i < (n & 7) && !rc->failed(); ++i)
    if (rc->call(fn, i, ctx, 0, 0, 0)) break;
  return 0;
}

TEST(CheckedFuzz, HundredThousandRandomProgramsNeverCrash) {
  std::mt19937_64 rng(20261125);
  const std::vector<uint8_t> ops = opcode_pool();
  exec::HelperRegistry helpers;
  helpers.add_helper(1, "grant", grant_helper);
  helpers.add_helper(181, "loop", loop_helper);
  exec::LinkEnv env;
  env.helpers = &helpers;
  exec::ProgramOptions opts;
  opts.checked = true;
  opts.insn_budget = 5000;

  int rejected = 0, completed = 0;
  int faults[16] = {};
  for (int iter = 0; iter < 100'000; ++iter) {
    const int n = 1 + static_cast<int>(rng() % 24);
    std::vector<Insn> prog(n);
    for (int i = 0; i < n; ++i) {
      Insn& in = prog[i];
      const uint64_t r = rng();
      auto rare = [&](int bit) { return ((r >> bit) & 63) == 0; };  // 1 in 64
      in.code = rare(0) ? static_cast<uint8_t>(rng()) : ops[rng() % ops.size()];
      in.dst = static_cast<uint8_t>(rare(6) ? 10 + rng() % 2 : rng() % 10);
      in.src = static_cast<uint8_t>(rare(12) ? 11 : rng() % 11);
      const uint8_t cls = ebpf::insn_class(in.code);
      const bool is_jump = cls == ebpf::JMP || cls == ebpf::JMP32;
      if (cls == ebpf::LDX) in.src = (r >> 18) & 1 ? 1 : 10;  // mostly ctx or stack bases
      if (cls == ebpf::ST || cls == ebpf::STX) in.dst = (r >> 18) & 1 ? 1 : 10;
      // Offsets near the valid range: ctx [0,64), stack [-512, 0), with some spill-over.
      const int base_off = in.src == 10 || in.dst == 10 ? -520 : -8;
      in.off = static_cast<int16_t>(is_jump ? static_cast<int>(rng() % (2 * n + 1)) - n
                                            : rare(20) ? static_cast<int16_t>(rng())
                                                       : base_off + static_cast<int>(rng() % 80) * ((r >> 26) & 1 ? 1 : 7));
      in.imm = (r >> 27) & 1 ? static_cast<int32_t>(rng() % 65) - 32 : static_cast<int32_t>(rng());
      if (cls == ebpf::ALU || cls == ebpf::ALU64) {
        static constexpr int16_t kAluOffsets[] = {0, 0, 0, 0, 1, 8, 16, 32};
        in.off = kAluOffsets[rng() % 8];
        if (ebpf::alu_op(in.code) == ebpf::END) in.imm = 16 << (rng() % 3);
      }
      if (in.code == (ebpf::JMP | ebpf::CALL)) {
        in.src = static_cast<uint8_t>(rng() % 3);
        in.imm = in.src == 0 ? ((r >> 28) & 1 ? 1 : 181) : static_cast<int32_t>(rng() % (2 * n + 1)) - n;
      }
      if (in.code == (ebpf::JMP32 | ebpf::JA)) in.imm = static_cast<int32_t>(rng() % (2 * n + 1)) - n;
      if (in.code == ebpf::LDDW_OPCODE && (r >> 29) & 1) {
        in.src = ebpf::PSEUDO_FUNC;
        in.imm = static_cast<int32_t>(rng() % (2 * n + 1)) - n;
      }
      if (cls == ebpf::STX && ebpf::mem_mode(in.code) == ebpf::ATOMIC) {
        static constexpr int32_t kAtomics[] = {0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1};
        in.imm = kAtomics[rng() % 10];
        in.off &= ~7;
      }
    }
    prog.push_back(Insn{ebpf::JMP | ebpf::EXIT, 0, 0, 0, 0});
    try {
      const exec::Program p = exec::Program::load(prog, env, opts);
      uint8_t ctx[64] = {};
      const exec::RunResult res = p.run(ctx, sizeof ctx);
      if (res.ok()) {
        ++completed;
      } else {
        ++faults[static_cast<int>(res.fault)];
        ASSERT_FALSE(res.message().empty());
      }
    } catch (const Error& e) {
      ++rejected;
      if (getenv("FUZZ_VERBOSE")) printf("%s\n", e.what());
      ASSERT_NE(std::string(e.what()).find("insn "), std::string::npos) << e.what();
    }
  }
  std::printf("fuzz: %d rejected at load, %d completed, faults: oob %d, budget %d, depth %d, helper %d, callback %d, fell-off %d, misaligned %d\n",
              rejected, completed, faults[int(exec::Fault::OutOfBounds)], faults[int(exec::Fault::Budget)],
              faults[int(exec::Fault::CallDepth)], faults[int(exec::Fault::HelperFault)],
              faults[int(exec::Fault::BadCallback)], faults[int(exec::Fault::FellOffEnd)],
              faults[int(exec::Fault::Misaligned)]);
  // The generator must actually exercise the runtime, not only the decoder.
  EXPECT_GT(completed, 5'000);
  EXPECT_GT(faults[int(exec::Fault::OutOfBounds)], 1'000);
  EXPECT_GT(faults[int(exec::Fault::Budget)], 10);
  EXPECT_GT(rejected, 5'000);
}

}  // namespace
}  // namespace bpfq
