// .BTF.ext line info carried into linked programs: every record keeps pointing at the source
// line of its instruction after sub-programs are appended, and source_location() names it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

std::vector<std::string> source_lines(const std::string& name) {
  std::ifstream in(std::string(BPFQ_SOURCE_DIR) + "/progs/tests/" + name + ".bpf.c");
  EXPECT_TRUE(in) << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// 1-based number of the first source line containing text.
uint32_t line_of(const std::vector<std::string>& lines, std::string_view text) {
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find(text) != std::string::npos) return static_cast<uint32_t>(i + 1);
  ADD_FAILURE() << "no source line contains " << text;
  return 0;
}

const FunctionRange& range(const ProgramSpec& p, std::string_view fn) {
  for (const FunctionRange& f : p.functions)
    if (f.name == fn) return f;
  throw std::runtime_error("no function " + std::string(fn));
}

TEST(LineInfo, RecordsMatchTheSourceText) {
  const std::vector<std::string> source = source_lines("loader_calls");
  const ObjectSpec spec = load_object(test_object("loader_calls"));
  size_t checked = 0, line_zero = 0;
  for (const ProgramSpec& p : spec.programs) {
    ASSERT_FALSE(p.lines.empty()) << p.name;
    EXPECT_EQ(p.lines.front().insn, 0u) << p.name;  // clang marks each function's first insn
    for (const SourceLine& l : p.lines) {
      SCOPED_TRACE(p.name + " insn " + std::to_string(l.insn));
      EXPECT_LT(l.insn, p.insns.size());
      EXPECT_EQ(l.file.substr(l.file.rfind('/') + 1), "loader_calls.bpf.c");
      if (l.line == 0) {  // compiler-generated code (clang emits line 0 for it): no location
        EXPECT_EQ(p.source_location(l.insn), "");
        ++line_zero;
        continue;
      }
      ASSERT_LE(l.line, source.size());
      EXPECT_EQ(l.text, source[l.line - 1]);  // the record carries the line's text verbatim
      ++checked;
    }
  }
  EXPECT_GT(checked, 20u);
  EXPECT_LT(line_zero, checked / 4);
}

TEST(LineInfo, SubProgramLinesFollowTheirFunction) {
  const std::vector<std::string> source = source_lines("loader_calls");
  const ObjectSpec spec = load_object(test_object("loader_calls"));
  const ProgramSpec& p = *spec.program("uses_chain");
  const uint32_t entry_body = line_of(source, "return (int)top(skb->len);");
  const uint32_t top_body = line_of(source, "return middle(x) ^ 0x55;");
  const uint32_t middle_body = line_of(source, "return leaf(x) + leaf(x >> 1);");
  const uint32_t leaf_body = line_of(source, "return x * scale + 1;");

  EXPECT_EQ(p.line_at(1)->line, entry_body);  // the call of top
  EXPECT_EQ(p.source_location(1), "loader_calls.bpf.c:" + std::to_string(entry_body));
  EXPECT_EQ(p.line_at(range(p, "top").start)->line, top_body);
  EXPECT_EQ(p.line_at(range(p, "middle").start + 1)->line, middle_body);
  EXPECT_EQ(p.line_at(range(p, "leaf").start)->line, leaf_body);
  EXPECT_EQ(p.source_location(range(p, "leaf").start + 5),
            "loader_calls.bpf.c:" + std::to_string(leaf_body));
  // leaf is linked into three programs; it keeps its lines in each.
  for (const char* name : {"uses_loop", "tc_first"}) {
    const ProgramSpec& q = *spec.program(name);
    EXPECT_EQ(q.line_at(range(q, "leaf").start)->line, leaf_body) << name;
  }
  // Records stay sorted after linking.
  for (size_t i = 1; i < p.lines.size(); ++i) EXPECT_LE(p.lines[i - 1].insn, p.lines[i].insn);
}

TEST(LineInfo, UnknownOutsideTheProgram) {
  const ObjectSpec spec = load_object(test_object("loader_maps"));
  const ProgramSpec& p = *spec.program("enqueue");
  EXPECT_NE(p.line_at(p.insns.size() - 1), nullptr);
  EXPECT_EQ(p.source_location(0).rfind("loader_maps.bpf.c:", 0), 0u);
  ProgramSpec empty;
  EXPECT_EQ(empty.line_at(0), nullptr);
  EXPECT_EQ(empty.source_location(3), "");
}

}  // namespace
}  // namespace bpfq::loader::test
