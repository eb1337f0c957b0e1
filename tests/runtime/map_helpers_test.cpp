// bpf_map_* helpers on every plain map type, checked from both sides: what the program did is
// read back from user space, and what user space wrote is read by the program.
#include <gtest/gtest.h>

#include <cerrno>

#include <bpfq/maps/pifo_map.hpp>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

struct Flow {  // struct flow in runtime_maps.bpf.c
  uint64_t bytes;
  uint32_t packets;
  uint32_t mark;
};

class RuntimeMaps : public ::testing::Test {
 protected:
  exec::RunResult go(std::string_view section, Io& io) { return run(obj, section, io, env); }

  Object obj = Object::open(test_object("runtime_maps"));
  RunEnv env;
};

TEST_F(RuntimeMaps, Hash) {
  const uint32_t user_key = 77;
  const Flow user_flow{1000, 5, 9};
  ASSERT_EQ(obj.map("flows").update(&user_key, &user_flow, maps::kBpfAny), 0);

  Io io{.a = 3, .b = 1500, .c = 2, .d = 0xabc};
  const exec::RunResult r = go("maps/hash", io);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], -EEXIST);
  EXPECT_EQ(io.out[2], 1000);  // read what user space wrote
  EXPECT_EQ(io.out[3], -ENOENT);
  EXPECT_EQ(io.out[4], 1);

  const uint32_t key = 3;
  Flow got{};
  ASSERT_EQ(obj.map("flows").lookup_copy(&key, &got), 0);
  const Flow want{1500, 2, 0xabc};
  EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0);
  ASSERT_EQ(obj.map("flows").lookup_copy(&user_key, &got), 0);
  EXPECT_EQ(got.packets, 6u);  // incremented in place through the looked-up pointer
  EXPECT_EQ(obj.map("flows").size(), 2u);

  io = Io{.a = 3};
  EXPECT_EQ(go("maps/hash_delete", io).r0, 0u);
  EXPECT_EQ(obj.map("flows").lookup_copy(&key, &got), -ENOENT);
  EXPECT_EQ(static_cast<int64_t>(go("maps/hash_delete", io).r0), -ENOENT);
}

TEST_F(RuntimeMaps, Array) {
  const uint32_t one = 1;
  const uint64_t forty = 40;
  ASSERT_EQ(obj.map("slots").update(&one, &forty, maps::kBpfAny), 0);
  Io io{.a = 1, .b = 2};
  const exec::RunResult r = go("maps/array", io);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0u);
  EXPECT_EQ(io.out[0], 42);
  EXPECT_EQ(io.out[1], 0);
  EXPECT_EQ(io.out[2], -E2BIG);
  EXPECT_EQ(io.out[3], 1);
  EXPECT_EQ(io.out[4], -EINVAL);  // array elements cannot be deleted

  uint64_t v = 0;
  ASSERT_EQ(obj.map("slots").lookup_copy(&one, &v), 0);
  EXPECT_EQ(v, 42u);
  const uint32_t three = 3;
  ASSERT_EQ(obj.map("slots").lookup_copy(&three, &v), 0);
  EXPECT_EQ(v, 0x1122334455667788u);

  io = Io{.a = 4};  // past the end: lookup returns NULL
  EXPECT_EQ(go("maps/array", io).r0, 1u);
}

TEST_F(RuntimeMaps, PercpuArrayHasOneCpu) {
  Io io{.a = 5};
  ASSERT_TRUE(go("maps/percpu_array", io).ok());
  EXPECT_EQ(io.out[0], 5);
  EXPECT_EQ(io.out[1], 0);  // bpf_get_smp_processor_id
  io = Io{.a = 6};
  ASSERT_TRUE(go("maps/percpu_array", io).ok());
  EXPECT_EQ(io.out[0], 11);
  const uint32_t one = 1;
  uint64_t v = 0;
  ASSERT_EQ(obj.map("counters").lookup_copy(&one, &v), 0);
  EXPECT_EQ(v, 11u);
}

TEST_F(RuntimeMaps, LruHashEvictsTheLeastRecentlyUsed) {
  Io io;
  ASSERT_TRUE(go("maps/lru_hash", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 0);
  EXPECT_EQ(io.out[2], 10);
  EXPECT_EQ(io.out[3], 0);
  EXPECT_EQ(io.out[4], 1);  // key 2 was evicted
  uint32_t v = 0;
  for (uint32_t k : {1u, 3u}) {
    ASSERT_EQ(obj.map("recent").lookup_copy(&k, &v), 0) << k;
    EXPECT_EQ(v, k * 10);
  }
  const uint32_t two = 2;
  EXPECT_EQ(obj.map("recent").lookup_copy(&two, &v), -ENOENT);
}

TEST_F(RuntimeMaps, QueueIsFifoOnBothSides) {
  Io io{.a = 1, .b = 2, .c = 3};
  ASSERT_TRUE(go("maps/queue", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 0);
  EXPECT_EQ(io.out[2], 1);
  EXPECT_EQ(io.out[3], 2);
  maps::Map& q = obj.map("fifo");
  uint32_t v = 0;
  ASSERT_EQ(q.pop(&v), 0);
  EXPECT_EQ(v, 2u);
  ASSERT_EQ(q.pop(&v), 0);
  EXPECT_EQ(v, 3u);
  EXPECT_EQ(q.pop(&v), -ENOENT);

  const uint32_t nine = 9;
  ASSERT_EQ(q.push(&nine, maps::kBpfAny), 0);
  io = Io{};
  ASSERT_TRUE(go("maps/queue_pop", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 9);
  ASSERT_TRUE(go("maps/queue_pop", io).ok());
  EXPECT_EQ(io.out[0], -ENOENT);
}

TEST_F(RuntimeMaps, StackIsLifo) {
  Io io{.a = 1, .b = 2, .c = 3};
  ASSERT_TRUE(go("maps/stack", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[2], 3);
  EXPECT_EQ(io.out[3], 2);
  uint32_t v = 0;
  ASSERT_EQ(obj.map("lifo").pop(&v), 0);
  EXPECT_EQ(v, 2u);
  ASSERT_EQ(obj.map("lifo").pop(&v), 0);
  EXPECT_EQ(v, 1u);
}

TEST_F(RuntimeMaps, RbtreeOrdersByKeyBytes) {
  Io io{.a = 30, .b = 10, .c = 20};
  ASSERT_TRUE(go("maps/rbtree", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 0);
  EXPECT_EQ(io.out[2], 0);
  EXPECT_EQ(io.out[3], 0);
  EXPECT_EQ(io.out[4], 100);  // rank 10 popped first

  maps::Map& tree = obj.map("ordered");
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  uint64_t key = 0, next = 0;
  for (const void* prev = nullptr; tree.get_next_key(prev, &next) == 0; prev = &key) {
    key = next;
    uint64_t value = 0;
    ASSERT_EQ(tree.lookup_copy(&key, &value), 0);
    seen.emplace_back(__builtin_bswap64(key), value);
  }
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, uint64_t>>{{20, 200}, {30, 300}}));

  const uint64_t five = __builtin_bswap64(5), fifty_five = 55;
  ASSERT_EQ(tree.update(&five, &fifty_five, maps::kBpfNoExist), 0);
  io = Io{};
  ASSERT_TRUE(go("maps/rbtree_pop", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 55);
  EXPECT_EQ(tree.size(), 2u);
}

TEST_F(RuntimeMaps, PifoPopsLowestRankFirstInFirstOut) {
  maps::Map& pifo = obj.map("pifo");
  const uint32_t seven = 7;
  ASSERT_EQ(pifo.push(&seven, 3), 0);  // user space: value 7 at rank 3
  Io io{.a = 8, .b = 1};
  ASSERT_EQ(go("maps/pifo_push", io).r0, 0u);
  io = Io{.a = 9, .b = 3};
  ASSERT_EQ(go("maps/pifo_push", io).r0, 0u);

  io = Io{.a = 3};
  ASSERT_TRUE(go("maps/pifo_pop", io).ok());
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 8);
  EXPECT_EQ(io.out[2], 2);  // two elements left at rank 3
  ASSERT_TRUE(go("maps/pifo_pop", io).ok());
  EXPECT_EQ(io.out[1], 7);
  EXPECT_EQ(io.out[2], 1);

  uint32_t v = 0;
  uint64_t rank = 0;
  ASSERT_EQ(static_cast<maps::PifoMap&>(pifo).pop_with_rank(&v, &rank), 0);
  EXPECT_EQ(v, 9u);
  EXPECT_EQ(rank, 3u);
}

}  // namespace
}  // namespace bpfq::runtime::test
