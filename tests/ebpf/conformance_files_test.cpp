// The bpf_conformance .data parser, and the assembler/disassembler round trip over every
// program in the corpus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/error.hpp>

#include "support/conformance_file.hpp"

namespace {

namespace fs = std::filesystem;
using bpfq::ebpf::Insn;
using bpfq::test::ConformanceCase;
using bpfq::test::conformance_files;
using bpfq::test::parse_conformance_file;

const fs::path kCorpusDir = BPFQ_SHARED_DIR "/conformance/bpf_conformance/tests";

#define SKIP_WITHOUT_CORPUS()                                                                          \
  if (!fs::is_directory(kCorpusDir))                                                                   \
  GTEST_SKIP() << "bpf_conformance corpus directory is missing: " << kCorpusDir.string()

std::vector<uint64_t> raw_words(const std::vector<Insn>& program) {
  std::vector<uint64_t> out;
  for (const auto& insn : program) out.push_back(insn.raw());
  return out;
}

// Assembles, reporting a failure with the .data file line the assembler complained about.
std::optional<std::vector<Insn>> assemble_case(const ConformanceCase& c, const std::string& text, const char* stage) {
  try {
    return bpfq::ebpf::assemble(text);
  } catch (const bpfq::Error& e) {
    std::string where = e.where();
    if (stage == std::string("corpus") && where.starts_with("line "))
      where = c.name + ".data:" + std::to_string(c.asm_first_line + std::stoul(where.substr(5)) - 1);
    ADD_FAILURE() << stage << " text of " << c.name << " does not assemble: " << where << ": " << e.reason();
    return std::nullopt;
  }
}

TEST(ConformanceCorpus, EveryProgramAssemblesAndSurvivesDisassemblyExactly) {
  SKIP_WITHOUT_CORPUS();
  auto files = conformance_files(kCorpusDir);
  ASSERT_FALSE(files.empty()) << "no .data files in " << kCorpusDir;

  size_t round_tripped = 0, raw_checked = 0;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    ConformanceCase c;
    ASSERT_NO_THROW(c = parse_conformance_file(file));
    EXPECT_TRUE(c.result || c.error) << "no expected outcome";
    auto program = assemble_case(c, c.asm_text, "corpus");
    if (!program) continue;
    ASSERT_FALSE(program->empty());

    std::string listing = bpfq::ebpf::disassemble(program->data(), program->size());
    // Every corpus instruction has a mnemonic form; ".insn" would hide a disassembler gap.
    EXPECT_EQ(listing.find(".insn"), std::string::npos) << listing;
    auto again = assemble_case(c, listing, "disassembled");
    if (!again) continue;
    EXPECT_EQ(raw_words(*again), raw_words(*program)) << listing;
    EXPECT_EQ(bpfq::ebpf::disassemble(again->data(), again->size()), listing);

    if (!c.raw.empty()) {
      EXPECT_EQ(raw_words(*program), c.raw) << "assembly disagrees with the file's raw section";
      ++raw_checked;
    }
    ++round_tripped;
  }
  EXPECT_EQ(round_tripped, files.size());
  EXPECT_GE(raw_checked, 1u);  // lddw.data carries a raw section
}

TEST(ConformanceCorpus, RawSectionAndResultOfLddw) {
  SKIP_WITHOUT_CORPUS();
  ConformanceCase c = parse_conformance_file(kCorpusDir / "lddw.data");
  EXPECT_EQ(c.name, "lddw");
  EXPECT_EQ(c.asm_text, "lddw %r0, 0x1122334455667788\nexit\n");
  EXPECT_EQ(c.asm_first_line, 4u);
  EXPECT_EQ(c.raw, (std::vector<uint64_t>{0x5566778800000018, 0x1122334400000000, 0x0000000000000095}));
  EXPECT_EQ(c.result, 0x1122334455667788u);
  EXPECT_TRUE(c.mem.empty());
  EXPECT_FALSE(c.error);
}

TEST(ConformanceCorpus, MemorySpansLinesAndCSectionIsIgnored) {
  SKIP_WITHOUT_CORPUS();
  ConformanceCase c = parse_conformance_file(kCorpusDir / "subnet.data");
  ASSERT_EQ(c.mem.size(), 74u);  // nine lines of 8 bytes and one of 2
  EXPECT_EQ(c.mem[0], 0x00);
  EXPECT_EQ(c.mem[2], 0xc0);
  EXPECT_EQ(c.mem[3], 0x9f);
  EXPECT_EQ(c.mem[72], 0x03);
  EXPECT_EQ(c.asm_text.find("#include"), std::string::npos);
  EXPECT_EQ(c.asm_text.rfind("mov %r2, 0xe\n", 0), 0u);
  EXPECT_EQ(c.result, 1u);
}

TEST(ConformanceCorpus, NoRegisterOffsetSectionIsIgnored) {
  SKIP_WITHOUT_CORPUS();
  ConformanceCase c = parse_conformance_file(kCorpusDir / "callx.data");
  EXPECT_NE(c.asm_text.find("call %r2"), std::string::npos);
  EXPECT_EQ(c.asm_text.find("call instruction"), std::string::npos);
  EXPECT_EQ(c.result, 2u);
}

// ---- synthetic files --------------------------------------------------------------------

class ConformanceParser : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("bpfq_conformance_parser_" + std::string(info->name()) + "_" +
                                        std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  bpfq::Error parse_error(const std::string& content) {
    fs::path path = write("bad.data", content);
    try {
      parse_conformance_file(path);
    } catch (const bpfq::Error& e) {
      return e;
    }
    ADD_FAILURE() << "parsed without error:\n" << content;
    return bpfq::Error("no error");
  }

  fs::path dir_;
};

TEST_F(ConformanceParser, DecimalResultErrorTextCommentsAndCrlf) {
  auto path = write("case.data",
                    "# header\r\n"
                    "-- asm\r\n"
                    "mov %r0, 1 # one\r\n"
                    "exit\r\n"
                    "-- mem  # bytes\r\n"
                    "0x01 ff # first two\r\n"
                    "\r\n"
                    "1a\r\n"
                    "-- result\r\n"
                    "42\r\n"
                    "-- error\r\n"
                    "  division by zero   \r\n");
  ConformanceCase c = parse_conformance_file(path);
  EXPECT_EQ(c.name, "case");
  EXPECT_EQ(c.asm_text, "mov %r0, 1 # one\nexit\n");
  EXPECT_EQ(c.asm_first_line, 3u);
  EXPECT_EQ(c.mem, (std::vector<uint8_t>{0x01, 0xff, 0x1a}));
  EXPECT_EQ(c.result, 42u);
  EXPECT_EQ(c.error, "division by zero");
  EXPECT_TRUE(c.raw.empty());
}

TEST_F(ConformanceParser, NegativeDecimalResultIsTwosComplement) {
  ConformanceCase c = parse_conformance_file(write("neg.data", "-- asm\nexit\n-- result\n-1\n"));
  EXPECT_EQ(c.result, 0xffffffffffffffffu);
}

TEST_F(ConformanceParser, RawWordsInHexOrDecimal) {
  ConformanceCase c =
      parse_conformance_file(write("raw.data", "-- raw\n0x95 149\n0x00000001000000b7\n-- result\n0x0\n"));
  EXPECT_EQ(c.raw, (std::vector<uint64_t>{0x95, 149, 0x00000001000000b7}));
  EXPECT_TRUE(c.asm_text.empty());
  EXPECT_EQ(c.result, 0u);
}

TEST_F(ConformanceParser, CSectionMayContainDoubleDashes) {
  ConformanceCase c = parse_conformance_file(
      write("c.data", "-- c\nfor (i = 9; i > 0; i--) {}\n-- asm\nexit\n-- result\n0x0\n"));
  EXPECT_EQ(c.asm_text, "exit\n");
}

TEST_F(ConformanceParser, ErrorsNameFileAndLine) {
  bpfq::Error unknown = parse_error("-- asm\nexit\n-- bogus\n");
  EXPECT_EQ(unknown.where(), (dir_ / "bad.data").string() + ":3");
  EXPECT_NE(unknown.reason().find("unknown section '-- bogus'"), std::string::npos) << unknown.reason();

  bpfq::Error byte = parse_error("-- mem\n00 100\n");
  EXPECT_EQ(byte.where(), (dir_ / "bad.data").string() + ":2");
  EXPECT_NE(byte.reason().find("bad memory byte '100'"), std::string::npos) << byte.reason();

  bpfq::Error result = parse_error("-- result\n0x1\n0x2\n");
  EXPECT_NE(result.reason().find("more than one value"), std::string::npos) << result.reason();

  bpfq::Error number = parse_error("-- result\n0xZZ\n");
  EXPECT_NE(number.reason().find("bad result '0xZZ'"), std::string::npos) << number.reason();

  EXPECT_THROW(parse_conformance_file(dir_ / "missing.data"), bpfq::Error);
}

TEST_F(ConformanceParser, FilesAreSortedDataFilesOfTheTopDirectoryOnly) {
  write("b.data", "");
  write("a.data", "");
  write("notes.txt", "");
  write("negative/c.data", "");
  EXPECT_EQ(conformance_files(dir_), (std::vector<fs::path>{dir_ / "a.data", dir_ / "b.data"}));
  EXPECT_THROW(conformance_files(dir_ / "absent"), bpfq::Error);
}

}  // namespace
