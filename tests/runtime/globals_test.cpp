// Global variables (.data, .bss, .rodata) between user space and programs, and static
// __noinline sub-programs.
#include <gtest/gtest.h>

#include <array>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

const loader::GlobalVariable* find(const Object& obj, const std::string& name) {
  for (const loader::GlobalVariable& g : obj.spec().globals)
    if (g.name == name) return &g;
  return nullptr;
}

TEST(RuntimeGlobals, LoaderListsEveryVariableWithItsPlace) {
  const Object obj = Object::open(test_object("runtime_globals"));
  struct Expect {
    const char* name;
    const char* section;
    uint32_t offset, size;
  };
  for (const Expect& e : {Expect{"quantum", ".rodata", 0, 4}, Expect{"scale", ".rodata", 8, 8},
                          Expect{"label", ".rodata", 16, 8}, Expect{"total", ".data", 0, 8},
                          Expect{"history", ".bss", 0, 32}, Expect{"runs", ".bss", 32, 4},
                          Expect{"hidden_calls", ".bss", 36, 4}}) {
    const loader::GlobalVariable* g = find(obj, e.name);
    ASSERT_NE(g, nullptr) << e.name;
    EXPECT_EQ(obj.spec().maps[g->map_index].section, e.section) << e.name;
    EXPECT_EQ(g->offset, e.offset) << e.name;
    EXPECT_EQ(g->size, e.size) << e.name;
  }
  // bpf_printk's format strings are function-scope statics in .rodata.
  const loader::GlobalVariable* fmt = find(obj, "printk.____fmt");
  ASSERT_NE(fmt, nullptr);
  EXPECT_EQ(fmt->size, sizeof("quantum=%u label=%s"));
}

TEST(RuntimeGlobals, InitialValuesAreVisibleFromUserSpace) {
  const Object obj = Object::open(test_object("runtime_globals"));
  EXPECT_EQ(obj.get_global<uint32_t>("quantum"), 1514u);
  EXPECT_EQ(obj.get_global<uint64_t>("scale"), 1u);
  EXPECT_EQ(obj.get_global<uint64_t>("total"), 100u);
  EXPECT_EQ(obj.get_global<uint32_t>("runs"), 0u);
  const auto label = obj.get_global<std::array<char, 8>>("label");
  EXPECT_EQ(std::string(label.data()), "default");
}

TEST(RuntimeGlobals, ParametersInRodataReachTheProgramAndResultsComeBack) {
  Object obj = Object::open(test_object("runtime_globals"));
  obj.set_global("quantum", uint32_t{100});
  obj.set_global("scale", uint64_t{2});
  obj.set_global("label", std::array<char, 8>{'x', 'y', 'z', 0, 0, 0, 0, 0});
  RunEnv env;
  Io io{.a = 10, .b = 1, .c = 2};
  exec::RunResult r = run(obj, "account", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 1u);                    // runs
  EXPECT_EQ(io.out[0], 10 * 2 + 100 + 3);  // add3 -> weigh: two static sub-programs
  EXPECT_EQ(io.out[1], 100 + 123);
  EXPECT_EQ(io.out[2], 'x');
  EXPECT_EQ(io.out[3], 1);  // hidden_calls, a static variable

  // User space rewrites .data and .bss between runs; the program sees it.
  obj.set_global("total", uint64_t{1000});
  obj.set_global("runs", uint32_t{5});
  io = Io{.a = 1};
  r = run(obj, "account", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 6u);
  EXPECT_EQ(io.out[1], 1000 + 1 * 2 + 100);

  EXPECT_EQ(obj.get_global<uint64_t>("total"), 1102u);
  EXPECT_EQ(obj.get_global<uint32_t>("runs"), 6u);
  EXPECT_EQ(obj.get_global<uint32_t>("hidden_calls"), 2u);
  const auto history = obj.get_global<std::array<uint64_t, 4>>("history");
  EXPECT_EQ(history, (std::array<uint64_t, 4>{123, 102, 0, 0}));  // index runs & 3: 0, then 5 & 3 = 1

  // The same bytes through the .bss map, byte-exactly.
  std::vector<uint8_t> bss(obj.map(".bss").spec().value_size);
  const uint32_t zero = 0;
  ASSERT_EQ(obj.map(".bss").lookup_copy(&zero, bss.data()), 0);
  ASSERT_EQ(bss.size(), 40u);
  EXPECT_EQ(load_as<uint64_t>(&bss[0]), 123u);
  EXPECT_EQ(load_as<uint64_t>(&bss[8]), 102u);
  EXPECT_EQ(load_as<uint32_t>(&bss[32]), 6u);
  EXPECT_EQ(load_as<uint32_t>(&bss[36]), 2u);
}

TEST(RuntimeGlobals, WrongSizeAndUnknownNamesAreErrors) {
  Object obj = Object::open(test_object("runtime_globals"));
  try {
    obj.set_global("quantum", uint64_t{1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "global variable 'quantum' is 4 bytes, but 8 were given");
  }
  try {
    obj.get_global<uint32_t>("scale");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "global variable 'scale' is 8 bytes, but 4 were asked for");
  }
  try {
    obj.set_global("quantm", uint32_t{1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "no global variable 'quantm'");
    EXPECT_NE(e.hint().find("quantum, scale, label"), std::string::npos) << e.hint();
  }
  EXPECT_EQ(obj.get_global<uint32_t>("quantum"), 1514u);  // untouched
}

TEST(RuntimeGlobals, SubprogramsAreLinkedIntoTheirCaller) {
  const Object obj = Object::open(test_object("runtime_globals"));
  const loader::ProgramSpec& p = *obj.spec().program("account");
  std::vector<std::string> names;
  for (const loader::FunctionRange& f : p.functions) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"account", "add3", "weigh"}));
}

// clang puts constant tables and string literals in merge sections (.rodata.cst16, .rodata.cst8,
// .rodata.str1.1); each is a read-only data map the program reads through.
TEST(RuntimeGlobals, ConstantTablesInMergeSectionsAreReadable) {
  const Object obj = Object::open(test_object("runtime_globals"));
  std::vector<std::string> sections;
  for (const maps::MapSpec& m : obj.spec().maps) {
    if (m.section.starts_with(".rodata.")) sections.push_back(m.section);
  }
  EXPECT_EQ(sections, (std::vector<std::string>{".rodata.str1.1", ".rodata.cst16", ".rodata.cst8"}));
  const std::array<uint8_t, 16> prio2band = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  const std::array<uint16_t, 4> weights = {3, 5, 7, 11};
  // clang 14's BTF lists the tables under .rodata; user space finds them where they are.
  EXPECT_EQ((obj.get_global<std::array<uint8_t, 16>>("prio2band")), prio2band);
  EXPECT_EQ((obj.get_global<std::array<uint16_t, 4>>("weights")), weights);
  RunEnv env;
  for (uint64_t i = 0; i < 16; ++i) {
    Io io{.a = i, .b = i, .c = i};
    exec::RunResult r = run(obj, "constant_tables", io, env);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(io.out[0], prio2band[i]) << i;
    EXPECT_EQ(io.out[1], weights[i & 3]) << i;
    EXPECT_EQ(io.out[2], "lettered"[i & 7]) << i;
  }
}

}  // namespace
}  // namespace bpfq::runtime::test
