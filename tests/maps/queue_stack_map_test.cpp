// QUEUE and STACK through the Map interface.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::vector<uint32_t> drain(Map& map) {
  std::vector<uint32_t> out;
  uint32_t value;
  while (map.pop(&value) == 0) out.push_back(value);
  return out;
}

TEST(QueueMap, PopsInFifoOrderAcrossWraparound) {
  auto map = make(MapType::Queue, 0, 4, 3);
  uint32_t out;
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(map->peek(&out), -ENOENT);
  for (uint32_t round = 0; round < 5; ++round) {  // the ring's start moves round the slots
    for (uint32_t v = 0; v < 2; ++v) {
      const uint32_t value = round * 10 + v;
      ASSERT_EQ(map->push(&value, kBpfAny), 0);
    }
    ASSERT_EQ(map->peek(&out), 0);
    EXPECT_EQ(out, round * 10);
    EXPECT_EQ(map->size(), 2u);
    EXPECT_EQ(drain(*map), (std::vector<uint32_t>{round * 10, round * 10 + 1}));
  }
}

TEST(QueueMap, FullQueueRejectsOrEvictsTheOldestWithExist) {
  auto map = make(MapType::Queue, 0, 4, 3);
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kBpfAny), 0);
  const uint32_t four = 4, five = 5;
  EXPECT_EQ(map->push(&four, kBpfAny), -E2BIG);
  EXPECT_EQ(map->push(&four, kBpfNoExist), -EINVAL);
  EXPECT_EQ(map->push(&four, 3), -EINVAL);
  EXPECT_EQ(map->push(&four, kBpfExist), 0);
  EXPECT_EQ(map->push(&five, kBpfExist), 0);
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(drain(*map), (std::vector<uint32_t>{3, 4, 5}));
}

TEST(StackMap, PopsInLifoOrder) {
  auto map = make(MapType::Stack, 0, 4, 4);
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kBpfAny), 0);
  uint32_t out;
  ASSERT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, 3u);
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(drain(*map), (std::vector<uint32_t>{3, 2, 1}));
}

TEST(StackMap, ExistOnAFullStackEvictsTheOldest) {
  auto map = make(MapType::Stack, 0, 4, 3);
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kBpfAny), 0);
  const uint32_t four = 4, five = 5;
  EXPECT_EQ(map->push(&four, kBpfAny), -E2BIG);
  EXPECT_EQ(map->push(&four, kBpfExist), 0);  // drops 1, the bottom of the stack
  EXPECT_EQ(map->push(&five, kBpfExist), 0);  // drops 2
  EXPECT_EQ(drain(*map), (std::vector<uint32_t>{5, 4, 3}));
}

TEST(QueueStackMap, ValuesAreByteExactAndKeyOperationsAreInvalid) {
  for (MapType type : {MapType::Queue, MapType::Stack}) {
    auto map = make(type, 0, 13, 2);
    const auto a = pattern(13, 0x10), b = pattern(13, 0x70);
    map->push(a.data(), kBpfAny);
    map->push(b.data(), kBpfAny);
    std::vector<uint8_t> out(13);
    ASSERT_EQ(map->lookup_copy(nullptr, out.data()), 0);  // user space lookup is peek
    EXPECT_EQ(out, type == MapType::Queue ? a : b);
    std::vector<std::vector<uint8_t>> visited;
    EXPECT_EQ(map->for_each([&](const void* key, void* value) {
      EXPECT_EQ(key, nullptr);
      visited.push_back(bytes_of(value, 13));
      return 0;
    }),
              2);
    EXPECT_EQ(visited, type == MapType::Queue ? (std::vector<std::vector<uint8_t>>{a, b})
                                              : (std::vector<std::vector<uint8_t>>{b, a}));
    ASSERT_EQ(map->pop(out.data()), 0);
    EXPECT_EQ(out, type == MapType::Queue ? a : b);
    EXPECT_EQ(map->lookup(nullptr), nullptr);
    EXPECT_EQ(map->update(nullptr, a.data(), kBpfAny), -EINVAL);
    EXPECT_EQ(map->erase(nullptr), -EINVAL);
    EXPECT_EQ(map->get_next_key(nullptr, out.data()), -EINVAL);
    map->clear();
    EXPECT_EQ(map->size(), 0u);
    EXPECT_EQ(map->pop(out.data()), -ENOENT);
  }
}

}  // namespace
}  // namespace bpfq::maps
