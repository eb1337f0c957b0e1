// The assembler encodes every instruction form to the exact RFC 9669 bit pattern and rejects
// bad input with the line number and a reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/error.hpp>

namespace {

using bpfq::ebpf::assemble;

std::vector<uint64_t> words(std::string_view text) {
  std::vector<uint64_t> out;
  for (const auto& insn : assemble(text)) out.push_back(insn.raw());
  return out;
}

// Raw words below are written by hand from RFC 9669 (little-endian slot read as a u64):
// bits 0-7 opcode, 8-11 dst, 12-15 src, 16-31 offset, 32-63 immediate.
struct Encoding {
  const char* text;
  uint64_t raw;
};

void expect_encodings(const std::vector<Encoding>& table) {
  for (const auto& e : table) {
    SCOPED_TRACE(e.text);
    std::vector<uint64_t> got;
    ASSERT_NO_THROW(got = words(e.text));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], e.raw) << std::hex << "got 0x" << got[0] << " want 0x" << e.raw;
  }
}

TEST(AssemblerEncoding, Alu64AndAlu32) {
  expect_encodings({
      {"mov %r0, 1", 0x00000001000000b7},
      {"mov32 %r1, %r2", 0x00000000000021bc},
      {"add32 %r1, %r2", 0x000000000000210c},
      {"add64 %r1, 2", 0x0000000200000107},
      {"sub %r3, -1", 0xffffffff00000317},
      {"mul32 %r4, 0x10", 0x0000001000000424},
      {"div %r5, %r6", 0x000000000000653f},
      {"or %r1, 0x80000000", 0x8000000000000147},
      {"and %r1, %r9", 0x000000000000915f},
      {"lsh %r1, 63", 0x0000003f00000167},
      {"rsh32 %r1, %r2", 0x000000000000217c},
      {"neg %r1", 0x0000000000000187},
      {"neg32 %r2", 0x0000000000000284},
      {"mod %r1, 7", 0x0000000700000197},
      {"xor32 %r0, %r10", 0x000000000000a0ac},
      {"arsh %r1, 4", 0x00000004000001c7},
      {"arsh32 %r1, %r2", 0x00000000000021cc},
  });
}

TEST(AssemblerEncoding, SignedDivisionSetsOffsetOne) {
  expect_encodings({
      {"sdiv %r5, 3", 0x0000000300010537},
      {"sdiv32 %r5, %r1", 0x000000000001153c},
      {"smod %r1, -2", 0xfffffffe00010197},
      {"smod32 %r1, %r2", 0x000000000001219c},
  });
}

TEST(AssemblerEncoding, SignExtendingMovesPutWidthInOffset) {
  expect_encodings({
      {"movsx832 %r2, %r1", 0x00000000000812bc},
      {"movsx1632 %r4, %r3", 0x00000000001034bc},
      {"movsx864 %r6, %r5", 0x00000000000856bf},
      {"movsx1664 %r8, %r7", 0x00000000001078bf},
      {"movsx3264 %r0, %r9", 0x00000000002090bf},
  });
}

TEST(AssemblerEncoding, ByteOrderAndByteSwap) {
  expect_encodings({
      {"be16 %r3", 0x00000010000003dc},
      {"be32 %r3", 0x00000020000003dc},
      {"be64 %r3", 0x00000040000003dc},
      {"le16 %r3", 0x00000010000003d4},
      {"le64 %r3", 0x00000040000003d4},
      {"bswap32 %r3", 0x00000020000003d7},
      {"swap32 %r3", 0x00000020000003d7},  // the corpus uses both spellings
      {"swap64 %r0", 0x00000040000000d7},
  });
}

TEST(AssemblerEncoding, LoadsAndStores) {
  expect_encodings({
      {"ldxb %r0, [%r1+2]", 0x0000000000021071},
      {"ldxh %r0, [%r1]", 0x0000000000001069},
      {"ldxw %r2, [%r10-4]", 0x00000000fffca261},
      {"ldxdw %r0, [%r10-8]", 0x00000000fff8a079},
      {"ldxh %r0, [%r1+0x2]", 0x0000000000021069},
      {"ldxw %r0, [ %r1 + 4 ]", 0x0000000000041061},
      {"ldxsb %r1, [%r2+1]", 0x0000000000012191},
      {"ldxsh %r1, [%r2]", 0x0000000000002189},
      {"ldxsw %r1, [%r2-2]", 0x00000000fffe2181},
      {"stb [%r1+2], 0x11", 0x0000001100020172},
      {"sth [%r1+2], 0x1122", 0x000011220002016a},
      {"stw [%r1], -1", 0xffffffff00000162},
      {"stdw [%r10-8], -1", 0xfffffffffff80a7a},
      {"stxb [%r1+1], %r2", 0x0000000000012173},
      {"stxh [%r1], %r2", 0x000000000000216b},
      {"stxw [%r10-4], %r1", 0x00000000fffc1a63},
      {"stxdw [%r1+8], %r2", 0x000000000008217b},
  });
}

TEST(AssemblerEncoding, Atomics) {
  expect_encodings({
      {"lock add [%r10-8], %r1", 0x00000000fff81adb},
      {"lock add32 [%r10-4], %r1", 0x00000000fffc1ac3},
      {"lock fetch add [%r10-8], %r1", 0x00000001fff81adb},
      {"lock or [%r10-8], %r1", 0x00000040fff81adb},
      {"lock fetch or32 [%r10-8], %r1", 0x00000041fff81ac3},
      {"lock and [%r10-8], %r1", 0x00000050fff81adb},
      {"lock fetch and32 [%r10-8], %r1", 0x00000051fff81ac3},
      {"lock xor [%r10-8], %r1", 0x000000a0fff81adb},
      {"lock fetch xor [%r10-8], %r1", 0x000000a1fff81adb},
      {"lock xchg [%r10-8], %r1", 0x000000e1fff81adb},
      {"lock xchg32 [%r10-8], %r1", 0x000000e1fff81ac3},
      {"lock cmpxchg [%r10-8], %r1", 0x000000f1fff81adb},
      {"lock cmpxchg32 [%r10-8], %r1", 0x000000f1fff81ac3},
  });
}

TEST(AssemblerEncoding, JumpsWithNumericOffsets) {
  expect_encodings({
      {"ja +2", 0x0000000000020005},
      {"ja -1", 0x00000000ffff0005},
      {"ja32 +3", 0x0000000300000006},
      {"jeq %r1, 5, +2", 0x0000000500020115},
      {"jeq %r1, %r2, +2", 0x000000000002211d},
      {"jgt %r1, 1, +0", 0x0000000100000125},
      {"jge %r1, %r2, +1", 0x000000000001213d},
      {"jset %r1, 1, +0", 0x0000000100000145},
      {"jne32 %r2, 0xffffff80, -3", 0xffffff80fffd0256},
      {"jsgt %r1, -1, +1", 0xffffffff00010165},
      {"jsge32 %r1, %r2, +1", 0x000000000001217e},
      {"jlt %r1, 6, +1", 0x00000006000101a5},
      {"jle32 %r1, %r3, +1", 0x00000000000131be},
      {"jslt %r1, %r2, +1", 0x00000000000121cd},
      {"jsle32 %r1, %r2, +1", 0x00000000000121de},
  });
}

TEST(AssemblerEncoding, CallsAndExit) {
  expect_encodings({
      {"call 5", 0x0000000500000085},
      {"call helper 5", 0x0000000500000085},
      {"call local +5", 0x0000000500001085},
      {"call local -3", 0xfffffffd00001085},
      {"call kfunc 2", 0x0000000200002085},
      {"call runtime 2", 0x0000000200002085},
      {"call %r2", 0x000000000000028d},  // callx: register in dst (bpf_conformance convention)
      {"exit", 0x0000000000000095},
      {".insn 0x00000000000000ff", 0x00000000000000ff},
  });
}

TEST(AssemblerEncoding, LddwTakesTwoSlots) {
  // The lddw.data raw section of the conformance corpus.
  EXPECT_EQ(words("lddw %r0, 0x1122334455667788"), (std::vector<uint64_t>{0x5566778800000018, 0x1122334400000000}));
  EXPECT_EQ(words("lddw %r0, 2147483648"), (std::vector<uint64_t>{0x8000000000000018, 0}));
  EXPECT_EQ(words("lddw %r3, -1"), (std::vector<uint64_t>{0xffffffff00000318, 0xffffffff00000000}));
  EXPECT_EQ(words("lddw %r0, 0xFFFFFFFF80000000"), (std::vector<uint64_t>{0x8000000000000018, 0xffffffff00000000}));
}

TEST(AssemblerEncoding, LddwPseudoForms) {
  EXPECT_EQ(words("lddw %r1, map[3]"), (std::vector<uint64_t>{0x0000000300001118, 0}));
  EXPECT_EQ(words("lddw %r1, map[3]+16"), (std::vector<uint64_t>{0x0000000300002118, 0x0000001000000000}));
  EXPECT_EQ(words("lddw %r2, btf_id 7"), (std::vector<uint64_t>{0x0000000700003218, 0}));
  EXPECT_EQ(words("lddw %r1, func +12"), (std::vector<uint64_t>{0x0000000c00004118, 0}));
  EXPECT_EQ(words("lddw %r1, map_idx[1]"), (std::vector<uint64_t>{0x0000000100005118, 0}));
  EXPECT_EQ(words("lddw %r1, map_idx[1]+8"), (std::vector<uint64_t>{0x0000000100006118, 0x0000000800000000}));
}

TEST(AssemblerImmediates, DecimalNegativeAndHexInBothCases) {
  expect_encodings({
      {"mov %r0, 42", 0x0000002a000000b7},
      {"mov %r0, -42", 0xffffffd6000000b7},
      {"mov %r0, 0x2a", 0x0000002a000000b7},
      {"mov %r0, 0X2A", 0x0000002a000000b7},
      {"mov %r0, 0xAbCd", 0x0000abcd000000b7},
      {"mov %r0, -0x10", 0xfffffff0000000b7},
      {"mov32 %r0, 0xffffffff", 0xffffffff000000b4},  // the 32-bit pattern of -1
      {"mov32 %r0, 4294967295", 0xffffffff000000b4},
      {"mov %r0, -2147483648", 0x80000000000000b7},
  });
}

TEST(AssemblerSyntax, CommentsBlankLinesAndLabels) {
  auto program = words(
      "# leading comment\n"
      "\n"
      "  mov %r0, 0   # trailing comment\n"
      "start:\n"
      "\tjeq %r1, 0, done\n"
      "add %r0, 1\n"
      "ja start\n"
      "done: exit\n");
  EXPECT_EQ(program, (std::vector<uint64_t>{
                         0x00000000000000b7,  // mov %r0, 0
                         0x0000000000020115,  // jeq %r1, 0, +2
                         0x0000000100000007,  // add %r0, 1
                         0x00000000fffd0005,  // ja -3
                         0x0000000000000095,  // exit
                     }));
}

TEST(AssemblerSyntax, CrlfLineEndingsAreAccepted) {
  EXPECT_EQ(words("mov %r0, 1\r\nexit\r\n"), (std::vector<uint64_t>{0x00000001000000b7, 0x95}));
}

TEST(AssemblerSyntax, LddwCountsTwoSlotsForLabelDistances) {
  auto program = words("jeq %r1, 0, out\nlddw %r0, 1\nout:\nexit\n");
  ASSERT_EQ(program.size(), 4u);
  EXPECT_EQ(program[0], 0x0000000000020115u);  // skips both lddw slots
}

TEST(AssemblerSyntax, ExitNamesTheFirstExitInstructionUnlessALabelSaysOtherwise) {
  // The corpus jumps to "exit" without defining it (e.g. lock_cmpxchg.data, subnet.data).
  auto implicit = words("jne %r0, 1, exit\nmov %r0, 2\nexit\nmov %r0, 3\nexit\n");
  EXPECT_EQ(implicit[0], 0x0000000100010055u);  // jne %r0, 1, +1: the first exit
  auto explicit_label = words("ja exit\nexit\nexit:\nexit\n");
  EXPECT_EQ(explicit_label[0], 0x0000000000010005u);  // ja +1: the labelled one, not +0
}

TEST(AssemblerSyntax, LocalCallsAndGotolResolveLabelsIntoImm) {
  auto program = words("call local func\nja32 end\nfunc:\nlddw %r1, func func\nexit\nend:\nexit\n");
  ASSERT_EQ(program.size(), 6u);
  EXPECT_EQ(program[0], 0x0000000100001085u);  // call local +1
  EXPECT_EQ(program[1], 0x0000000300000006u);  // ja32 +3 (lddw is two slots)
  EXPECT_EQ(program[2], 0xffffffff00004118u);  // lddw func -1: targets itself (2 + -1 + 1)
}

TEST(AssemblerSyntax, BackwardLabelGivesNegativeOffset) {
  auto program = words("top:\nmov %r0, 0\nja top\n");
  EXPECT_EQ(program[1], 0x00000000fffe0005u);  // ja -2
}

// ---- errors -----------------------------------------------------------------------------

bpfq::Error assembly_error(std::string_view text) {
  try {
    assemble(text);
  } catch (const bpfq::Error& e) {
    return e;
  }
  ADD_FAILURE() << "assembled without error:\n" << text;
  return bpfq::Error("no error");
}

void expect_error(std::string_view text, const std::string& line, const std::string& reason_part) {
  SCOPED_TRACE(std::string(text));
  bpfq::Error e = assembly_error(text);
  EXPECT_EQ(e.where(), line);
  EXPECT_NE(e.reason().find(reason_part), std::string::npos) << "reason: " << e.reason();
  EXPECT_FALSE(e.hint().empty()) << "reason: " << e.reason();
}

TEST(AssemblerErrors, UnknownMnemonic) {
  expect_error("mov %r0, 1\nfrob %r1\nexit\n", "line 2", "unknown mnemonic 'frob'");
  expect_error("ldxq %r0, [%r1]", "line 1", "unknown mnemonic 'ldxq'");
  expect_error("be8 %r0", "line 1", "unknown mnemonic 'be8'");
}

TEST(AssemblerErrors, BadRegister) {
  expect_error("# c\n\nmov %r11, 1\n", "line 3", "bad register '%r11'");
  expect_error("add r1, 2", "line 1", "bad register 'r1'");
  expect_error("ldxw %r0, [%rx+2]", "line 1", "bad register '%rx'");
}

TEST(AssemblerErrors, BadOperand) {
  expect_error("mov %r0, 12abc", "line 1", "bad immediate '12abc'");
  expect_error("ldxw %r0, %r1", "line 1", "bad memory operand '%r1'");
  expect_error("add %r1", "line 1", "'add' takes 2 operands, got 1");
  expect_error("exit %r0", "line 1", "'exit' takes 0 operands, got 1");
  expect_error("jeq %r1, 0, 5", "line 1", "bad jump target '5'");
  expect_error("call far 3", "line 1", "bad call operands");
  expect_error("lock inc [%r10-8], %r1", "line 1", "unknown atomic operation 'inc'");
  expect_error("lock fetch xchg [%r10-8], %r1", "line 1", "'fetch' is redundant");
}

TEST(AssemblerErrors, UndefinedAndDuplicateLabels) {
  expect_error("mov %r0, 0\njeq %r0, 0, nowhere\nexit\n", "line 2", "undefined label 'nowhere'");
  expect_error("call local missing\n", "line 1", "undefined label 'missing'");
  expect_error("a:\nexit\na:\nexit\n", "line 3", "label 'a' is defined twice");
}

TEST(AssemblerErrors, ImmediateAndOffsetOutOfRange) {
  expect_error("mov %r0, 0x100000000", "line 1", "out of range for a 32-bit field");
  expect_error("mov %r0, -2147483649", "line 1", "out of range for a 32-bit field");
  expect_error("lddw %r0, 0x10000000000000000", "line 1", "out of range for 64 bits");
  expect_error("ldxw %r0, [%r1+32768]", "line 1", "offset +32768 is out of range");
  expect_error("ja +40000", "line 1", "does not fit the 16-bit offset field");
}

TEST(AssemblerErrors, LabelTooFarForSixteenBitOffset) {
  std::string text = "ja far\n";
  for (int i = 0; i < 40000; ++i) text += "mov %r0, 0\n";
  text += "far:\nexit\n";
  expect_error(text, "line 1", "too far for a 16-bit jump offset");
  // ja32 carries the distance in imm, so the same program assembles with it.
  text.replace(0, 2, "ja32");
  EXPECT_EQ(assemble(text).front().imm, 40000);
}

TEST(AssemblerErrors, MessageCombinesLineReasonAndHint) {
  bpfq::Error e = assembly_error("exit\nmov %r0, 0x1ffffffff\n");
  std::string message = e.what();
  EXPECT_EQ(message.rfind("line 2: immediate 0x1ffffffff is out of range", 0), 0u) << message;
  EXPECT_NE(message.find("(hint: "), std::string::npos) << message;
}

}  // namespace
