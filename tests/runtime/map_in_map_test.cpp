// ARRAY_OF_MAPS, HASH_OF_MAPS, RBTREE_OF_MAPS: inner maps from user space, used by programs
// through the pointer lookup/pop returns; map pointers that are not maps fail cleanly.
#include <gtest/gtest.h>

#include <cerrno>

#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/runtime/helpers.hpp>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

class RuntimeMapInMap : public ::testing::Test {
 protected:
  maps::MapOfMaps& outer(std::string_view name) { return dynamic_cast<maps::MapOfMaps&>(obj.map(name)); }
  exec::RunResult go(std::string_view section, Io& io) { return run(obj, section, io, env); }

  Object obj = Object::open(test_object("runtime_map_in_map"));
  RunEnv env;
};

TEST_F(RuntimeMapInMap, ArrayAndHashOfMapsHandInnerMapsToHelpers) {
  std::shared_ptr<maps::Map> first = obj.create_inner_map("by_index");
  std::shared_ptr<maps::Map> second = obj.create_inner_map("by_index");
  std::shared_ptr<maps::Map> by_id = obj.create_inner_map("by_id");
  const uint32_t zero = 0, one = 1;
  ASSERT_EQ(outer("by_index").set_inner(&zero, first), 0);
  ASSERT_EQ(outer("by_index").set_inner(&one, second), 0);
  ASSERT_EQ(outer("by_id").set_inner(&one, by_id), 0);

  Io io{.a = 1, .b = 5, .c = 2};
  exec::RunResult r = go("mim/count", io);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0u);
  EXPECT_EQ(io.out[0], 5);
  EXPECT_EQ(io.out[1], 0);
  const uint32_t two = 2;
  uint64_t v = 0;
  ASSERT_EQ(second->lookup_copy(&two, &v), 0);
  EXPECT_EQ(v, 5u);
  ASSERT_EQ(first->lookup_copy(&two, &v), 0);
  EXPECT_EQ(v, 0u);
  ASSERT_EQ(by_id->lookup_copy(&two, &v), 0);
  EXPECT_EQ(v, 500u);

  io = Io{.a = 0, .b = 1, .c = 2};  // by_id has nothing at 0
  EXPECT_EQ(go("mim/count", io).r0, 3u);
  ASSERT_EQ(first->lookup_copy(&two, &v), 0);
  EXPECT_EQ(v, 1u);
}

TEST_F(RuntimeMapInMap, RbtreeOfMapsPopAndReinsertAFlow) {
  auto queue = [&](std::initializer_list<uint64_t> packets) {
    std::shared_ptr<maps::Map> q = obj.create_inner_map("flows");
    for (uint64_t p : packets) EXPECT_EQ(q->push(&p, maps::kBpfAny), 0);
    return q;
  };
  std::shared_ptr<maps::Map> a = queue({1, 2}), b = queue({10});
  const uint64_t k100 = __builtin_bswap64(100), k200 = __builtin_bswap64(200);
  ASSERT_EQ(outer("flows").set_inner(&k100, a), 0);
  ASSERT_EQ(outer("flows").set_inner(&k200, b), 0);

  Io io{.b = 300};
  exec::RunResult r = go("mim/dequeue", io);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 0);
  EXPECT_EQ(io.out[2], 1);  // flow a's first packet
  EXPECT_EQ(io.out[3], 0);  // a re-inserted at 300
  const uint64_t k300 = __builtin_bswap64(300);
  EXPECT_EQ(outer("flows").inner(&k100), nullptr);
  EXPECT_EQ(outer("flows").inner(&k300), a);
  EXPECT_EQ(a->size(), 1u);

  io = Io{.b = 400};
  r = go("mim/dequeue", io);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[2], 10);
  EXPECT_EQ(io.out[3], -1);  // b ran empty and was not re-inserted
  EXPECT_EQ(outer("flows").size(), 1u);
  obj.release_retired();
  EXPECT_EQ(b->size(), 0u);  // still ours
}

TEST_F(RuntimeMapInMap, AForgedMapPointerEndsTheRunCleanly) {
  Io io;
  io.a = reinterpret_cast<uint64_t>(&io);  // memory, but no map
  const exec::RunResult r = go("mim/forged", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_map_lookup_elem: map argument is not a map of this program");
}

TEST_F(RuntimeMapInMap, InnerMapsAreValidOnlyOnceHandedOutAndWhileAlive) {
  std::shared_ptr<maps::Map> inner = obj.create_inner_map("by_index");
  const uint64_t address = reinterpret_cast<uint64_t>(inner.get());
  EXPECT_EQ(program_map(address), nullptr);  // never given to a program
  const uint32_t zero = 0;
  ASSERT_EQ(outer("by_index").set_inner(&zero, inner), 0);
  ASSERT_EQ(outer("by_id").set_inner(&zero, obj.create_inner_map("by_id")), 0);
  Io io{.a = 0, .b = 1, .c = 0};
  ASSERT_EQ(go("mim/count", io).r0, 0u);
  EXPECT_EQ(program_map(address), inner.get());  // handed out by the lookup

  ASSERT_EQ(outer("by_index").erase(&zero), 0);
  obj.release_retired();
  inner.reset();  // destroyed now
  EXPECT_EQ(program_map(address), nullptr);
  io = Io{.a = address};
  const exec::RunResult r = go("mim/forged", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault) << r.message();
}

TEST_F(RuntimeMapInMap, InsertingANonMapIntoAMapOfMapsFails) {
  Io io{.a = 0x1234};
  const exec::RunResult r = go("mim/bad_insert", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_map_update_elem: value is not a map pointer (map-of-maps)");
  EXPECT_EQ(obj.map("flows").size(), 0u);
}

TEST_F(RuntimeMapInMap, CreateInnerMapNeedsAMapOfMaps) {
  Object plain = Object::open(test_object("runtime_ringbuf"));
  try {
    plain.create_inner_map("events");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "map 'events' is not a map-of-maps");
  }
}

}  // namespace
}  // namespace bpfq::runtime::test
