// check_object: the loader's problems collected rather than thrown, with the sections a caller
// needs to judge names, and the spec when the object loads.
#include <gtest/gtest.h>

#include <bpfq/loader/check_object.hpp>

#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

const SectionInfo* section(const ObjectCheck& c, std::string_view name) {
  for (const SectionInfo& s : c.sections)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(CheckObject, AGoodObjectHasNoProblemsAndItsSpec) {
  const std::string path = test_object("loader_maps");
  const ObjectCheck c = check_object(path);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front().what();
  ASSERT_TRUE(c.spec.has_value());
  EXPECT_EQ(c.spec->programs.size(), load_object(path).programs.size());
  const SectionInfo* maps = section(c, ".maps");
  ASSERT_NE(maps, nullptr);
  EXPECT_TRUE(maps->alloc);
  EXPECT_FALSE(maps->code);
  const SectionInfo* btf = section(c, ".BTF");
  ASSERT_NE(btf, nullptr);
  EXPECT_FALSE(btf->alloc);
  EXPECT_EQ(section(c, ""), nullptr);  // no null section
}

TEST(CheckObject, SectionsKeepUnknownNamesForTheCaller) {
  const ObjectCheck c = check_object(test_object("prog_check_many"));
  for (const char* code : {"qdisc/enqeue", "qdisc/dequeue", "tc", "xdp"}) {
    const SectionInfo* s = section(c, code);
    ASSERT_NE(s, nullptr) << code;
    EXPECT_TRUE(s->code) << code;
  }
  for (const char* data : {"licence", ".rodat", ".bss"}) {
    const SectionInfo* s = section(c, data);
    ASSERT_NE(s, nullptr) << data;
    EXPECT_TRUE(s->alloc && !s->code) << data;
  }
  ASSERT_TRUE(c.spec.has_value());  // the loader itself accepts all of it
}

TEST(CheckObject, AMapDefinitionInGlobalDataIsAProblem) {
  const std::string path = test_object("prog_check_many");
  const ObjectCheck c = check_object(path);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].reason(), "map 'forgotten' is defined outside SEC(\".maps\"), as a global variable");
  EXPECT_EQ(c.problems[0].where(), path + " section .bss");
  EXPECT_EQ(c.problems[0].hint(), "declare it as struct { __uint(type, …); … } forgotten SEC(\".maps\");");
}

TEST(CheckObject, LegacyMapsAreReportedOnce) {
  const std::string path = test_object("loader_bad_legacy_maps");
  const ObjectCheck c = check_object(path);
  ASSERT_EQ(c.problems.size(), 1u) << c.problems.back().what();
  EXPECT_EQ(c.problems[0].reason(), "legacy map definitions are not supported");
  EXPECT_EQ(c.problems[0].where(), path + " section maps");
  EXPECT_FALSE(c.spec.has_value());
  EXPECT_NE(section(c, "maps"), nullptr);
}

TEST(CheckObject, ALoadErrorIsAProblem) {
  const std::string path = test_object("loader_bad_extern");
  const ObjectCheck c = check_object(path);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].reason(), "call to undefined function 'not_a_kfunc'");
  EXPECT_EQ(c.problems[0].where(), path + " section tc insn 1");
  EXPECT_FALSE(c.spec.has_value());
  EXPECT_FALSE(c.sections.empty());
}

TEST(CheckObject, AFileThatIsNoObjectIsOneProblemAndNoSections) {
  const std::vector<uint8_t> junk = {'n', 'o', 't', ' ', 'e', 'l', 'f'};
  const ObjectCheck c = check_object(junk, "junk.o");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].where(), "junk.o");
  EXPECT_TRUE(c.sections.empty());
  EXPECT_FALSE(c.spec.has_value());

  const ObjectCheck missing = check_object(std::string("/nonexistent/q.bpf.o"));
  ASSERT_EQ(missing.problems.size(), 1u);
  EXPECT_EQ(missing.problems[0].reason(), "cannot open: No such file or directory");
  EXPECT_EQ(missing.problems[0].where(), "/nonexistent/q.bpf.o");
}

TEST(CheckObject, AgreesWithLoadObjectOnEveryTestObject) {
  // Whatever load_object accepts, check_object returns as its spec, and vice versa.
  for (const char* name : {"loader_maps", "loader_calls", "loader_kfuncs", "loader_bad_key_size",
                           "loader_bad_static_program", "prog_check_struct_ops", "prog_check_init"}) {
    const std::string path = test_object(name);
    bool loads = true;
    try {
      load_object(path);
    } catch (const Error&) {
      loads = false;
    }
    const ObjectCheck c = check_object(path);
    EXPECT_EQ(c.spec.has_value(), loads) << name;
    if (!loads) {
      EXPECT_FALSE(c.problems.empty()) << name;
    }
  }
}

}  // namespace
}  // namespace bpfq::loader::test
