#include "random_alu_program.hpp"

#include <cstdint>
#include <iterator>

namespace bpfq::test {
namespace {

using ebpf::Insn;

// Only r0..r9: r10 is the frame pointer, read-only for the verifier and an address (which
// differs between bpfq and the kernel) for arithmetic.
constexpr uint64_t kRegs = 10;

enum class Op { Add, Sub, Mul, Div, Sdiv, Or, And, Lsh, Rsh, Neg, Mod, Smod, Xor, Mov, Movsx, Arsh, End, Bswap };
constexpr Op kOps[] = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Sdiv, Op::Or,  Op::And,   Op::Lsh,  Op::Rsh,
                       Op::Neg, Op::Mod, Op::Smod, Op::Xor, Op::Mov, Op::Movsx, Op::Arsh, Op::End, Op::Bswap};

uint8_t opcode_bits(Op op) {
  switch (op) {
    case Op::Add: return ebpf::ADD;
    case Op::Sub: return ebpf::SUB;
    case Op::Mul: return ebpf::MUL;
    case Op::Div: case Op::Sdiv: return ebpf::DIV;
    case Op::Or: return ebpf::OR;
    case Op::And: return ebpf::AND;
    case Op::Lsh: return ebpf::LSH;
    case Op::Rsh: return ebpf::RSH;
    case Op::Neg: return ebpf::NEG;
    case Op::Mod: case Op::Smod: return ebpf::MOD;
    case Op::Xor: return ebpf::XOR;
    case Op::Mov: case Op::Movsx: return ebpf::MOV;
    case Op::Arsh: return ebpf::ARSH;
    case Op::End: case Op::Bswap: return ebpf::END;
  }
  return 0;
}

}  // namespace

uint64_t RandomAluProgram::value64() {
  static constexpr uint64_t kEdges[] = {0,
                                        1,
                                        ~0ull,
                                        0x8000000000000000ull,
                                        0x7fffffffffffffffull,
                                        0x80000000ull,
                                        0xffffffffull,
                                        0x7fffffffull,
                                        0xffffffff80000000ull,
                                        0x100000000ull,
                                        0xff,
                                        0x8080};
  switch (below(6)) {
    case 0: return kEdges[below(std::size(kEdges))];
    case 1: return below(65);                                           // shift amounts, small divisors
    case 2: return 0 - below(65);                                       // small negatives
    case 3: return static_cast<uint32_t>(bits());                       // zero-extended 32-bit
    case 4: return static_cast<uint64_t>(static_cast<int32_t>(bits()));  // sign-extended 32-bit
    default: return bits();
  }
}

int32_t RandomAluProgram::imm32() {
  static constexpr int32_t kEdges[] = {0, 1, -1, INT32_MIN, INT32_MAX, 0xff, 0x8000, -0x8000};
  switch (below(4)) {
    case 0: return kEdges[below(std::size(kEdges))];
    case 1: return static_cast<int32_t>(below(65));
    case 2: return -static_cast<int32_t>(below(65));
    default: return static_cast<int32_t>(bits());
  }
}

// One ALU or ALU64 instruction, restricted to what the kernel verifier accepts and defines the
// same way as RFC 9669. Exclusions (each a semantic difference, not a bpfq bug):
//  - shift by an immediate >= the operand width: the ISA masks the amount, the kernel rejects
//    the program ("invalid shift"); register amounts are any value (both mask them);
//  - div/mod/sdiv/smod by an immediate 0: the ISA defines a result, the kernel rejects
//    ("division by zero"); a register holding 0 is allowed and defined alike;
//  - neg with a register source, ALU64 "to_be", movsx from 32 bits in ALU32, and non-zero
//    reserved fields: undefined by the ISA, rejected by the kernel.
Insn RandomAluProgram::alu_insn() {
  const Op op = kOps[below(std::size(kOps))];
  const bool wide = below(2) == 1;
  const uint8_t cls = wide ? ebpf::ALU64 : ebpf::ALU;
  const int width = wide ? 64 : 32;
  const auto dst = static_cast<uint8_t>(below(kRegs));
  const auto src = static_cast<uint8_t>(below(kRegs));
  const bool use_reg = below(2) == 1;
  const uint8_t code = cls | opcode_bits(op);

  switch (op) {
    case Op::Neg:
      return Insn::make(code | ebpf::K, dst, 0, 0, 0);
    case Op::End: {
      // ALU class: to_le/to_be (the X bit selects big-endian).
      static constexpr int32_t kSizes[] = {16, 32, 64};
      const uint8_t order = below(2) ? ebpf::TO_BE : ebpf::TO_LE;
      return Insn::make(ebpf::ALU | ebpf::END | order, dst, 0, 0, kSizes[below(3)]);
    }
    case Op::Bswap: {
      static constexpr int32_t kSizes[] = {16, 32, 64};
      return Insn::make(ebpf::ALU64 | ebpf::END | ebpf::TO_LE, dst, 0, 0, kSizes[below(3)]);
    }
    case Op::Movsx: {
      static constexpr int16_t kFrom[] = {8, 16, 32};
      return Insn::make(code | ebpf::X, dst, src, kFrom[below(wide ? 3 : 2)], 0);
    }
    case Op::Lsh: case Op::Rsh: case Op::Arsh:
      if (use_reg) return Insn::make(code | ebpf::X, dst, src, 0, 0);
      return Insn::make(code | ebpf::K, dst, 0, 0, static_cast<int32_t>(below(width)));
    case Op::Div: case Op::Mod: case Op::Sdiv: case Op::Smod: {
      const int16_t is_signed = (op == Op::Sdiv || op == Op::Smod) ? 1 : 0;
      if (use_reg) return Insn::make(code | ebpf::X, dst, src, is_signed, 0);
      int32_t imm = imm32();
      while (imm == 0) imm = imm32();
      return Insn::make(code | ebpf::K, dst, 0, is_signed, imm);
    }
    default:  // add sub mul or and xor mov
      if (use_reg) return Insn::make(code | ebpf::X, dst, src, 0, 0);
      return Insn::make(code | ebpf::K, dst, 0, 0, imm32());
  }
}

std::vector<Insn> RandomAluProgram::next(int min_body, int max_body) {
  std::vector<Insn> prog;
  for (uint8_t r = 0; r < kRegs; ++r) {
    const uint64_t v = value64();
    prog.push_back(Insn::make(ebpf::LDDW_OPCODE, r, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v))));
    prog.push_back(Insn::make(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v >> 32))));
  }
  const int body = min_body + static_cast<int>(below(static_cast<uint64_t>(max_body - min_body + 1)));
  for (int i = 0; i < body; ++i) prog.push_back(alu_insn());
  // r0 = (r0 * odd) ^ ri for each ri: a bijection in every register, so no result is lost.
  for (uint8_t r = 1; r < kRegs; ++r) {
    prog.push_back(Insn::make(ebpf::ALU64 | ebpf::MUL | ebpf::K, 0, 0, 0, static_cast<int32_t>(0x9e3779b1u)));
    prog.push_back(Insn::make(ebpf::ALU64 | ebpf::XOR | ebpf::X, 0, r, 0, 0));
  }
  prog.push_back(Insn::make(ebpf::JMP | ebpf::EXIT, 0, 0, 0, 0));
  return prog;
}

}  // namespace bpfq::test
