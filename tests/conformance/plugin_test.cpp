// The conformance plugin speaks the bpf_conformance runner's protocol.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>

namespace bpfq {
namespace {

struct Output {
  int status;
  std::string text;
};

// Runs the plugin with `args`, feeding `program_hex` on stdin.
Output run_plugin(const std::string& args, const std::string& program_hex) {
  const std::string cmd = "echo '" + program_hex + "' | " BPFQ_PLUGIN " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

std::string hex_of(const std::string& asm_text) {
  std::string s;
  char b[8];
  for (uint8_t byte : ebpf::to_bytes(ebpf::assemble(asm_text))) {
    snprintf(b, sizeof b, "%02x  ", byte);
    s += b;
  }
  return s;
}

TEST(ConformancePlugin, PrintsR0InHexReadingMemoryFromArgv) {
  // r0 = the big-endian half-word at mem[2]
  const Output o = run_plugin("'00  00  12  34'", hex_of("ldxh %r0, [%r1+2]\nbe16 %r0\nexit"));
  EXPECT_EQ(o.status, 0) << o.text;
  EXPECT_EQ(o.text, "1234\n");
}

TEST(ConformancePlugin, PassesMemoryLengthInR2) {
  const Output o = run_plugin("'01  02  03  04  05'", hex_of("mov %r0, %r2\nexit"));
  EXPECT_EQ(o.text, "5\n");
}

TEST(ConformancePlugin, CheckedModeReportsOutOfBoundsAndExitsNonZero) {
  const Output o = run_plugin("'01  02' --checked", hex_of("ldxdw %r0, [%r1+0]\nexit"));
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.text.find("out-of-bounds access of 8 bytes"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("insn 0"), std::string::npos) << o.text;
}

TEST(ConformancePlugin, RejectsMalformedProgramHex) {
  const Output o = run_plugin("", "b7 00 00");  // three bytes: not an instruction
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.text.find("not a multiple of 8 bytes"), std::string::npos) << o.text;
}

}  // namespace
}  // namespace bpfq
