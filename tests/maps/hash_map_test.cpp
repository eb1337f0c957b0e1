// HASH and LRU_HASH through the Map interface.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

class HashMapTest : public ::testing::TestWithParam<MapType> {};

TEST_P(HashMapTest, InsertLookupOverwriteDelete) {
  auto map = make(GetParam(), 6, 11, 8);
  const auto key = pattern(6, 1), value = pattern(11, 0x30), other = pattern(11, 0x80);
  EXPECT_EQ(map->lookup(key.data()), nullptr);
  EXPECT_EQ(map->update(key.data(), value.data(), kBpfExist), -ENOENT);
  EXPECT_EQ(map->update(key.data(), value.data(), kBpfNoExist), 0);
  EXPECT_EQ(map->size(), 1u);
  void* slot = map->lookup(key.data());
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(bytes_of(slot, 11), value);
  EXPECT_EQ(map->update(key.data(), other.data(), kBpfNoExist), -EEXIST);
  EXPECT_EQ(map->update(key.data(), other.data(), kBpfExist), 0);
  EXPECT_EQ(map->lookup(key.data()), slot);  // overwritten in place
  EXPECT_EQ(bytes_of(slot, 11), other);
  EXPECT_EQ(map->update(key.data(), value.data(), 4), -EINVAL);
  std::vector<uint8_t> out(11);
  EXPECT_EQ(map->lookup_copy(key.data(), out.data()), 0);
  EXPECT_EQ(out, other);
  EXPECT_EQ(map->erase(key.data()), 0);
  EXPECT_EQ(map->erase(key.data()), -ENOENT);
  EXPECT_EQ(map->lookup(key.data()), nullptr);
  EXPECT_EQ(map->lookup_copy(key.data(), out.data()), -ENOENT);
  EXPECT_EQ(map->size(), 0u);
}

TEST_P(HashMapTest, GetNextKeyVisitsEveryKeyOnceAndRestartsOnAbsentKey) {
  auto map = make(GetParam(), 4, 4, 64);
  std::set<uint32_t> inserted;
  for (uint32_t k = 0; k < 50; ++k) {
    const uint32_t key = k * 7919u;
    ASSERT_EQ(map->update(&key, &k, kBpfAny), 0);
    inserted.insert(key);
  }
  std::vector<uint32_t> seen;
  uint32_t next;
  for (int status = map->get_next_key(nullptr, &next); status == 0; status = map->get_next_key(&seen.back(), &next)) {
    seen.push_back(next);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(std::set<uint32_t>(seen.begin(), seen.end()), inserted);
  const uint32_t absent = 3;
  ASSERT_EQ(map->get_next_key(&absent, &next), 0);
  EXPECT_EQ(next, seen.front());
}

TEST_P(HashMapTest, ForEachMayDeleteTheVisitedElement) {
  auto map = make(GetParam(), 4, 4, 16);
  for (uint32_t k = 0; k < 10; ++k) map->update(&k, &k, kBpfAny);
  std::set<uint32_t> visited;
  EXPECT_EQ(map->for_each([&](const void* key, void* value) {
    visited.insert(u32(key));
    EXPECT_EQ(u32(value), u32(key));
    if (u32(key) % 2 == 0) {
      EXPECT_EQ(map->erase(key), 0);
    }
    return 0;
  }),
            10);
  EXPECT_EQ(visited.size(), 10u);
  EXPECT_EQ(map->size(), 5u);
  for (uint32_t k = 0; k < 10; ++k) EXPECT_EQ(map->lookup(&k) != nullptr, k % 2 == 1) << k;
  long stopped = map->for_each([&](const void*, void*) { return 1; });
  EXPECT_EQ(stopped, 1);
}

TEST_P(HashMapTest, ClearEmptiesAndKeepsCapacity) {
  auto map = make(GetParam(), 4, 4, 4);
  for (uint32_t k = 0; k < 4; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  map->clear();
  EXPECT_EQ(map->size(), 0u);
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
  for (uint32_t k = 10; k < 14; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  EXPECT_EQ(map->size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Types, HashMapTest, ::testing::Values(MapType::Hash, MapType::LruHash),
                         [](const auto& info) { return std::string(map_type_name(static_cast<uint32_t>(info.param))); });

TEST(HashMap, FullMapRejectsNewKeysButOverwritesOld) {
  auto map = make(MapType::Hash, 4, 4, 2);
  for (uint32_t k = 0; k < 2; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  const uint32_t k2 = 2, v = 9;
  EXPECT_EQ(map->update(&k2, &v, kBpfAny), -E2BIG);
  const uint32_t k0 = 0;
  EXPECT_EQ(map->update(&k0, &v, kBpfAny), 0);
  EXPECT_EQ(u32(map->lookup(&k0)), 9u);
  ASSERT_EQ(map->erase(&k0), 0);
  EXPECT_EQ(map->update(&k2, &v, kBpfAny), 0);
}

std::vector<uint32_t> keys_of(Map& map) {
  std::vector<uint32_t> keys;
  map.for_each([&](const void* key, void*) {
    keys.push_back(u32(key));
    return 0;
  });
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(LruHash, EvictsTheLeastRecentlyUsed) {
  auto map = make(MapType::LruHash, 4, 4, 3);
  for (uint32_t k = 1; k <= 3; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  const uint32_t one = 1, two = 2, three = 3, four = 4, five = 5, six = 6;
  ASSERT_NE(map->lookup(&one), nullptr);  // recency now (most recent first): 1 3 2
  ASSERT_EQ(map->update(&four, &four, kBpfAny), 0);  // evicts 2
  EXPECT_EQ(keys_of(*map), (std::vector<uint32_t>{1, 3, 4}));
  ASSERT_EQ(map->update(&three, &four, kBpfExist), 0);  // an update is a use: 3 4 1
  ASSERT_EQ(map->update(&five, &five, kBpfAny), 0);     // evicts 1
  EXPECT_EQ(keys_of(*map), (std::vector<uint32_t>{3, 4, 5}));
  uint32_t out;
  ASSERT_EQ(map->lookup_copy(&four, &out), 0);  // user-space reads are not uses: 5 3 4
  ASSERT_EQ(map->update(&six, &six, kBpfAny), 0);  // evicts 4
  EXPECT_EQ(keys_of(*map), (std::vector<uint32_t>{3, 5, 6}));
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(map->update(&two, &two, kBpfNoExist), 0);  // evicts 3
  EXPECT_EQ(keys_of(*map), (std::vector<uint32_t>{2, 5, 6}));
}

TEST(LruHash, DeletedKeysFreeRoomWithoutEviction) {
  auto map = make(MapType::LruHash, 4, 4, 2);
  const uint32_t a = 1, b = 2, c = 3;
  map->update(&a, &a, kBpfAny);
  map->update(&b, &b, kBpfAny);
  ASSERT_EQ(map->erase(&b), 0);
  ASSERT_EQ(map->update(&c, &c, kBpfAny), 0);
  EXPECT_EQ(keys_of(*map), (std::vector<uint32_t>{1, 3}));
}

}  // namespace
}  // namespace bpfq::maps
