// The disassembler prints each form in the assembler's syntax, falls back to ".insn" for
// anything that syntax cannot express, and never loses a bit on the way back.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/error.hpp>

namespace {

using bpfq::ebpf::assemble;
using bpfq::ebpf::disassemble;
using bpfq::ebpf::disassemble_one;
using bpfq::ebpf::Insn;

// Text of the instruction starting at words[0]; `slots` receives how many words it used.
std::string text_of(std::vector<uint64_t> words, size_t* slots = nullptr) {
  std::vector<Insn> insns;
  for (uint64_t w : words) insns.push_back(Insn::from_raw(w));
  size_t consumed = 99;
  std::string text = disassemble_one(insns.data(), insns.size(), &consumed);
  if (slots) *slots = consumed;
  return text;
}

struct Listing {
  uint64_t raw;
  const char* text;
};

// Raw words written by hand from RFC 9669 (see assembler_test.cpp for the layout).
void expect_listings(const std::vector<Listing>& table) {
  for (const auto& entry : table) {
    SCOPED_TRACE(entry.text);
    size_t slots = 0;
    EXPECT_EQ(text_of({entry.raw}, &slots), entry.text);
    EXPECT_EQ(slots, 1u);
  }
}

TEST(DisassemblerText, AluPrintsHexImmediatesWithSign) {
  expect_listings({
      {0x00000001000000b7, "mov %r0, 0x1"},
      {0xffffffff000001b4, "mov32 %r1, -0x1"},
      {0x80000000000000b7, "mov %r0, -0x80000000"},
      {0x000000000000210f, "add %r1, %r2"},
      {0x0000abcd00000124, "mul32 %r1, 0xabcd"},
      {0x0000000300010137, "sdiv %r1, 0x3"},
      {0x000000000001219c, "smod32 %r1, %r2"},
      {0x0000000000000187, "neg %r1"},
      {0x0000000000000284, "neg32 %r2"},
      {0x00000000001078bf, "movsx1664 %r8, %r7"},
      {0x00000000000812bc, "movsx832 %r2, %r1"},
      {0x00000010000003dc, "be16 %r3"},
      {0x00000020000003d4, "le32 %r3"},
      {0x00000040000003d7, "bswap64 %r3"},
  });
}

TEST(DisassemblerText, MemoryOperandsUseDecimalOffsets) {
  expect_listings({
      {0x0000000000021069, "ldxh %r0, [%r1+2]"},
      {0x0000000000001061, "ldxw %r0, [%r1]"},
      {0x00000000fff8a079, "ldxdw %r0, [%r10-8]"},
      {0x0000000000012191, "ldxsb %r1, [%r2+1]"},
      {0xffffffff00040162, "stw [%r1+4], -0x1"},
      {0x00000000fff80a7b, "stxdw [%r10-8], %r0"},
      {0x00000000fffc1ac3, "lock add32 [%r10-4], %r1"},
      {0x00000001fffc1ac3, "lock fetch add32 [%r10-4], %r1"},
      {0x000000a1fff81adb, "lock fetch xor [%r10-8], %r1"},
      {0x000000e1fff81adb, "lock xchg [%r10-8], %r1"},
      {0x000000f1fff81adb, "lock cmpxchg [%r10-8], %r1"},
  });
}

TEST(DisassemblerText, JumpsPrintSignedSlotOffsets) {
  expect_listings({
      {0x0000000000030005, "ja +3"},
      {0x00000000ffff0005, "ja -1"},
      {0x0000000000000005, "ja +0"},
      {0xfffffffe00000006, "ja32 -2"},
      {0x0000000500020115, "jeq %r1, 0x5, +2"},
      {0x000000000002211d, "jeq %r1, %r2, +2"},
      {0xffffff80fffd0256, "jne32 %r2, -0x80, -3"},
      {0x00000000000121de, "jsle32 %r1, %r2, +1"},
      {0x0000000000000095, "exit"},
  });
}

TEST(DisassemblerText, CallForms) {
  expect_listings({
      {0x0000000500000085, "call 5"},
      {0x0000000500001085, "call local +5"},
      {0xfffffffd00001085, "call local -3"},
      {0x0000000200002085, "call kfunc 2"},
      {0x000000000000028d, "call %r2"},
  });
}

TEST(DisassemblerText, LddwConsumesTwoSlotsAndShowsPseudoSources) {
  struct Pair {
    uint64_t first, second;
    const char* text;
  };
  const Pair pairs[] = {
      {0x5566778800000018, 0x1122334400000000, "lddw %r0, 0x1122334455667788"},
      {0xffffffff00000318, 0xffffffff00000000, "lddw %r3, 0xffffffffffffffff"},
      {0x0000000300001118, 0, "lddw %r1, map[3]"},
      {0x0000000300002118, 0x0000001000000000, "lddw %r1, map[3]+16"},
      {0x0000000300002118, 0, "lddw %r1, map[3]+0"},
      {0x0000000700003218, 0, "lddw %r2, btf_id 7"},
      {0x0000000c00004118, 0, "lddw %r1, func +12"},
      {0x0000000200005118, 0, "lddw %r1, map_idx[2]"},
      {0x0000000200006118, 0x0000000800000000, "lddw %r1, map_idx[2]+8"},
  };
  for (const auto& p : pairs) {
    SCOPED_TRACE(p.text);
    size_t slots = 0;
    EXPECT_EQ(text_of({p.first, p.second, 0x95}, &slots), p.text);
    EXPECT_EQ(slots, 2u);
  }
}

TEST(DisassemblerText, InexpressibleEncodingsFallBackToRawWords) {
  expect_listings({
      {0x00000000000000ff, ".insn 0x00000000000000ff"},  // no such opcode
      {0x0000000000010007, ".insn 0x0000000000010007"},  // add with a stray offset
      {0x00000001000000b7 | 0xb00, ".insn 0x0000000100000bb7"},  // mov %r11
      {0x0000000500000086, ".insn 0x0000000500000086"},  // call in the JMP32 class
      {0x00000000000000d7 | (uint64_t{24} << 32), ".insn 0x00000018000000d7"},  // bswap24
      {0x0000000000001040, ".insn 0x0000000000001040"},  // legacy LD|IND|W
  });
  // lddw cut off at the end of the program, and lddw whose second slot is not code 0.
  size_t slots = 0;
  EXPECT_EQ(text_of({0x0000000100000018}, &slots), ".insn 0x0000000100000018");
  EXPECT_EQ(slots, 1u);
  EXPECT_EQ(text_of({0x0000000100000018, 0x95}, &slots), ".insn 0x0000000100000018");
  EXPECT_EQ(slots, 1u);
  EXPECT_EQ(text_of({0x0000000100007118, 0}, &slots), ".insn 0x0000000100007118");  // lddw src 7
}

TEST(DisassemblerText, WholeProgramOneInstructionPerLine) {
  std::vector<Insn> program;
  for (uint64_t w : {0x00000000000000b7ULL, 0x5566778800000018ULL, 0x1122334400000000ULL, 0x00000000ffff0005ULL,
                     0x0000000000000095ULL})
    program.push_back(Insn::from_raw(w));
  EXPECT_EQ(disassemble(program.data(), program.size()),
            "mov %r0, 0x0\n"
            "lddw %r0, 0x1122334455667788\n"
            "ja -1\n"
            "exit\n");
  EXPECT_EQ(disassemble(program.data(), 0), "");
  size_t consumed = 7;
  EXPECT_EQ(disassemble_one(program.data(), 0, &consumed), "");
  EXPECT_EQ(consumed, 0u);
}

// Random words over every opcode, biased toward valid fields so most of them have a mnemonic
// form: whatever is printed must assemble back to exactly the same words.
TEST(DisassemblerRoundTrip, RandomWordsOfEveryOpcodeReassembleExactly) {
  std::mt19937_64 rng(20240611);
  auto pick = [&](uint64_t n) { return rng() % n; };
  // Zero is the most common value of every field in a well-formed instruction.
  auto random_reg = [&]() -> uint8_t {
    uint64_t r = pick(8);
    return r < 4 ? 0 : r < 7 ? uint8_t(pick(11)) : uint8_t(pick(16));
  };
  auto random_off = [&]() -> int16_t {
    static constexpr int16_t kSpecial[] = {1, 8, 16, 32, -8};
    uint64_t r = pick(4);
    return r < 2 ? 0 : r == 2 ? kSpecial[pick(5)] : int16_t(rng());
  };
  auto random_imm = [&]() -> int32_t {
    static constexpr int32_t kSpecial[] = {1, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, -1};
    uint64_t r = pick(3);
    return r == 0 ? 0 : r == 1 ? kSpecial[pick(13)] : int32_t(rng());
  };

  size_t mnemonic_forms = 0, raw_forms = 0;
  for (unsigned code = 0; code < 256; ++code) {
    for (int trial = 0; trial < 200; ++trial) {
      Insn pair[2]{};
      pair[0].code = uint8_t(code);
      pair[0].dst = random_reg() & 0x0f;
      pair[0].src = random_reg() & 0x0f;
      pair[0].off = random_off();
      pair[0].imm = random_imm();
      pair[1] = pick(3) ? Insn::from_raw(uint64_t(uint32_t(rng())) << 32) : Insn::from_raw(rng());

      size_t consumed = 0;
      std::string text = disassemble_one(pair, 2, &consumed);
      SCOPED_TRACE(text);
      std::vector<Insn> back;
      ASSERT_NO_THROW(back = assemble(text));
      ASSERT_EQ(back.size(), consumed);
      for (size_t i = 0; i < consumed; ++i) ASSERT_EQ(back[i].raw(), pair[i].raw());
      (text.starts_with(".insn") ? raw_forms : mnemonic_forms) += 1;
    }
  }
  // Both paths were exercised substantially (the split depends only on the fixed seed).
  EXPECT_GT(mnemonic_forms, 5000u);
  EXPECT_GT(raw_forms, 5000u);
}

}  // namespace
