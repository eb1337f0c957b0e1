// The ordered maps' B+ tree (src/maps/ordered_store.hpp), white-box: small fanouts so that a few
// hundred keys build trees several levels deep, every structural invariant checked after every
// operation against a std::map of the same keys, for each key order.
#include <gtest/gtest.h>

#include "ordered_store.hpp"

#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace bpfq::maps::detail {
namespace {

using Bytes = std::vector<uint8_t>;

// Keys drawn from a small space (so inserts hit existing keys and removals find them), with
// bytes >= 0x80 and shared prefixes, so the order really is memcmp's.
Bytes random_key(std::mt19937_64& random, uint32_t key_size, uint32_t distinct) {
  Bytes key(key_size, 0x80);
  uint64_t bits = random() % distinct * 0x9e3779b97f4a7c15ull;
  for (uint32_t i = key_size; i-- > 0 && bits != 0; bits >>= 8) key[i] = static_cast<uint8_t>(bits);
  return key;
}

template <class Store>
void expect_same_contents(const Store& store, const std::map<Bytes, uint64_t>& model, uint32_t key_size) {
  auto expected = model.begin();
  store.each([&](Element* element) {
    ASSERT_NE(expected, model.end());
    EXPECT_EQ(Bytes(static_cast<uint8_t*>(store.key_of(element)), static_cast<uint8_t*>(store.key_of(element)) + key_size),
              expected->first);
    uint64_t value;
    std::memcpy(&value, store.value_of(element), sizeof value);
    EXPECT_EQ(value, expected->second);
    ++expected;
  });
  EXPECT_EQ(expected, model.end());
}

// Random inserts, removals, pops and lookups; the invariants and the model after each one.
// Returns (in tallest) the most inner levels the tree had.
template <class Store, class Order>
void run_against_model(Order order, uint32_t key_size, uint64_t seed, uint32_t& tallest) {
  constexpr uint32_t kMaxEntries = 600, kDistinct = 900;
  Store store(order, key_size, sizeof(uint64_t), kMaxEntries);
  std::map<Bytes, uint64_t> model;
  std::mt19937_64 random(seed);
  tallest = 0;
  auto remove = [&](const Bytes& key, int op) {
    auto position = store.locate(key.data());
    ASSERT_EQ(position.found != nullptr, model.count(key) == 1) << "op " << op;
    if (position.found != nullptr) {
      store.remove_at(position);
      model.erase(key);
    }
  };
  for (int op = 0; op < 24000; ++op) {
    const Bytes key = random_key(random, key_size, kDistinct);
    // Phases grow the tree with random keys, then shrink it from its high end, grow it again,
    // and shrink it from its low end (a queue's pops): every height and every neighbour
    // configuration of merges and rebalancing on both sides comes up.
    const int phase = (op / 3000) % 4;
    const bool growing = phase % 2 == 0;
    const uint64_t dice = random() % 10;
    if (dice < (growing ? 6u : 3u)) {
      auto position = store.locate(key.data());
      ASSERT_EQ(position.found != nullptr, model.count(key) == 1) << "op " << op;
      if (position.found == nullptr && model.size() < kMaxEntries) {
        Element* element = store.insert_at(position, key.data());
        ASSERT_NE(element, nullptr);
        const uint64_t value = random();
        std::memcpy(store.value_of(element), &value, sizeof value);
        model[key] = value;
      }
    } else if (phase == 1 && !model.empty()) {  // one of the ten highest keys
      const Bytes high = std::prev(model.end(), static_cast<long>(1 + random() % std::min<size_t>(10, model.size())))->first;
      remove(high, op);
    } else if (dice < 8 || phase != 3) {
      remove(key, op);
    } else {
      auto position = store.first_position();
      ASSERT_EQ(position.found == nullptr, model.empty());
      if (position.found != nullptr) {
        ASSERT_EQ(Bytes(static_cast<uint8_t*>(store.key_of(position.found)),
                        static_cast<uint8_t*>(store.key_of(position.found)) + key_size),
                  model.begin()->first);
        store.remove_at(position);
        model.erase(model.begin());
      }
    }
    ASSERT_EQ(store.check(), "") << "op " << op;
    tallest = std::max(tallest, store.height());
    if (op % 1000 == 0) expect_same_contents(store, model, key_size);
  }
  expect_same_contents(store, model, key_size);
  while (true) {
    auto position = store.first_position();
    if (position.found == nullptr) break;
    store.remove_at(position);
    ASSERT_EQ(store.check(), "");
  }
  EXPECT_EQ(store.height(), 0u);
}

template <class Order>
using SmallNodes = OrderedStore<Order, 8, 8>;

// 600 keys in leaves and inner nodes of 8: three inner levels or more.
TEST(OrderedStore, SmallNodesMatchAStdMapForEveryKeyOrder) {
  using U128 = unsigned __int128;
  uint32_t tallest[6];
  run_against_model<SmallNodes<IntegerOrder<uint32_t>>>(IntegerOrder<uint32_t>{3}, 3, 1, tallest[0]);
  run_against_model<SmallNodes<IntegerOrder<uint32_t>>>(IntegerOrder<uint32_t>{4}, 4, 2, tallest[1]);
  run_against_model<SmallNodes<IntegerOrder<uint64_t>>>(IntegerOrder<uint64_t>{8}, 8, 3, tallest[2]);
  run_against_model<SmallNodes<IntegerOrder<U128>>>(IntegerOrder<U128>{12}, 12, 4, tallest[3]);
  run_against_model<SmallNodes<IntegerOrder<U128>>>(IntegerOrder<U128>{16}, 16, 5, tallest[4]);
  run_against_model<SmallNodes<BytewiseOrder>>(BytewiseOrder{40}, 40, 6, tallest[5]);
  for (uint32_t height : tallest) EXPECT_GE(height, 3u);
}

// The maps' node sizes: 600 keys make a root over leaves.
TEST(OrderedStore, ProductionNodesMatchAStdMap) {
  using U128 = unsigned __int128;
  uint32_t tallest[2];
  run_against_model<OrderedStore<IntegerOrder<U128>>>(IntegerOrder<U128>{16}, 16, 7, tallest[0]);
  run_against_model<OrderedStore<BytewiseOrder>>(BytewiseOrder{20}, 20, 8, tallest[1]);
  for (uint32_t height : tallest) EXPECT_EQ(height, 1u);
}

// A value's address never changes while its element exists, however much the tree around it
// splits, merges and rebalances: programs hold map value pointers.
TEST(OrderedStore, ValuesKeepTheirAddressThroughRebalancing) {
  using Order = IntegerOrder<uint64_t>;
  OrderedStore<Order, 8, 8> store(Order{8}, 8, sizeof(uint64_t), 2000);
  auto insert = [&](uint64_t k) {
    const uint64_t big_endian = __builtin_bswap64(k);
    auto position = store.locate(&big_endian);
    Element* element = store.insert_at(position, &big_endian);
    std::memcpy(store.value_of(element), &k, sizeof k);
    return store.value_of(element);
  };
  std::map<uint64_t, void*> addresses;
  for (uint64_t k = 0; k < 1000; ++k) addresses[k * 2] = insert(k * 2);
  std::mt19937_64 random(11);
  for (int round = 0; round < 3000; ++round) {  // churn: odd keys come and go, evens stay
    const uint64_t k = (random() % 1000) * 2 + 1;
    const uint64_t big_endian = __builtin_bswap64(k);
    auto position = store.locate(&big_endian);
    if (position.found == nullptr) {
      insert(k);
    } else {
      store.remove_at(position);
    }
  }
  ASSERT_EQ(store.check(), "");
  for (const auto& [k, address] : addresses) {
    const uint64_t big_endian = __builtin_bswap64(k);
    Element* element = store.find(&big_endian);
    ASSERT_NE(element, nullptr);
    EXPECT_EQ(store.value_of(element), address) << "key " << k;
    EXPECT_EQ(*static_cast<uint64_t*>(address), k);
  }
}

// A visit that removes the element it visits, or inserts after it, is followed by the rest of
// the keys in order: the walk resumes after the visited key.
TEST(OrderedStore, AWalkResumesAfterTheVisitedKeyWhenTheTreeChanges) {
  using Order = IntegerOrder<uint32_t>;
  OrderedStore<Order, 8, 8> store(Order{4}, 4, sizeof(uint64_t), 1000);
  auto key_of = [](uint32_t k) { return __builtin_bswap32(k); };
  for (uint32_t k = 0; k < 200; k += 2) {
    const uint32_t key = key_of(k);
    auto position = store.locate(&key);
    store.insert_at(position, &key);
  }
  std::vector<uint32_t> visited;
  store.for_each_element([&](Element* element) {
    uint32_t key;
    std::memcpy(&key, store.key_of(element), sizeof key);
    const uint32_t k = __builtin_bswap32(key);
    visited.push_back(k);
    if (k % 2 == 1) return 0;  // one this walk inserted
    if (k % 4 == 0) {  // remove this one
      auto position = store.locate(&key);
      store.remove_at(position);
    } else if (k < 100) {  // insert the odd key after it
      const uint32_t odd = key_of(k + 1);
      auto position = store.locate(&odd);
      store.insert_at(position, &odd);
    }
    return 0;
  });
  std::vector<uint32_t> expected;
  for (uint32_t k = 0; k < 200; k += 2) {
    expected.push_back(k);
    if (k % 4 != 0 && k < 100) expected.push_back(k + 1);
  }
  EXPECT_EQ(visited, expected);
  EXPECT_EQ(store.check(), "");
}

}  // namespace
}  // namespace bpfq::maps::detail
