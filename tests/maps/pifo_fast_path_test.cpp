// PIFO paths the speed work added: the remembered lowest bucket (pops skip the bitmap while
// that bucket has elements), bitmaps of every depth, buckets that live in either half of one
// array as the windows rotate, and the priority-queue hold model against an exact model.
#include <gtest/gtest.h>

#include <bpfq/maps/pifo_map.hpp>

#include <algorithm>
#include <cerrno>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::shared_ptr<PifoMap> make_pifo(uint32_t range, uint32_t max_entries) {
  MapSpec spec = make_spec(MapType::Pifo, 4, 8, max_entries);
  spec.extra = range;
  auto map = std::dynamic_pointer_cast<PifoMap>(create_map(spec));
  if (map == nullptr) throw std::logic_error("not a PifoMap");
  return map;
}

std::pair<uint64_t, uint64_t> pop_pair(PifoMap& map) {
  uint64_t value = 0, rank = 0;
  EXPECT_EQ(map.pop_with_rank(&value, &rank), 0);
  return {value, rank};
}

TEST(PifoFastPath, APushBelowTheBucketBeingDrainedPopsFirst) {
  auto map = make_pifo(64, 32);
  for (uint64_t v = 0; v < 4; ++v) ASSERT_EQ(map->push(&v, 20), 0);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{0, 20}));  // bucket 20 is remembered
  const uint64_t early = 100, earlier = 101;
  ASSERT_EQ(map->push(&early, 7), 0);
  ASSERT_EQ(map->push(&earlier, 3), 0);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{101, 3}));
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{100, 7}));
  const uint64_t same = 102;
  ASSERT_EQ(map->push(&same, 20), 0);  // behind the three still queued at 20
  for (uint64_t v : {1, 2, 3, 102}) EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{v, 20}));
  EXPECT_EQ(map->size(), 0u);
  uint64_t out;
  EXPECT_EQ(map->pop(&out), -ENOENT);
}

TEST(PifoFastPath, ASecondaryPushDoesNotDisturbTheRememberedBucket) {
  auto map = make_pifo(16, 32);  // primary [0, 16), secondary [16, 32)
  for (uint64_t v = 0; v < 3; ++v) ASSERT_EQ(map->push(&v, 9), 0);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{0, 9}));
  const uint64_t late = 50;
  ASSERT_EQ(map->push(&late, 17), 0);  // offset 17: secondary bucket 1, below 9 as an index
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{1, 9}));
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{2, 9}));
  EXPECT_EQ(map->min_rank(), 0u);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{50, 17}));  // rotated
  EXPECT_EQ(map->min_rank(), 16u);
  // The old primary's half of the bucket array now holds ranks [32, 48).
  const uint64_t a = 60, b = 61;
  ASSERT_EQ(map->push(&a, 33), 0);
  ASSERT_EQ(map->push(&b, 16), 0);
  const uint32_t key = 33;
  EXPECT_EQ(u32(map->lookup(&key)), 1u);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{61, 16}));
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{60, 33}));
  EXPECT_EQ(map->min_rank(), 32u);
}

TEST(PifoFastPath, ClearForgetsTheRememberedBucket) {
  auto map = make_pifo(64, 8);
  for (uint64_t v = 0; v < 3; ++v) ASSERT_EQ(map->push(&v, 40), 0);
  pop_pair(*map);
  map->clear();
  const uint64_t v = 7, w = 8;
  ASSERT_EQ(map->push(&v, 41), 0);
  ASSERT_EQ(map->push(&v, 5), 0);
  ASSERT_EQ(map->push(&w, 40), 0);  // the bucket that held two elements before clear()
  const uint32_t key = 40;
  EXPECT_EQ(u32(map->lookup(&key)), 1u);
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{7, 5}));
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{8, 40}));
  EXPECT_EQ(pop_pair(*map), (std::pair<uint64_t, uint64_t>{7, 41}));
  EXPECT_EQ(map->size(), 0u);
}

// Ranges whose bitmaps have one to four levels, at and just past each level's capacity.
class PifoRangeTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(PifoRangeTest, EdgeRanksPopInOrderAndIterateInOrder) {
  const uint32_t range = GetParam();
  auto map = make_pifo(range, 64);
  const uint64_t r = range;
  // Pushed out of order; the last bucket also takes the clamped rank 5 * range.
  const std::vector<uint64_t> ranks = {2 * r - 1, 0, r, r - 1, 5 * r, r / 2, r + r / 2, 0};
  for (uint64_t i = 0; i < ranks.size(); ++i) ASSERT_EQ(map->push(&i, ranks[i]), 0) << i;

  // Expected pop order: by effective rank, FIFO among equals (a stable sort of the pushes).
  std::multimap<uint64_t, uint64_t> model;
  for (uint64_t i = 0; i < ranks.size(); ++i) model.emplace(std::min(ranks[i], 2 * r - 1), i);

  std::vector<uint32_t> keys, want_keys;
  uint32_t next;
  for (int s = map->get_next_key(nullptr, &next); s == 0; s = map->get_next_key(&keys.back(), &next)) {
    keys.push_back(next);
  }
  for (auto it = model.begin(); it != model.end(); it = model.upper_bound(it->first)) {
    want_keys.push_back(static_cast<uint32_t>(it->first));
  }
  EXPECT_EQ(keys, want_keys);
  for (uint32_t key : want_keys) {
    ASSERT_NE(map->lookup(&key), nullptr) << key;
    EXPECT_EQ(u32(map->lookup(&key)), model.count(key)) << key;
  }

  std::vector<std::pair<uint64_t, uint64_t>> visited;
  map->for_each([&](const void* key, void* value) {
    visited.emplace_back(u64(value), u32(key));
    return 0;
  });
  std::vector<std::pair<uint64_t, uint64_t>> popped;
  while (map->size() != 0) popped.push_back(pop_pair(*map));
  std::vector<std::pair<uint64_t, uint64_t>> want;
  for (const auto& [rank, value] : model) want.emplace_back(value, rank);
  EXPECT_EQ(popped, want);
  EXPECT_EQ(visited, want);
}

INSTANTIATE_TEST_SUITE_P(BitmapDepths, PifoRangeTest,
                         ::testing::Values(1u, 2u, 64u, 128u, 4096u, 8192u, 1u << 18, 1u << 19));

// The benchmark's workload: N queued, each step pops the minimum and pushes it back a random
// distance below the range ahead, so buckets fill densely and the windows rotate many times.
TEST(PifoFastPath, HoldModelMatchesAStableOrder) {
  constexpr uint32_t kRange = 256, kQueued = 500;
  auto map = make_pifo(kRange, kQueued);
  std::multimap<uint64_t, uint64_t> model;  // rank -> value; equal ranks keep insertion order
  std::mt19937_64 random(7);
  uint64_t next_value = 0;
  auto push = [&](uint64_t rank) {
    const uint64_t value = next_value++;
    ASSERT_EQ(map->push(&value, rank), 0);
    model.emplace(rank, value);
  };
  for (uint32_t i = 0; i < kQueued; ++i) push(random() % 200);
  for (int step = 0; step < 100000; ++step) {
    const auto [value, rank] = pop_pair(*map);
    ASSERT_EQ(rank, model.begin()->first) << "step " << step;
    ASSERT_EQ(value, model.begin()->second) << "step " << step;
    model.erase(model.begin());
    push(rank + random() % 200);
  }
  EXPECT_GT(map->min_rank(), 50u * kRange);  // the windows rotated many times
  EXPECT_EQ(map->size(), kQueued);
}

}  // namespace
}  // namespace bpfq::maps
