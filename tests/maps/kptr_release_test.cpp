// Packet references (kptrs) held in map values: the map calls the dtor exactly once per held
// reference whenever a value leaves it (delete, overwrite, pop, LRU eviction, clear, destruction).
#include <gtest/gtest.h>

#include <bpfq/maps/rbtree_map.hpp>

#include <array>
#include <cerrno>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

// Value layout: [u64 data][kptr at 8][kptr at 16].
constexpr uint32_t kValueSize = 24;

struct Value {
  uint64_t data;
  void* first;
  void* second;
};

std::shared_ptr<Map> make_kptr_map(MapType type, uint32_t max_entries) {
  MapSpec spec = make_spec(type, 4, kValueSize, max_entries);
  spec.kptr_offsets = {16, 8};  // unsorted on purpose
  auto map = create_map(spec);
  map->set_kptr_dtor(count_release);
  return map;
}

// Key i for the type (big-endian for the rbtree, so its order is numeric).
uint32_t key_of(MapType type, uint32_t i) { return type == MapType::Rbtree ? __builtin_bswap32(i) : i; }

// Inserts key i holding references to both packets.
void* insert_holding(Map& map, uint32_t i, FakePacket* a, FakePacket* b) {
  const uint32_t key = key_of(map.type(), i);
  const Value value{1000 + i, nullptr, nullptr};
  if (map.update(&key, &value, kBpfAny) != 0) throw std::logic_error("update failed");
  void* slot = map.lookup(&key);
  hold(slot, 8, a);
  if (b != nullptr) hold(slot, 16, b);
  return slot;
}

class KptrReleaseTest : public ::testing::TestWithParam<MapType> {};

TEST_P(KptrReleaseTest, OverwriteReleasesTheOldReferencesOnce) {
  std::array<FakePacket, 2> packets;
  {
    auto map = make_kptr_map(GetParam(), 4);
    insert_holding(*map, 0, &packets[0], &packets[1]);
    const uint32_t key = key_of(GetParam(), 0);
    const Value next{7, nullptr, nullptr};
    ASSERT_EQ(map->update(&key, &next, kBpfAny), 0);
    EXPECT_EQ(packets[0].releases, 1);
    EXPECT_EQ(packets[1].releases, 1);
    const auto* stored = static_cast<const Value*>(map->lookup(&key));
    EXPECT_EQ(stored->data, 7u);
    EXPECT_EQ(stored->first, nullptr);
    EXPECT_EQ(stored->second, nullptr);
  }
  EXPECT_EQ(packets[0].releases, 1);  // destruction finds nothing more to release
  EXPECT_EQ(packets[1].releases, 1);
}

TEST_P(KptrReleaseTest, ValuesEnterAndLeaveWithoutReferences) {
  FakePacket forged, held;
  auto map = make_kptr_map(GetParam(), 4);
  const uint32_t key = key_of(GetParam(), 1);
  const Value value{42, &forged, &forged};
  ASSERT_EQ(map->update(&key, &value, kBpfAny), 0);
  auto* stored = static_cast<Value*>(map->lookup(&key));
  EXPECT_EQ(stored->data, 42u);
  EXPECT_EQ(stored->first, nullptr);  // a program cannot forge a reference by copying a value in
  EXPECT_EQ(stored->second, nullptr);
  hold(stored, 16, &held);
  Value out{0, &forged, &forged};
  ASSERT_EQ(map->lookup_copy(&key, &out), 0);
  EXPECT_EQ(out.data, 42u);
  EXPECT_EQ(out.first, nullptr);  // the copy carries no reference: the map keeps it
  EXPECT_EQ(out.second, nullptr);
  EXPECT_EQ(held.releases, 0);
  map->clear();
  EXPECT_EQ(held.releases, 1);
  EXPECT_EQ(forged.releases, 0);
}

TEST_P(KptrReleaseTest, ClearAndDestructionReleaseEveryHeldReference) {
  std::array<FakePacket, 6> packets;
  {
    auto map = make_kptr_map(GetParam(), 8);
    insert_holding(*map, 0, &packets[0], &packets[1]);
    insert_holding(*map, 1, &packets[2], nullptr);
    map->clear();
    EXPECT_EQ(packets[0].releases, 1);
    EXPECT_EQ(packets[1].releases, 1);
    EXPECT_EQ(packets[2].releases, 1);
    insert_holding(*map, 2, &packets[3], &packets[4]);
    insert_holding(*map, 3, &packets[5], nullptr);
  }
  for (const FakePacket& packet : packets) EXPECT_EQ(packet.releases, 1);
}

TEST_P(KptrReleaseTest, AMapWithoutADtorJustForgetsReferences) {
  FakePacket packet;
  auto map = make_kptr_map(GetParam(), 2);
  map->set_kptr_dtor(nullptr);
  insert_holding(*map, 0, &packet, nullptr);
  map->clear();
  EXPECT_EQ(packet.releases, 0);
}

INSTANTIATE_TEST_SUITE_P(Types, KptrReleaseTest,
                         ::testing::Values(MapType::Array, MapType::PercpuArray, MapType::Hash, MapType::LruHash,
                                           MapType::Rbtree),
                         [](const auto& info) { return std::string(map_type_name(static_cast<uint32_t>(info.param))); });

class KptrDeleteTest : public ::testing::TestWithParam<MapType> {};

TEST_P(KptrDeleteTest, DeleteReleasesOnce) {
  std::array<FakePacket, 3> packets;
  {
    auto map = make_kptr_map(GetParam(), 4);
    insert_holding(*map, 0, &packets[0], &packets[1]);
    insert_holding(*map, 1, &packets[2], nullptr);
    const uint32_t key = key_of(GetParam(), 0);
    ASSERT_EQ(map->erase(&key), 0);
    EXPECT_EQ(packets[0].releases, 1);
    EXPECT_EQ(packets[1].releases, 1);
    EXPECT_EQ(packets[2].releases, 0);
  }
  EXPECT_EQ(packets[0].releases, 1);
  EXPECT_EQ(packets[1].releases, 1);
  EXPECT_EQ(packets[2].releases, 1);
}

INSTANTIATE_TEST_SUITE_P(Types, KptrDeleteTest, ::testing::Values(MapType::Hash, MapType::LruHash, MapType::Rbtree),
                         [](const auto& info) { return std::string(map_type_name(static_cast<uint32_t>(info.param))); });

TEST(KptrRelease, ArrayDeleteIsInvalidAndReleasesNothing) {
  FakePacket packet;
  auto map = make_kptr_map(MapType::Array, 2);
  insert_holding(*map, 0, &packet, nullptr);
  const uint32_t key = 0;
  EXPECT_EQ(map->erase(&key), -EINVAL);
  EXPECT_EQ(packet.releases, 0);
}

TEST(KptrRelease, RbtreePopReleasesAndCopiesOutWithoutReferences) {
  std::array<FakePacket, 3> packets;
  auto map = std::dynamic_pointer_cast<RbtreeMap>(make_kptr_map(MapType::Rbtree, 4));
  insert_holding(*map, 5, &packets[0], &packets[1]);
  insert_holding(*map, 9, &packets[2], nullptr);
  uint32_t key = 0;
  Value out{};
  ASSERT_EQ(map->pop_with_key(&key, &out), 0);
  EXPECT_EQ(__builtin_bswap32(key), 5u);
  EXPECT_EQ(out.data, 1005u);
  EXPECT_EQ(out.first, nullptr);
  EXPECT_EQ(out.second, nullptr);
  EXPECT_EQ(packets[0].releases, 1);
  EXPECT_EQ(packets[1].releases, 1);
  ASSERT_EQ(map->peek(&out), 0);  // peek copies out and keeps the reference
  EXPECT_EQ(out.data, 1009u);
  EXPECT_EQ(out.first, nullptr);
  EXPECT_EQ(packets[2].releases, 0);
  ASSERT_EQ(map->pop_with_key(nullptr, nullptr), 0);
  EXPECT_EQ(packets[2].releases, 1);
  EXPECT_EQ(map->size(), 0u);
}

TEST(KptrRelease, RbtreeForEachDeletionReleasesOnce) {
  std::array<FakePacket, 4> packets;
  auto map = make_kptr_map(MapType::Rbtree, 4);
  for (uint32_t i = 0; i < 4; ++i) insert_holding(*map, i, &packets[i], nullptr);
  map->for_each([&](const void* key, void*) { return map->erase(key); });
  for (const FakePacket& packet : packets) EXPECT_EQ(packet.releases, 1);
}

TEST(KptrRelease, LruEvictionReleasesTheEvictedReferences) {
  std::array<FakePacket, 3> packets;
  auto map = make_kptr_map(MapType::LruHash, 2);
  insert_holding(*map, 0, &packets[0], &packets[1]);
  insert_holding(*map, 1, &packets[2], nullptr);
  const uint32_t key = 2;
  const Value value{};
  ASSERT_EQ(map->update(&key, &value, kBpfAny), 0);  // evicts key 0
  EXPECT_EQ(packets[0].releases, 1);
  EXPECT_EQ(packets[1].releases, 1);
  EXPECT_EQ(packets[2].releases, 0);
  const uint32_t zero = 0;
  EXPECT_EQ(map->lookup(&zero), nullptr);
  map.reset();
  EXPECT_EQ(packets[2].releases, 1);
}

}  // namespace
}  // namespace bpfq::maps
