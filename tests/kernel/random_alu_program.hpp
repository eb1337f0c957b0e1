#pragma once
// Seeded generator of straight-line ALU programs that the Linux verifier accepts, for
// differential testing: r0..r9 are first set with lddw, then a random body of ALU/ALU64
// instructions (every operation, both sources, div/mod/sdiv/smod, movsx, shifts, byte swaps,
// neg), then every register is folded into r0 so that a difference in any of them shows.
//
// The same seed gives the same programs everywhere (no std:: distributions, whose output
// differs between standard libraries).
#include <cstdint>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/runtime/prng.hpp>

namespace bpfq::test {

class RandomAluProgram {
 public:
  explicit RandomAluProgram(uint64_t seed) : prng_(seed) {}

  // The next program; its body has between min_body and max_body instructions.
  std::vector<ebpf::Insn> next(int min_body, int max_body);

 private:
  uint64_t bits() { return prng_.next_u64(); }  // splitmix64
  uint64_t below(uint64_t n) { return bits() % n; }
  uint64_t value64();  // a register value, biased to edge cases
  int32_t imm32();     // an immediate, biased to edge cases
  ebpf::Insn alu_insn();

  runtime::Prng prng_;
};

}  // namespace bpfq::test
