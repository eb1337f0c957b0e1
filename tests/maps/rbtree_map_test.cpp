// RBTREE (the seed's ordered map) through the Map interface.
#include <gtest/gtest.h>

#include <bpfq/maps/rbtree_map.hpp>

#include <algorithm>
#include <cerrno>
#include <random>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;
using Bytes = std::vector<uint8_t>;

std::shared_ptr<RbtreeMap> make_rbtree(uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
  auto map = std::dynamic_pointer_cast<RbtreeMap>(make(MapType::Rbtree, key_size, value_size, max_entries));
  if (map == nullptr) throw std::logic_error("not an RbtreeMap");
  return map;
}

std::vector<Bytes> keys_in_iteration_order(Map& map) {
  std::vector<Bytes> keys;
  map.for_each([&](const void* key, void*) {
    keys.push_back(bytes_of(key, map.spec().key_size));
    return 0;
  });
  return keys;
}

// Every key size takes one of the specialised orders (4, 8, 16 bytes) or the memcmp fallback.
class RbtreeKeySizeTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RbtreeKeySizeTest, IteratesGetsNextKeyAndPopsInMemcmpOrder) {
  const uint32_t key_size = GetParam();
  auto map = make_rbtree(key_size, 4, 512);
  std::mt19937 random(key_size);
  std::vector<Bytes> keys;
  while (keys.size() < 300) {
    Bytes key(key_size);
    // Long keys use few byte values so they share prefixes; bytes >= 0x80 test unsigned order.
    for (auto& byte : key) byte = static_cast<uint8_t>(key_size <= 4 ? random() : (random() % 4) * 0x55);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      const uint32_t dummy = 0;
      EXPECT_EQ(map->update(key.data(), &dummy, kBpfNoExist), -EEXIST);
      continue;
    }
    const auto index = static_cast<uint32_t>(keys.size());
    ASSERT_EQ(map->update(key.data(), &index, kBpfNoExist), 0);
    keys.push_back(key);
  }
  std::vector<Bytes> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // lexicographic on unsigned bytes = memcmp
  EXPECT_EQ(map->size(), keys.size());
  EXPECT_EQ(keys_in_iteration_order(*map), sorted);

  std::vector<Bytes> walked;
  Bytes next(key_size);
  for (int status = map->get_next_key(nullptr, next.data()); status == 0;
       status = map->get_next_key(walked.back().data(), next.data())) {
    walked.push_back(next);
  }
  EXPECT_EQ(walked, sorted);

  Bytes key(key_size);
  uint32_t value;
  for (const Bytes& expected : sorted) {
    ASSERT_EQ(map->pop_with_key(key.data(), &value), 0);
    EXPECT_EQ(key, expected);
    EXPECT_EQ(keys[value], expected);
  }
  EXPECT_EQ(map->pop_with_key(key.data(), &value), -ENOENT);
  EXPECT_EQ(map->size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(KeySizes, RbtreeKeySizeTest, ::testing::Values(3u, 4u, 8u, 12u, 16u, 40u));

TEST(RbtreeMap, BigEndianRanksPopSmallestFirst) {
  auto map = make_rbtree(16, 8, 16);
  const uint64_t ranks[] = {500, 3, 70000, 3, 1ull << 40, 0};
  for (uint64_t sequence = 0; sequence < 6; ++sequence) {
    const auto key = rank_key(ranks[sequence], sequence);
    ASSERT_EQ(map->update(key.data(), &sequence, kBpfAny), 0);
  }
  std::vector<uint64_t> order;
  uint64_t sequence;
  while (map->pop(&sequence) == 0) order.push_back(sequence);
  EXPECT_EQ(order, (std::vector<uint64_t>{5, 1, 3, 0, 2, 4}));  // rank 3 twice: by sequence
}

TEST(RbtreeMap, UniqueKeysAndUpdateFlags) {
  auto map = make_rbtree(4, 9, 4);
  const auto key = pattern(4, 9);
  const auto a = pattern(9, 0x11), b = pattern(9, 0x99);
  EXPECT_EQ(map->update(key.data(), a.data(), kBpfExist), -ENOENT);
  EXPECT_EQ(map->update(key.data(), a.data(), kBpfAny), 0);
  void* slot = map->lookup(key.data());
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(bytes_of(slot, 9), a);
  EXPECT_EQ(map->update(key.data(), b.data(), kBpfNoExist), -EEXIST);
  EXPECT_EQ(bytes_of(slot, 9), a);
  EXPECT_EQ(map->update(key.data(), b.data(), kBpfExist), 0);
  EXPECT_EQ(map->lookup(key.data()), slot);
  EXPECT_EQ(bytes_of(slot, 9), b);
  EXPECT_EQ(map->update(key.data(), b.data(), 3), -EINVAL);
  EXPECT_EQ(map->size(), 1u);
  Bytes out(9);
  EXPECT_EQ(map->lookup_copy(key.data(), out.data()), 0);
  EXPECT_EQ(out, b);
  ASSERT_EQ(map->peek(out.data()), 0);
  EXPECT_EQ(out, b);
  EXPECT_EQ(map->size(), 1u);
}

TEST(RbtreeMap, GetNextKeyOfAbsentOrLastKeyIsEnoent) {
  auto map = make_rbtree(4, 4, 8);
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
  for (uint32_t k : {0x01000000u, 0x03000000u}) map->update(&k, &k, kBpfAny);
  const uint32_t absent = 0x02000000u, last = 0x03000000u;
  EXPECT_EQ(map->get_next_key(&absent, &next), -ENOENT);
  next = 0;
  EXPECT_EQ(map->get_next_key(&last, &next), -ENOENT);
  EXPECT_EQ(next, 0u);  // untouched
}

TEST(RbtreeMap, MaxEntriesIsEnforced) {
  auto map = make_rbtree(8, 8, 3);
  for (uint64_t k = 0; k < 3; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  const uint64_t three = 3, one = 1;
  EXPECT_EQ(map->update(&three, &three, kBpfAny), -E2BIG);
  EXPECT_EQ(map->update(&one, &three, kBpfAny), 0);  // overwriting needs no room
  EXPECT_EQ(map->size(), 3u);
  ASSERT_EQ(map->erase(&one), 0);
  EXPECT_EQ(map->erase(&one), -ENOENT);
  EXPECT_EQ(map->update(&three, &three, kBpfAny), 0);
  uint64_t value;
  ASSERT_EQ(map->pop(&value), 0);
  EXPECT_EQ(value, 0u);
  EXPECT_EQ(map->update(&one, &one, kBpfAny), 0);
  EXPECT_EQ(map->size(), 3u);
}

TEST(RbtreeMap, ForEachInOrderMayDeleteTheVisitedElement) {
  auto map = make_rbtree(4, 4, 64);
  for (uint32_t k = 0; k < 40; ++k) {
    const uint32_t key = __builtin_bswap32(k * 37 % 40);  // big-endian: memcmp order = numeric order
    map->update(&key, &k, kBpfAny);
  }
  std::vector<uint32_t> visited;
  EXPECT_EQ(map->for_each([&](const void* key, void*) {
    const uint32_t k = __builtin_bswap32(u32(key));
    visited.push_back(k);
    if (k % 3 != 0) {
      EXPECT_EQ(map->erase(key), 0);
    }
    return 0;
  }),
            40);
  std::vector<uint32_t> all(40);
  for (uint32_t k = 0; k < 40; ++k) all[k] = k;
  EXPECT_EQ(visited, all);
  std::vector<uint32_t> left;
  EXPECT_EQ(map->for_each([&](const void* key, void*) {
    left.push_back(__builtin_bswap32(u32(key)));
    return left.size() == 5 ? 1 : 0;
  }),
            5);
  EXPECT_EQ(left, (std::vector<uint32_t>{0, 3, 6, 9, 12}));
  EXPECT_EQ(map->size(), 14u);
}

TEST(RbtreeMap, PoppingEverythingViaForEachDeletion) {
  auto map = make_rbtree(4, 4, 16);
  for (uint32_t k = 0; k < 16; ++k) map->update(&k, &k, kBpfAny);
  EXPECT_EQ(map->for_each([&](const void* key, void*) { return map->erase(key); }), 16);
  EXPECT_EQ(map->size(), 0u);
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
}

TEST(RbtreeMap, ClearEmptiesAndTheMapIsReusable) {
  auto map = make_rbtree(4, 4, 4);
  for (uint32_t k = 0; k < 4; ++k) map->update(&k, &k, kBpfAny);
  map->clear();
  EXPECT_EQ(map->size(), 0u);
  uint32_t out;
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(map->peek(&out), -ENOENT);
  for (uint32_t k = 4; k < 8; ++k) ASSERT_EQ(map->update(&k, &k, kBpfAny), 0);
  EXPECT_EQ(map->update(&out, &out, kBpfAny), -E2BIG);
  EXPECT_EQ(map->push(&out, 0), -EINVAL);
}

}  // namespace
}  // namespace bpfq::maps
