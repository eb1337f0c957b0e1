// PIFO: rank in push flags, FIFO among equal ranks, two rotating windows, clamping.
#include <gtest/gtest.h>

#include <bpfq/bpf/map_types.h>
#include <bpfq/maps/pifo_map.hpp>

#include <algorithm>
#include <cerrno>
#include <random>
#include <utility>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::shared_ptr<PifoMap> make_pifo(uint32_t range, uint32_t max_entries, uint32_t value_size = 4) {
  MapSpec spec = make_spec(MapType::Pifo, 4, value_size, max_entries);
  spec.extra = range;
  auto map = std::dynamic_pointer_cast<PifoMap>(create_map(spec));
  if (map == nullptr) throw std::logic_error("not a PifoMap");
  return map;
}

// Pops everything as (value, rank) pairs.
std::vector<std::pair<uint32_t, uint64_t>> drain(PifoMap& map) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  uint32_t value;
  uint64_t rank;
  while (map.pop_with_rank(&value, &rank) == 0) out.emplace_back(value, rank);
  return out;
}

TEST(PifoMap, LowestRankFirstAndFifoAmongEqualRanks) {
  auto map = make_pifo(64, 256);
  const std::pair<uint32_t, uint64_t> pushes[] = {{1, 40}, {2, 7}, {3, 40}, {4, 0}, {5, 7}, {6, 100}, {7, 7}};
  for (auto [value, rank] : pushes) ASSERT_EQ(map->push(&value, rank), 0);
  EXPECT_EQ(map->size(), 7u);
  EXPECT_EQ(drain(*map), (std::vector<std::pair<uint32_t, uint64_t>>{
                             {4, 0}, {2, 7}, {5, 7}, {7, 7}, {1, 40}, {3, 40}, {6, 100}}));
  EXPECT_EQ(map->size(), 0u);
}

TEST(PifoMap, ManyEqualRanksKeepArrivalOrder) {
  auto map = make_pifo(8, 1000);
  for (uint32_t v = 0; v < 1000; ++v) ASSERT_EQ(map->push(&v, 5), 0);
  uint32_t value;
  for (uint32_t v = 0; v < 1000; ++v) {
    ASSERT_EQ(map->pop(&value), 0);
    ASSERT_EQ(value, v);
  }
}

TEST(PifoMap, WindowsRotateAndHigherRanksAreClamped) {
  auto map = make_pifo(8, 16);  // primary [0, 8), secondary [8, 16)
  const std::pair<uint32_t, uint64_t> pushes[] = {{1, 0}, {2, 3}, {3, 9}, {4, 15}, {5, 20}, {6, 3}, {7, 1ull << 40}};
  for (auto [value, rank] : pushes) ASSERT_EQ(map->push(&value, rank), 0);
  uint32_t value;
  uint64_t rank;
  for (auto [want_value, want_rank] : {std::pair<uint32_t, uint64_t>{1, 0}, {2, 3}, {6, 3}}) {
    ASSERT_EQ(map->pop_with_rank(&value, &rank), 0);
    EXPECT_EQ(value, want_value);
    EXPECT_EQ(rank, want_rank);
  }
  EXPECT_EQ(map->min_rank(), 0u);
  ASSERT_EQ(map->pop_with_rank(&value, &rank), 0);  // the primary is empty: rotate
  EXPECT_EQ(value, 3u);
  EXPECT_EQ(rank, 9u);
  EXPECT_EQ(map->min_rank(), 8u);
  // 20 and 2^40 were clamped into the last bucket (15), behind 15 itself, in arrival order.
  EXPECT_EQ(drain(*map), (std::vector<std::pair<uint32_t, uint64_t>>{{4, 15}, {5, 15}, {7, 15}}));
  EXPECT_EQ(map->min_rank(), 8u);  // an empty map does not rotate
  const uint32_t late = 9;
  EXPECT_EQ(map->push(&late, 7), -ERANGE);
  EXPECT_EQ(map->push(&late, 8), 0);
  ASSERT_EQ(map->push(&late, 23), 0);  // the new secondary is [16, 24)
  ASSERT_EQ(map->push(&late, 24), 0);  // clamped to 23
  EXPECT_EQ(drain(*map), (std::vector<std::pair<uint32_t, uint64_t>>{{9, 8}, {9, 23}, {9, 23}}));
  EXPECT_EQ(map->min_rank(), 16u);
}

TEST(PifoMap, IncreasingTimestampsKeepExactOrderThroughManyRotations) {
  auto map = make_pifo(16, 8);
  uint32_t value;
  uint64_t rank;
  for (uint32_t t = 0; t < 2000; ++t) {
    ASSERT_EQ(map->push(&t, uint64_t{t} * 3), 0) << t;
    if (t < 4) continue;
    ASSERT_EQ(map->pop_with_rank(&value, &rank), 0);
    ASSERT_EQ(value, t - 4);
    ASSERT_EQ(rank, uint64_t{t - 4} * 3);
  }
  EXPECT_EQ(map->size(), 4u);
  EXPECT_EQ(map->min_rank(), 5984u);  // 374 rotations of 16 ranks; 5988..5997 are queued
}

TEST(PifoMap, RankFlagsAndErrors) {
  auto map = make_pifo(8, 2);
  const uint32_t v = 1;
  EXPECT_EQ(map->push(&v, uint64_t{1} << 60), -EINVAL);  // a bit above BPF_PIFO_PRIO_MASK
  EXPECT_EQ(map->push(&v, ~uint64_t{0}), -EINVAL);
  ASSERT_EQ(map->push(&v, BPF_PIFO_PRIO_MASK), 0);  // the highest rank: clamped
  ASSERT_EQ(map->push(&v, 2), 0);
  EXPECT_EQ(map->push(&v, 3), -EOVERFLOW);
  uint32_t out;
  uint64_t rank;
  ASSERT_EQ(map->pop_with_rank(&out, &rank), 0);
  EXPECT_EQ(rank, 2u);
  ASSERT_EQ(map->pop_with_rank(&out, &rank), 0);
  EXPECT_EQ(rank, 15u);
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(map->peek(&out), -ENOENT);
  const uint32_t key = 0;
  EXPECT_EQ(map->update(&key, &v, kBpfAny), -EINVAL);
  EXPECT_EQ(map->erase(&key), -EINVAL);
  EXPECT_EQ(map->range(), 8u);
}

TEST(PifoMap, ValuesAreByteExact) {
  auto map = make_pifo(4, 8, 13);
  const auto a = pattern(13, 0x21), b = pattern(13, 0xe0);
  ASSERT_EQ(map->push(a.data(), 3), 0);
  ASSERT_EQ(map->push(b.data(), 1), 0);
  std::vector<uint8_t> out(13);
  ASSERT_EQ(map->peek(out.data()), 0);
  EXPECT_EQ(out, b);
  ASSERT_EQ(map->pop(out.data()), 0);
  EXPECT_EQ(out, b);
  ASSERT_EQ(map->pop(out.data()), 0);
  EXPECT_EQ(out, a);
}

TEST(PifoMap, PeekSeesTheSecondaryWhenThePrimaryIsEmpty) {
  auto map = make_pifo(8, 8);
  const uint32_t a = 10, b = 11;
  map->push(&a, 12);
  map->push(&b, 9);
  uint32_t out;
  ASSERT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, b);
  EXPECT_EQ(map->size(), 2u);
  EXPECT_EQ(map->min_rank(), 0u);  // peek does not rotate
}

TEST(PifoMap, LookupCountsARanksElementsAndGetNextKeyWalksNonEmptyRanks) {
  auto map = make_pifo(8, 16);
  const uint32_t v = 0;
  for (uint64_t rank : {5, 5, 5, 12, 2}) map->push(&v, rank);
  auto count = [&](uint32_t rank) -> int64_t {
    const void* p = map->lookup(&rank);
    return p == nullptr ? -1 : static_cast<int64_t>(u32(p));
  };
  EXPECT_EQ(count(5), 3);
  EXPECT_EQ(count(12), 1);
  EXPECT_EQ(count(2), 1);
  EXPECT_EQ(count(6), -1);
  EXPECT_EQ(count(100), -1);
  uint32_t key = 5, copied = 0;
  EXPECT_EQ(map->lookup_copy(&key, &copied), 0);
  EXPECT_EQ(copied, 3u);
  key = 6;
  EXPECT_EQ(map->lookup_copy(&key, &copied), -ENOENT);

  std::vector<uint32_t> ranks;
  uint32_t next;
  for (int status = map->get_next_key(nullptr, &next); status == 0; status = map->get_next_key(&ranks.back(), &next)) {
    ranks.push_back(next);
  }
  EXPECT_EQ(ranks, (std::vector<uint32_t>{2, 5, 12}));
  key = 1000;  // outside the windows: restart
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 2u);

  std::vector<uint32_t> visited;
  EXPECT_EQ(map->for_each([&](const void* k, void*) {
    visited.push_back(u32(k));
    return 0;
  }),
            5);
  EXPECT_EQ(visited, (std::vector<uint32_t>{2, 5, 5, 5, 12}));
  EXPECT_EQ(map->for_each([&](const void*, void*) { return 1; }), 1);

  uint32_t out;
  for (int i = 0; i < 4; ++i) map->pop(&out);
  EXPECT_EQ(map->min_rank(), 0u);  // 12 waits in the secondary; the windows rotate on the next pop
  map->push(&v, 9);
  ASSERT_EQ(map->pop(&out), 0);  // rank 9
  EXPECT_EQ(map->min_rank(), 8u);
  EXPECT_EQ(count(12), 1);
  EXPECT_EQ(count(5), -1);
}

TEST(PifoMap, ClearResetsTheWindows) {
  auto map = make_pifo(8, 4);
  const uint32_t v = 3;
  map->push(&v, 1);
  map->push(&v, 14);
  uint32_t out;
  map->pop(&out);
  map->pop(&out);
  ASSERT_EQ(map->min_rank(), 8u);
  map->push(&v, 9);
  map->clear();
  EXPECT_EQ(map->size(), 0u);
  EXPECT_EQ(map->min_rank(), 0u);
  EXPECT_EQ(map->pop(&out), -ENOENT);
  for (uint64_t rank : {3, 0, 2, 1}) ASSERT_EQ(map->push(&rank, rank), 0);
  EXPECT_EQ(map->push(&v, 0), -EOVERFLOW);
  EXPECT_EQ(drain(*map), (std::vector<std::pair<uint32_t, uint64_t>>{{0, 0}, {1, 1}, {2, 2}, {3, 3}}));
}

TEST(PifoMap, LargeRangeUsesEveryBitmapLevel) {
  const uint32_t range = 1u << 20;  // four bitmap levels
  auto map = make_pifo(range, 5000);
  std::mt19937_64 random(7);
  std::vector<std::pair<uint64_t, uint32_t>> expected;  // (rank, arrival)
  for (uint32_t i = 0; i < 5000; ++i) {
    const uint64_t rank = random() % (3 * uint64_t{range});
    ASSERT_EQ(map->push(&i, rank), 0);
    expected.emplace_back(std::min<uint64_t>(rank, 2 * uint64_t{range} - 1), i);
  }
  std::sort(expected.begin(), expected.end());
  uint32_t value;
  uint64_t rank;
  for (const auto& [want_rank, want_value] : expected) {
    ASSERT_EQ(map->pop_with_rank(&value, &rank), 0);
    ASSERT_EQ(rank, want_rank);
    ASSERT_EQ(value, want_value);
  }
}

}  // namespace
}  // namespace bpfq::maps
