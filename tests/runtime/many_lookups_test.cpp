// Checked mode grants each looked-up map value to the run in a bounded table (the newest 256
// distinct values, re-lookups of one of the 8 newest taking no new slot): a pointer kept across
// 200 lookups of other values still works, across more than the table holds it faults, cleanly.
#include <gtest/gtest.h>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

class ManyLookups : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint32_t k = 0; k < 512; ++k) {
      const uint64_t v = k;
      ASSERT_EQ(obj.map("values").update(&k, &v, maps::kBpfAny), 0);
    }
  }
  Object obj = Object::open(test_object("runtime_many_lookups"));
  RunEnv env;
};

TEST_F(ManyLookups, AnEarlyPointerSurvivesTwoHundredOtherLookups) {
  Io io{.a = 200};
  const exec::RunResult r = run(obj, "runtime/many_lookups", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 200 * 201 / 2);  // values 1..200
  EXPECT_EQ(io.out[1], 1);              // value 0, incremented through the kept pointer
}

TEST_F(ManyLookups, BeyondTheGrantTableTheKeptPointerFaultsInsteadOfWritingAnywhere) {
  Io io{.a = 300};
  const exec::RunResult r = run(obj, "runtime/many_lookups", io, env);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message().find("out-of-bounds"), std::string::npos) << r.message();
  uint32_t first = 0;
  uint64_t v = 99;
  ASSERT_EQ(obj.map("values").lookup_copy(&first, &v), 0);
  EXPECT_EQ(v, 0u);  // the write never happened
}

TEST_F(ManyLookups, RepeatedLookupsOfTheSameValuesTakeNoNewSlots) {
  Io io{.a = 3000, .b = 3};  // 3000 lookups of 3 values: 1000 rounds of 1 + 2 + 3
  const exec::RunResult r = run(obj, "runtime/many_lookups", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 1000 * 6);
  EXPECT_EQ(io.out[1], 1);
}

}  // namespace
}  // namespace bpfq::runtime::test
