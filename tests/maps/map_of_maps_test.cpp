// ARRAY_OF_MAPS, HASH_OF_MAPS and RBTREE_OF_MAPS: inner-map checks, BPF-side Map* values,
// retirement of removed inner maps.
#include <gtest/gtest.h>

#include <bpfq/maps/map_of_maps.hpp>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::shared_ptr<MapOfMaps> make_outer(MapType type, uint32_t key_size, uint32_t max_entries,
                                      MapType inner_type = MapType::Queue) {
  MapSpec spec = make_spec(type, key_size, 8, max_entries, "outer");
  spec.inner = std::make_shared<MapSpec>(make_spec(inner_type, 0, 4, 16, "inner"));
  auto map = std::dynamic_pointer_cast<MapOfMaps>(create_map(spec));
  if (map == nullptr) throw std::logic_error("not a MapOfMaps");
  return map;
}

std::shared_ptr<Map> make_inner(uint32_t value_size = 4) { return make(MapType::Queue, 0, value_size, 16); }

Map* read_map_pointer(const void* p) {
  Map* map;
  std::memcpy(&map, p, sizeof map);
  return map;
}

// Keys for each outer type: a u32 index, or a big-endian u32 for the rbtree (memcmp order).
uint32_t key_for(MapType type, uint32_t i) { return type == MapType::RbtreeOfMaps ? __builtin_bswap32(i) : i; }

class MapOfMapsTest : public ::testing::TestWithParam<MapType> {};

TEST_P(MapOfMapsTest, InnerMapsMustMatchTheTemplate) {
  auto outer = make_outer(GetParam(), 4, 4);
  const uint32_t key = key_for(GetParam(), 0);
  EXPECT_EQ(outer->set_inner(&key, nullptr), -EINVAL);
  EXPECT_EQ(outer->set_inner(&key, make(MapType::Stack, 0, 4, 16)), -EINVAL);  // type
  EXPECT_EQ(outer->set_inner(&key, make_inner(8)), -EINVAL);                   // value_size
  EXPECT_EQ(outer->set_inner(&key, outer), -EINVAL);                           // itself
  EXPECT_EQ(outer->set_inner(&key, make_inner(), 7), -EINVAL);                 // flags
  EXPECT_TRUE(outer->accepts(*make(MapType::Queue, 0, 4, 999)));  // max_entries may differ
  EXPECT_EQ(outer->size(), 0u);
  auto stack = make(MapType::Stack, 0, 4, 16);
  Map* wrong = stack.get();
  EXPECT_EQ(outer->update(&key, &wrong, kBpfAny), -EINVAL);
  Map* null = nullptr;
  EXPECT_EQ(outer->update(&key, &null, kBpfAny), -EINVAL);
}

TEST_P(MapOfMapsTest, LookupReturnsTheInnerMapAndUpdateTakesAMapPointer) {
  auto outer = make_outer(GetParam(), 4, 4);
  auto a = make_inner(), b = make_inner();
  const uint32_t k0 = key_for(GetParam(), 0), k1 = key_for(GetParam(), 1);
  EXPECT_EQ(outer->lookup(&k0), nullptr);
  ASSERT_EQ(outer->set_inner(&k0, a, kBpfNoExist), 0);
  EXPECT_EQ(outer->lookup(&k0), a.get());
  EXPECT_EQ(outer->inner(&k0), a);
  EXPECT_EQ(outer->inner(&k1), nullptr);
  EXPECT_EQ(a.use_count(), 2);  // this local and the outer map
  Map* b_pointer = b.get();
  EXPECT_EQ(outer->update(&k1, &b_pointer, kBpfExist), -ENOENT);
  ASSERT_EQ(outer->update(&k1, &b_pointer, kBpfNoExist), 0);
  EXPECT_EQ(outer->update(&k1, &b_pointer, kBpfNoExist), -EEXIST);
  EXPECT_EQ(outer->lookup(&k1), b.get());
  EXPECT_EQ(outer->size(), 2u);
  uint64_t copied = 0;
  ASSERT_EQ(outer->lookup_copy(&k1, &copied), 0);
  EXPECT_EQ(read_map_pointer(&copied), b.get());
  const uint32_t k2 = key_for(GetParam(), 2);
  EXPECT_EQ(outer->lookup_copy(&k2, &copied), -ENOENT);

  // The BPF side uses the inner map through the pointer.
  auto* queue = static_cast<Map*>(outer->lookup(&k0));
  const uint32_t value = 77;
  ASSERT_EQ(queue->push(&value, kBpfAny), 0);
  uint32_t out;
  ASSERT_EQ(a->pop(&out), 0);
  EXPECT_EQ(out, 77u);

  std::vector<Map*> visited;
  EXPECT_EQ(outer->for_each([&](const void*, void* inner) {
    visited.push_back(static_cast<Map*>(inner));
    return 0;
  }),
            2);
  std::vector<Map*> expected = {a.get(), b.get()};
  std::sort(visited.begin(), visited.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(visited, expected);
}

TEST_P(MapOfMapsTest, RemovedInnerMapsAreRetiredOnlyWhenTheOuterMapHeldTheLastReference) {
  auto outer = make_outer(GetParam(), 4, 4);
  const uint32_t k0 = key_for(GetParam(), 0), k1 = key_for(GetParam(), 1);
  std::weak_ptr<Map> watched;
  {
    auto inner = make_inner();
    watched = inner;
    ASSERT_EQ(outer->set_inner(&k0, inner), 0);
  }
  auto kept = make_inner();
  ASSERT_EQ(outer->set_inner(&k1, kept), 0);

  Map* pointer = static_cast<Map*>(outer->lookup(&k0));
  ASSERT_EQ(outer->erase(&k0), 0);
  EXPECT_EQ(outer->erase(&k0), -ENOENT);
  EXPECT_EQ(outer->retired_count(), 1u);
  EXPECT_FALSE(watched.expired());  // a program may still use what it looked up
  const uint32_t value = 5;
  EXPECT_EQ(pointer->push(&value, kBpfAny), 0);

  ASSERT_EQ(outer->erase(&k1), 0);  // user space still holds this one: nothing to retire
  EXPECT_EQ(outer->retired_count(), 1u);
  outer->release_retired();
  EXPECT_EQ(outer->retired_count(), 0u);
  EXPECT_TRUE(watched.expired());
  EXPECT_EQ(kept.use_count(), 1);
  EXPECT_EQ(outer->size(), 0u);
}

TEST_P(MapOfMapsTest, OverwriteRetiresTheOldInnerMap) {
  auto outer = make_outer(GetParam(), 4, 4);
  const uint32_t key = key_for(GetParam(), 3);
  std::weak_ptr<Map> first;
  {
    auto inner = make_inner();
    first = inner;
    outer->set_inner(&key, inner);
  }
  auto second = make_inner();
  ASSERT_EQ(outer->set_inner(&key, second, kBpfExist), 0);
  EXPECT_EQ(outer->size(), 1u);
  EXPECT_EQ(outer->retired_count(), 1u);
  EXPECT_FALSE(first.expired());
  outer->release_retired();
  EXPECT_TRUE(first.expired());
  EXPECT_EQ(outer->lookup(&key), second.get());
}

TEST_P(MapOfMapsTest, ClearDropsEveryInnerMap) {
  auto outer = make_outer(GetParam(), 4, 4);
  std::weak_ptr<Map> watched;
  {
    auto inner = make_inner();
    watched = inner;
    const uint32_t k0 = key_for(GetParam(), 0), k1 = key_for(GetParam(), 1);
    outer->set_inner(&k0, inner);
    outer->set_inner(&k1, inner);  // the same map twice
    ASSERT_EQ(outer->erase(&k1), 0);
  }
  outer->clear();
  EXPECT_EQ(outer->size(), 0u);
  EXPECT_EQ(outer->retired_count(), 0u);
  EXPECT_TRUE(watched.expired());
}

TEST_P(MapOfMapsTest, DestroyingTheOuterMapDestroysItsInnerMaps) {
  std::weak_ptr<Map> watched;
  {
    auto outer = make_outer(GetParam(), 4, 4);
    auto inner = make_inner();
    watched = inner;
    const uint32_t key = key_for(GetParam(), 2);
    outer->set_inner(&key, std::move(inner));
  }
  EXPECT_TRUE(watched.expired());
}

INSTANTIATE_TEST_SUITE_P(Types, MapOfMapsTest,
                         ::testing::Values(MapType::ArrayOfMaps, MapType::HashOfMaps, MapType::RbtreeOfMaps),
                         [](const auto& info) { return std::string(map_type_name(static_cast<uint32_t>(info.param))); });

TEST(ArrayOfMaps, IndicesAreBoundedAndGetNextKeyWalksEverySlot) {
  auto outer = make_outer(MapType::ArrayOfMaps, 4, 3);
  const uint32_t three = 3, one = 1;
  EXPECT_EQ(outer->set_inner(&three, make_inner()), -E2BIG);
  EXPECT_EQ(outer->erase(&three), -E2BIG);
  EXPECT_EQ(outer->lookup(&three), nullptr);
  ASSERT_EQ(outer->set_inner(&one, make_inner()), 0);
  std::vector<uint32_t> keys;
  uint32_t next;
  for (int status = outer->get_next_key(nullptr, &next); status == 0; status = outer->get_next_key(&keys.back(), &next)) {
    keys.push_back(next);
  }
  EXPECT_EQ(keys, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(outer->size(), 1u);
  uint64_t out;
  EXPECT_EQ(outer->pop(&out), -EINVAL);
}

TEST(HashOfMaps, FullMapRejectsNewKeys) {
  auto outer = make_outer(MapType::HashOfMaps, 4, 2);
  for (uint32_t k = 0; k < 2; ++k) ASSERT_EQ(outer->set_inner(&k, make_inner()), 0);
  const uint32_t two = 2;
  EXPECT_EQ(outer->set_inner(&two, make_inner()), -E2BIG);
  std::vector<uint32_t> keys;
  uint32_t next;
  for (int status = outer->get_next_key(nullptr, &next); status == 0; status = outer->get_next_key(&keys.back(), &next)) {
    keys.push_back(next);
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<uint32_t>{0, 1}));
}

TEST(RbtreeOfMaps, PopsTheMinimumKeysInnerMapWhichCanBeReinsertedUnderANewKey) {
  auto outer = make_outer(MapType::RbtreeOfMaps, 8, 3);
  std::vector<std::weak_ptr<Map>> flows;
  for (uint64_t rank : {30, 10, 20}) {
    auto flow = make_inner();
    flows.push_back(flow);
    const uint64_t key = __builtin_bswap64(rank);
    ASSERT_EQ(outer->set_inner(&key, std::move(flow)), 0);
  }
  const uint64_t k40 = __builtin_bswap64(40);
  EXPECT_EQ(outer->set_inner(&k40, make_inner()), -E2BIG);
  uint64_t value = 0;
  ASSERT_EQ(outer->peek(&value), 0);
  EXPECT_EQ(read_map_pointer(&value), flows[1].lock().get());
  EXPECT_EQ(outer->size(), 3u);
  ASSERT_EQ(outer->pop(&value), 0);  // rank 10
  Map* popped = read_map_pointer(&value);
  EXPECT_EQ(popped, flows[1].lock().get());
  EXPECT_EQ(outer->retired_count(), 1u);
  EXPECT_EQ(outer->size(), 2u);
  // Re-queue the flow with a later rank, as a dequeue program does after serving it.
  ASSERT_EQ(outer->update(&k40, &popped, kBpfNoExist), 0);
  outer->release_retired();
  EXPECT_FALSE(flows[1].expired());  // the outer map holds it again
  std::vector<Map*> order;
  while (outer->pop(&value) == 0) order.push_back(read_map_pointer(&value));
  EXPECT_EQ(order, (std::vector<Map*>{flows[2].lock().get(), flows[0].lock().get(), popped}));
  EXPECT_EQ(outer->pop(&value), -ENOENT);
  EXPECT_EQ(outer->peek(&value), -ENOENT);
  outer->release_retired();
  for (const auto& flow : flows) EXPECT_TRUE(flow.expired());
}

TEST(RbtreeOfMaps, KeysIterateInMemcmpOrder) {
  auto outer = make_outer(MapType::RbtreeOfMaps, 5, 8);
  const std::vector<std::vector<uint8_t>> keys = {
      {9, 0, 0, 0, 1}, {0, 0, 0, 0, 2}, {0x80, 0, 0, 0, 0}, {0, 0, 0, 0, 1}, {0, 0xff, 0, 0, 0}};
  for (const auto& key : keys) ASSERT_EQ(outer->set_inner(key.data(), make_inner()), 0);
  std::vector<std::vector<uint8_t>> walked;
  std::vector<uint8_t> next(5);
  for (int status = outer->get_next_key(nullptr, next.data()); status == 0;
       status = outer->get_next_key(walked.back().data(), next.data())) {
    walked.push_back(next);
  }
  auto sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(walked, sorted);
  const std::vector<uint8_t> absent = {1, 1, 1, 1, 1};
  EXPECT_EQ(outer->get_next_key(absent.data(), next.data()), -ENOENT);
  EXPECT_EQ(outer->for_each([&](const void* key, void*) { return outer->erase(key); }), 5);
  EXPECT_EQ(outer->size(), 0u);
  EXPECT_EQ(outer->retired_count(), 5u);
}

}  // namespace
}  // namespace bpfq::maps
