// ARRAY and PERCPU_ARRAY through the Map interface.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

class ArrayMapTest : public ::testing::TestWithParam<MapType> {};

TEST_P(ArrayMapTest, ElementsExistZeroedAndUpdateInPlace) {
  auto map = make(GetParam(), 4, 5, 3);  // a 5-byte value: elements sit 8 bytes apart
  EXPECT_EQ(map->size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const void* value = map->lookup(&i);
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(bytes_of(value, 5), std::vector<uint8_t>(5, 0));
  }
  const uint32_t one = 1;
  void* slot = map->lookup(&one);
  const auto value = pattern(5, 0xa0);
  EXPECT_EQ(map->update(&one, value.data(), kBpfAny), 0);
  EXPECT_EQ(map->lookup(&one), slot);  // same storage, overwritten in place
  EXPECT_EQ(bytes_of(slot, 5), value);
  const uint32_t zero = 0, two = 2;
  EXPECT_EQ(bytes_of(map->lookup(&zero), 5), std::vector<uint8_t>(5, 0));
  EXPECT_EQ(bytes_of(map->lookup(&two), 5), std::vector<uint8_t>(5, 0));

  std::vector<uint8_t> out(5);
  EXPECT_EQ(map->lookup_copy(&one, out.data()), 0);
  EXPECT_EQ(out, value);
}

TEST_P(ArrayMapTest, FlagsAndBounds) {
  auto map = make(GetParam(), 4, 8, 2);
  const uint64_t value = 0x1122334455667788;
  const uint32_t two = 2, one = 1;
  EXPECT_EQ(map->lookup(&two), nullptr);
  EXPECT_EQ(map->update(&two, &value, kBpfAny), -E2BIG);
  EXPECT_EQ(map->update(&one, &value, kBpfNoExist), -EEXIST);
  EXPECT_EQ(map->update(&one, &value, 3), -EINVAL);
  EXPECT_EQ(map->update(&one, &value, kBpfExist), 0);
  EXPECT_EQ(u64(map->lookup(&one)), value);
  EXPECT_EQ(map->erase(&one), -EINVAL);
  uint64_t out = 0;
  EXPECT_EQ(map->lookup_copy(&two, &out), -ENOENT);
  EXPECT_EQ(map->push(&value, 0), -EINVAL);
  EXPECT_EQ(map->pop(&out), -EINVAL);
  EXPECT_EQ(map->peek(&out), -EINVAL);
}

TEST_P(ArrayMapTest, GetNextKeyWalksIndicesAndRestartsPastTheEnd) {
  auto map = make(GetParam(), 4, 4, 3);
  uint32_t next = 99;
  ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  uint32_t key = 0;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 1u);
  key = 1;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 2u);
  key = 2;
  EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);
  key = 7;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST_P(ArrayMapTest, ForEachVisitsIndicesInOrderAndStops) {
  auto map = make(GetParam(), 4, 4, 4);
  std::vector<uint32_t> keys;
  EXPECT_EQ(map->for_each([&](const void* key, void* value) {
    keys.push_back(u32(key));
    std::memcpy(value, &keys.back(), 4);  // values are writable in place
    return 0;
  }),
            4);
  EXPECT_EQ(keys, (std::vector<uint32_t>{0, 1, 2, 3}));
  const uint32_t three = 3;
  EXPECT_EQ(u32(map->lookup(&three)), 3u);
  EXPECT_EQ(map->for_each([&](const void* key, void*) { return u32(key) == 1 ? 1 : 0; }), 2);
}

TEST_P(ArrayMapTest, InitialValueAppliesToElementZeroAndClearRestoresIt) {
  MapSpec spec = make_spec(GetParam(), 4, 8, 2);
  spec.initial_value = {1, 2, 3};
  auto map = create_map(spec);
  const uint32_t zero = 0, one = 1;
  EXPECT_EQ(bytes_of(map->lookup(&zero), 8), (std::vector<uint8_t>{1, 2, 3, 0, 0, 0, 0, 0}));
  const uint64_t ones = ~uint64_t{0};
  map->update(&zero, &ones, kBpfAny);
  map->update(&one, &ones, kBpfAny);
  map->clear();
  EXPECT_EQ(bytes_of(map->lookup(&zero), 8), (std::vector<uint8_t>{1, 2, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(u64(map->lookup(&one)), 0u);
  EXPECT_EQ(map->size(), 2u);
}

// Large arrays live in anonymous pages (zeros until touched); clear gives the pages back.
TEST_P(ArrayMapTest, LargeArrayStartsZeroedAndClearRestoresZerosAndTheInitialValue) {
  MapSpec spec = make_spec(GetParam(), 4, 4096, 64);  // 256 KiB
  spec.initial_value = {9, 8, 7};
  auto map = create_map(spec);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(map->layout().values) % 64, 0u);
  const std::vector<uint8_t> ones(4096, 0xff);
  for (uint32_t i = 0; i < 64; ++i) {
    const std::vector<uint8_t> expected = i == 0 ? std::vector<uint8_t>{9, 8, 7, 0} : std::vector<uint8_t>(4, 0);
    EXPECT_EQ(bytes_of(map->lookup(&i), 4), expected) << i;
    EXPECT_EQ(bytes_of(static_cast<uint8_t*>(map->lookup(&i)) + 4092, 4), std::vector<uint8_t>(4, 0)) << i;
    map->update(&i, ones.data(), kBpfAny);
  }
  map->clear();
  for (uint32_t i = 0; i < 64; ++i) {
    std::vector<uint8_t> expected(4096, 0);
    if (i == 0) expected[0] = 9, expected[1] = 8, expected[2] = 7;
    EXPECT_EQ(bytes_of(map->lookup(&i), 4096), expected) << i;
  }
}

TEST_P(ArrayMapTest, FrozenArrayRejectsUpdatesAndSurvivesClear) {
  auto map = make(GetParam(), 4, 8, 1);
  const uint32_t zero = 0;
  const uint64_t value = 42;
  map->update(&zero, &value, kBpfAny);
  EXPECT_FALSE(map->frozen());
  EXPECT_EQ(map->freeze(), 0);
  EXPECT_TRUE(map->frozen());
  const uint64_t other = 7;
  EXPECT_EQ(map->update(&zero, &other, kBpfAny), -EPERM);
  map->clear();
  EXPECT_EQ(u64(map->lookup(&zero)), 42u);
}

INSTANTIATE_TEST_SUITE_P(Types, ArrayMapTest, ::testing::Values(MapType::Array, MapType::PercpuArray),
                         [](const auto& info) { return std::string(map_type_name(static_cast<uint32_t>(info.param))); });

TEST(MapFreeze, OtherTypesCannotBeFrozen) {
  auto map = make(MapType::Hash, 4, 4, 4);
  EXPECT_EQ(map->freeze(), -EINVAL);
  EXPECT_FALSE(map->frozen());
}

}  // namespace
}  // namespace bpfq::maps
