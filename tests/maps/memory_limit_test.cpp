// Map memory limits (issue 11): a map's size when full is estimated before anything is
// allocated; one map over 4 GiB, or live maps over 8 GiB together, are errors naming the map
// and the sizes instead of a std::bad_alloc abort.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/maps/map.hpp>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::string reason_of(const MapSpec& spec) {
  try {
    create_map(spec);
  } catch (const Error& error) {
    return error.reason();
  }
  return "accepted";
}

TEST(MapMemory, OneMapIsCountedFullWhateverItAllocatesFirst) {
  // A hash map allocates as it fills; counted full, 2^28 entries of 48 bytes exceed the limit.
  EXPECT_EQ(reason_of(make_spec(MapType::Hash, 4, 8, 1u << 28, "flows")),
            "map 'flows': max_entries 268435456 x 48 bytes per element needs 12320 MiB, over the 4096 MiB limit");
  EXPECT_EQ(reason_of(make_spec(MapType::Rbtree, 8, 8, 1u << 26, "tree")),
            "map 'tree': max_entries 67108864 x 80 bytes per element needs 5120 MiB, over the 4096 MiB limit");
  EXPECT_EQ(reason_of(make_spec(MapType::Queue, 0, 256, 1u << 25, "q")),
            "map 'q': max_entries 33554432 x 256 bytes per element needs 8192 MiB, over the 4096 MiB limit");
  EXPECT_EQ(map_memory_in_use(), 0u) << "a refused map charges nothing";
}

TEST(MapMemory, LiveMapsShareOneTotalThatDestructionGivesBack) {
  ASSERT_EQ(map_memory_in_use(), 0u);
  // 2^26 entries x 48 bytes + 2^22 bucket heads: 3104 MiB each when full, 48 MiB allocated now.
  const MapSpec big = make_spec(MapType::Hash, 4, 8, 1u << 26, "big");
  const uint64_t each = uint64_t{3104} << 20;
  std::shared_ptr<Map> a = create_map(big);
  EXPECT_EQ(map_memory_in_use(), each);
  std::shared_ptr<Map> b = create_map(big);
  EXPECT_EQ(map_memory_in_use(), 2 * each);
  try {
    create_map(big);
    FAIL() << "a third map fits";
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "map 'big': needs 3104 MiB when full, but the live maps already take 6208 of the 8192 MiB allowed");
    EXPECT_EQ(e.hint(), "lower max_entries or value_size, or free other maps first");
  }
  EXPECT_EQ(map_memory_in_use(), 2 * each) << "the refused map charged nothing";
  a.reset();
  EXPECT_EQ(map_memory_in_use(), each);
  std::shared_ptr<Map> c = create_map(big);  // room again
  b.reset();
  c.reset();
  EXPECT_EQ(map_memory_in_use(), 0u);
}

TEST(MapMemory, SmallMapsAreCountedToo) {
  ASSERT_EQ(map_memory_in_use(), 0u);
  std::shared_ptr<Map> array = create_map(make_spec(MapType::Array, 4, 12, 100, "a"));
  EXPECT_EQ(map_memory_in_use(), 1600u);  // 100 values of 12 bytes rounded to 16
  array.reset();
  EXPECT_EQ(map_memory_in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::maps
