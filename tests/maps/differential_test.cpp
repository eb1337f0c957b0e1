// Randomised differential tests: RBTREE against std::map, PIFO against a std::multimap model of
// its two windows. Seeded, ~100k operations each.
#include <gtest/gtest.h>

#include <bpfq/maps/pifo_map.hpp>
#include <bpfq/maps/rbtree_map.hpp>

#include <cerrno>
#include <map>
#include <random>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;
using Bytes = std::vector<uint8_t>;

constexpr int kOperations = 100'000;

// ---- RBTREE vs std::map<bytes, value> (std::vector<uint8_t> compares like memcmp) ----

class RbtreeDifferentialTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RbtreeDifferentialTest, MatchesStdMap) {
  const uint32_t key_size = GetParam();
  constexpr uint32_t kValueSize = 12, kMaxEntries = 600;
  auto map = std::dynamic_pointer_cast<RbtreeMap>(make(MapType::Rbtree, key_size, kValueSize, kMaxEntries));
  ASSERT_NE(map, nullptr);
  std::map<Bytes, Bytes> model;
  std::mt19937_64 random(1234 + key_size);

  // ~1000 distinct keys for 600 slots: inserts, hits and -E2BIG all happen often.
  auto random_key = [&] {
    Bytes key(key_size);
    uint64_t bits = random() % 1000 * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < key_size; ++i) key[i] = static_cast<uint8_t>(bits >> (8 * (i % 8)) ^ i);
    return key;
  };
  Bytes value(kValueSize), out(kValueSize), key_out(key_size);

  for (int op = 0; op < kOperations; ++op) {
    const Bytes key = random_key();
    const auto found = model.find(key);
    switch (random() % 8) {
      case 0:
      case 1:
      case 2: {  // update with random flags
        for (auto& byte : value) byte = static_cast<uint8_t>(random());
        const uint64_t flags = random() % 3;
        int expected = 0;
        if (found != model.end() && flags == kBpfNoExist) expected = -EEXIST;
        else if (found == model.end() && flags == kBpfExist) expected = -ENOENT;
        else if (found == model.end() && model.size() >= kMaxEntries) expected = -E2BIG;
        ASSERT_EQ(map->update(key.data(), value.data(), flags), expected) << "op " << op;
        if (expected == 0) model[key] = value;
        break;
      }
      case 3: {  // erase
        ASSERT_EQ(map->erase(key.data()), found == model.end() ? -ENOENT : 0) << "op " << op;
        if (found != model.end()) model.erase(found);
        break;
      }
      case 4: {  // lookup
        const void* slot = map->lookup(key.data());
        ASSERT_EQ(slot != nullptr, found != model.end()) << "op " << op;
        if (slot != nullptr) {
          ASSERT_EQ(bytes_of(slot, kValueSize), found->second) << "op " << op;
        }
        break;
      }
      case 5: {  // pop the minimum
        const int status = map->pop_with_key(key_out.data(), out.data());
        if (model.empty()) {
          ASSERT_EQ(status, -ENOENT);
          break;
        }
        ASSERT_EQ(status, 0);
        ASSERT_EQ(key_out, model.begin()->first) << "op " << op;
        ASSERT_EQ(out, model.begin()->second) << "op " << op;
        model.erase(model.begin());
        break;
      }
      case 6: {  // get_next_key
        const int status = map->get_next_key(key.data(), key_out.data());
        if (found == model.end() || std::next(found) == model.end()) {
          ASSERT_EQ(status, -ENOENT) << "op " << op;
        } else {
          ASSERT_EQ(status, 0);
          ASSERT_EQ(key_out, std::next(found)->first) << "op " << op;
        }
        break;
      }
      case 7: {  // peek
        const int status = map->peek(out.data());
        ASSERT_EQ(status, model.empty() ? -ENOENT : 0);
        if (!model.empty()) {
          ASSERT_EQ(out, model.begin()->second);
        }
        break;
      }
    }
    ASSERT_EQ(map->size(), model.size()) << "op " << op;
    if (op % 5000 == 0) {  // full in-order comparison
      auto expected = model.begin();
      map->for_each([&](const void* k, void* v) {
        EXPECT_EQ(bytes_of(k, key_size), expected->first);
        EXPECT_EQ(bytes_of(v, kValueSize), expected->second);
        ++expected;
        return 0;
      });
      ASSERT_EQ(expected, model.end());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KeySizes, RbtreeDifferentialTest, ::testing::Values(4u, 5u, 8u, 16u));

// ---- PIFO vs a model: a multimap from effective (clamped) rank to values, FIFO among equals ----

class PifoModel {
 public:
  PifoModel(uint64_t range, size_t capacity) : range_(range), capacity_(capacity) {}

  int push(uint64_t rank, uint32_t value) {
    if (queue_.size() >= capacity_) return -EOVERFLOW;
    if (rank < min_rank_) return -ERANGE;
    queue_.emplace(std::min(rank, min_rank_ + 2 * range_ - 1), value);  // after equal keys
    return 0;
  }

  int pop(uint32_t* value, uint64_t* rank) {
    if (queue_.empty()) return -ENOENT;
    if (queue_.begin()->first >= min_rank_ + range_) min_rank_ += range_;  // the primary is empty
    *rank = queue_.begin()->first;
    *value = queue_.begin()->second;
    queue_.erase(queue_.begin());
    return 0;
  }

  uint64_t min_rank() const { return min_rank_; }
  const std::multimap<uint64_t, uint32_t>& queue() const { return queue_; }

 private:
  uint64_t range_;
  size_t capacity_;
  uint64_t min_rank_ = 0;
  std::multimap<uint64_t, uint32_t> queue_;
};

TEST(PifoDifferential, MatchesTheWindowModel) {
  constexpr uint32_t kRange = 64, kCapacity = 300;
  MapSpec spec = make_spec(MapType::Pifo, 4, 4, kCapacity);
  spec.extra = kRange;
  auto map = std::dynamic_pointer_cast<PifoMap>(create_map(spec));
  ASSERT_NE(map, nullptr);
  PifoModel model(kRange, kCapacity);
  std::mt19937_64 random(99);
  uint64_t now = 0;  // ranks are mostly timestamps just ahead of the queue's start

  for (int op = 0; op < kOperations; ++op) {
    const uint64_t dice = random() % 100;
    if (dice < 52) {
      uint64_t rank;
      if (dice < 2) rank = model.min_rank() - std::min<uint64_t>(model.min_rank(), random() % 8);  // maybe below
      else if (dice < 6) rank = model.min_rank() + random() % (8 * kRange);  // often clamped
      else rank = now + random() % (kRange + kRange / 2);
      const auto value = static_cast<uint32_t>(op);
      ASSERT_EQ(map->push(&value, rank), model.push(rank, value)) << "op " << op << " rank " << rank;
    } else {
      uint32_t value = 0, want_value = 0;
      uint64_t rank = 0, want_rank = 0;
      const int status = map->pop_with_rank(&value, &rank);
      ASSERT_EQ(status, model.pop(&want_value, &want_rank)) << "op " << op;
      if (status == 0) {
        ASSERT_EQ(rank, want_rank) << "op " << op;
        ASSERT_EQ(value, want_value) << "op " << op;
        now = rank;
      }
    }
    ASSERT_EQ(map->size(), model.queue().size());
    ASSERT_EQ(map->min_rank(), model.min_rank()) << "op " << op;
    if (op % 2500 == 0) {  // pop order and per-rank counts
      auto expected = model.queue().begin();
      map->for_each([&](const void* key, void* value) {
        EXPECT_EQ(u32(key), static_cast<uint32_t>(expected->first));
        EXPECT_EQ(u32(value), expected->second);
        ++expected;
        return 0;
      });
      ASSERT_EQ(expected, model.queue().end());
      for (uint64_t rank = model.min_rank(); rank < model.min_rank() + 2 * kRange; ++rank) {
        const auto key = static_cast<uint32_t>(rank);
        const void* count = map->lookup(&key);
        const size_t want = model.queue().count(rank);
        ASSERT_EQ(count == nullptr ? 0 : u32(count), want) << "rank " << rank;
        ASSERT_EQ(count == nullptr, want == 0);
      }
    }
  }
  EXPECT_GT(model.min_rank(), 1000u);  // the windows rotated many times
}

}  // namespace
}  // namespace bpfq::maps
