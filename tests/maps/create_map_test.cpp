// create_map(): the map each type builds, and the errors a bad spec gets.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/maps/pifo_map.hpp>
#include <bpfq/maps/rbtree_map.hpp>
#include <bpfq/maps/ringbuf_map.hpp>

#include <string>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

// The Error create_map throws for spec: "map 'NAME': reason" and its hint.
std::pair<std::string, std::string> rejection(const MapSpec& spec) {
  try {
    create_map(spec);
  } catch (const Error& error) {
    return {error.reason(), error.hint()};
  }
  return {"accepted", ""};
}

std::string reason(const MapSpec& spec) { return rejection(spec).first; }

MapSpec pifo_spec(uint64_t extra) {
  MapSpec spec = make_spec(MapType::Pifo, 4, 8, 16, "pq");
  spec.extra = extra;
  return spec;
}

MapSpec outer_spec(MapType type, std::shared_ptr<MapSpec> inner) {
  MapSpec spec = make_spec(type, 4, 4, 4, "outer");
  spec.inner = std::move(inner);
  return spec;
}

TEST(CreateMap, BuildsEachTypeWithItsName) {
  struct Case {
    MapType type;
    uint32_t key_size, value_size, max_entries;
    const char* name;
  };
  const Case cases[] = {{MapType::Hash, 4, 4, 4, "HASH"},
                        {MapType::Array, 4, 4, 4, "ARRAY"},
                        {MapType::PercpuArray, 4, 4, 4, "PERCPU_ARRAY"},
                        {MapType::LruHash, 4, 4, 4, "LRU_HASH"},
                        {MapType::Queue, 0, 4, 4, "QUEUE"},
                        {MapType::Stack, 0, 4, 4, "STACK"},
                        {MapType::Ringbuf, 0, 0, 4096, "RINGBUF"},
                        {MapType::Rbtree, 16, 8, 4, "RBTREE"}};
  for (const Case& c : cases) {
    auto map = create_map(make_spec(c.type, c.key_size, c.value_size, c.max_entries, c.name));
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(map->type(), c.type);
    EXPECT_EQ(map->name(), c.name);
    EXPECT_STREQ(map_type_name(static_cast<uint32_t>(c.type)), c.name);
  }
  EXPECT_NE(std::dynamic_pointer_cast<RbtreeMap>(make(MapType::Rbtree, 3, 1, 1)), nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<RingbufMap>(make(MapType::Ringbuf, 0, 0, 4096)), nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<PifoMap>(create_map(pifo_spec(1))), nullptr);
  auto inner = std::make_shared<MapSpec>(make_spec(MapType::Hash, 4, 4, 4));
  for (MapType type : {MapType::ArrayOfMaps, MapType::HashOfMaps, MapType::RbtreeOfMaps}) {
    EXPECT_NE(std::dynamic_pointer_cast<MapOfMaps>(create_map(outer_spec(type, inner))), nullptr);
  }
  EXPECT_STREQ(map_type_name(BPF_MAP_TYPE_RBTREE), "RBTREE");
  EXPECT_STREQ(map_type_name(BPF_MAP_TYPE_RBTREE_OF_MAPS), "RBTREE_OF_MAPS");
  EXPECT_STREQ(map_type_name(BPF_MAP_TYPE_PIFO), "PIFO");
  EXPECT_EQ(map_type_name(5), nullptr);
}

TEST(CreateMap, RejectsUnknownTypes) {
  MapSpec spec = make_spec(MapType::Hash, 4, 4, 4, "flows");
  spec.type = 32;  // the seed's RBTREE number, upstream's CGRP_STORAGE
  const auto [what, hint] = rejection(spec);
  EXPECT_EQ(what, "map 'flows': unknown map type 32");
  EXPECT_NE(hint.find("RBTREE (1000)"), std::string::npos) << hint;
}

TEST(CreateMap, RejectsZeroAndOversizedSizes) {
  EXPECT_EQ(reason(make_spec(MapType::Hash, 4, 4, 0)), "map 'm': max_entries is 0");
  EXPECT_EQ(rejection(make_spec(MapType::Ringbuf, 0, 0, 0)).second, "a RINGBUF's max_entries is its size in bytes");
  EXPECT_EQ(reason(make_spec(MapType::Hash, 0, 4, 4)), "map 'm': key_size 0: HASH maps need a key");
  EXPECT_EQ(reason(make_spec(MapType::Rbtree, 8, 0, 4)), "map 'm': value_size 0: RBTREE maps need a value");
  EXPECT_EQ(reason(make_spec(MapType::Array, 4, 0, 4)), "map 'm': value_size 0: ARRAY maps need a value");
  EXPECT_EQ(reason(make_spec(MapType::Queue, 0, 0, 4)), "map 'm': value_size 0: QUEUE maps need a value");
  EXPECT_EQ(reason(make_spec(MapType::Rbtree, 513, 4, 4)), "map 'm': key_size 513 exceeds 512 bytes");
  EXPECT_EQ(reason(make_spec(MapType::Array, 8, 4, 4)), "map 'm': key_size 8 is invalid for ARRAY (must be 4)");
  EXPECT_EQ(reason(make_spec(MapType::Stack, 4, 4, 4)), "map 'm': key_size 4 is invalid for STACK (must be 0)");
  EXPECT_EQ(reason(make_spec(MapType::Hash, 4, (64u << 20) + 1, 4)), "map 'm': value_size 67108865 exceeds the 64 MiB limit");
  EXPECT_EQ(reason(make_spec(MapType::Array, 4, 1u << 20, 8192)),
            "map 'm': max_entries 8192 x 1048576 bytes per element needs 8192 MiB, over the 4096 MiB limit");
}

TEST(CreateMap, RejectsBadRingbufSizes) {
  EXPECT_EQ(reason(make_spec(MapType::Ringbuf, 0, 0, 6000)),
            "map 'm': RINGBUF size 6000 is not a power of two multiple of 4096");
  EXPECT_EQ(reason(make_spec(MapType::Ringbuf, 0, 0, 2048)),
            "map 'm': RINGBUF size 2048 is not a power of two multiple of 4096");
  EXPECT_EQ(reason(make_spec(MapType::Ringbuf, 4, 0, 4096)),
            "map 'm': RINGBUF maps have no keys or values (key_size and value_size must be 0)");
}

TEST(CreateMap, RejectsBadPifoRanges) {
  EXPECT_EQ(reason(pifo_spec(1000)), "map 'pq': PIFO priority range 1000 (map_extra) is not a power of two");
  EXPECT_EQ(rejection(pifo_spec(1000)).second,
            "set map_extra to the number of distinct ranks the queue orders exactly, e.g. 1 << 16");
  EXPECT_EQ(reason(pifo_spec(0)), "map 'pq': PIFO priority range 0 (map_extra) is not a power of two");
  EXPECT_EQ(reason(pifo_spec(1u << 25)), "map 'pq': PIFO priority range 33554432 exceeds 2^24");
  EXPECT_EQ(reason(pifo_spec(uint64_t{1} << 32 | 8)),
            "map 'pq': PIFO map_extra has bits set above the 32-bit priority range");
  MapSpec wrong_key = pifo_spec(8);
  wrong_key.key_size = 8;
  EXPECT_EQ(reason(wrong_key), "map 'pq': key_size 8 is invalid for PIFO (must be 4)");
  EXPECT_EQ(reason(pifo_spec(1u << 24)), "accepted");
}

TEST(CreateMap, RejectsKptrFieldsWhereNoReferenceCanBeHeld) {
  MapSpec queue = make_spec(MapType::Queue, 0, 16, 4);
  queue.kptr_offsets = {8};
  EXPECT_EQ(reason(queue), "map 'm': kptr fields are not supported in QUEUE maps");
  MapSpec pifo = pifo_spec(8);
  pifo.kptr_offsets = {0};
  EXPECT_EQ(reason(pifo), "map 'pq': kptr fields are not supported in PIFO maps");
  MapSpec misaligned = make_spec(MapType::Hash, 4, 16, 4);
  misaligned.kptr_offsets = {4};
  EXPECT_EQ(reason(misaligned), "map 'm': kptr field at offset 4 does not fit an aligned 8-byte pointer in a 16-byte value");
  MapSpec outside = make_spec(MapType::Rbtree, 4, 16, 4);
  outside.kptr_offsets = {16};
  EXPECT_EQ(reason(outside), "map 'm': kptr field at offset 16 does not fit an aligned 8-byte pointer in a 16-byte value");
  MapSpec twice = make_spec(MapType::Array, 4, 16, 4);
  twice.kptr_offsets = {8, 8};
  EXPECT_EQ(reason(twice), "map 'm': kptr field at offset 8 is listed twice");
}

TEST(CreateMap, RejectsBadInnerMapTemplates) {
  EXPECT_EQ(reason(outer_spec(MapType::HashOfMaps, nullptr)), "map 'outer': HASH_OF_MAPS needs an inner map template");
  auto nested = std::make_shared<MapSpec>(make_spec(MapType::ArrayOfMaps, 4, 4, 4));
  EXPECT_EQ(reason(outer_spec(MapType::ArrayOfMaps, nested)), "map 'outer': inner map type 12 cannot be nested");
  auto unknown = std::make_shared<MapSpec>(make_spec(MapType::Hash, 4, 4, 4));
  unknown->type = 77;
  EXPECT_EQ(reason(outer_spec(MapType::RbtreeOfMaps, unknown)), "map 'outer': inner map type 77 cannot be nested");
  MapSpec wide = outer_spec(MapType::RbtreeOfMaps, std::make_shared<MapSpec>(make_spec(MapType::Queue, 0, 4, 4)));
  wide.value_size = 16;
  EXPECT_EQ(reason(wide), "map 'outer': value_size 16 is invalid for RBTREE_OF_MAPS (must be 4 or 8)");
}

TEST(CreateMap, RejectsInitialValuesOutsideArrays) {
  MapSpec hash = make_spec(MapType::Hash, 4, 4, 4);
  hash.initial_value = {1};
  EXPECT_EQ(reason(hash), "map 'm': an initial value is only meaningful for ARRAY maps, not HASH");
  MapSpec long_value = make_spec(MapType::Array, 4, 2, 1);
  long_value.initial_value = {1, 2, 3};
  EXPECT_EQ(reason(long_value), "map 'm': initial value of 3 bytes exceeds value_size 2");
}

}  // namespace
}  // namespace bpfq::maps
