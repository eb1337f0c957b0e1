// RINGBUF: BPF-side reserve/submit/discard/output and the user-space consumer.
#include <gtest/gtest.h>

#include <bpfq/maps/ringbuf_map.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "map_test_support.hpp"

namespace bpfq::maps {
namespace {

using namespace testing;

std::shared_ptr<RingbufMap> make_ring(uint32_t bytes = 4096) {
  auto map = std::dynamic_pointer_cast<RingbufMap>(make(MapType::Ringbuf, 0, 0, bytes));
  if (map == nullptr) throw std::logic_error("not a RingbufMap");
  return map;
}

std::vector<std::vector<uint8_t>> consume_all(RingbufMap& ring) {
  std::vector<std::vector<uint8_t>> records;
  ring.consume([&](const void* data, size_t size) {
    records.push_back(bytes_of(data, size));
    return 0;
  });
  return records;
}

TEST(RingbufMap, OutputRecordsAreConsumedInOrder) {
  auto ring = make_ring();
  const auto a = pattern(5, 1), b = pattern(16, 100);
  EXPECT_EQ(ring->output(a.data(), a.size()), 0);
  EXPECT_EQ(ring->output(b.data(), b.size()), 0);
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->query(kRingbufAvailData), 16u + 24u);  // 8-byte headers, 8-byte rounding
  EXPECT_EQ(ring->query(kRingbufProdPos), 40u);
  EXPECT_EQ(ring->query(kRingbufConsPos), 0u);
  EXPECT_EQ(ring->query(kRingbufRingSize), 4096u);
  EXPECT_EQ(ring->query(99), 0u);
  EXPECT_EQ(consume_all(*ring), (std::vector<std::vector<uint8_t>>{a, b}));
  EXPECT_EQ(ring->size(), 0u);
  EXPECT_EQ(ring->query(kRingbufAvailData), 0u);
  EXPECT_EQ(ring->query(kRingbufConsPos), 40u);
  EXPECT_EQ(consume_all(*ring).size(), 0u);
}

TEST(RingbufMap, ReservedRecordHoldsBackLaterOnesAndDiscardedAreSkipped) {
  auto ring = make_ring();
  auto* first = static_cast<uint8_t*>(ring->reserve(4));
  ASSERT_NE(first, nullptr);
  auto* dropped = static_cast<uint8_t*>(ring->reserve(4));
  auto* third = static_cast<uint8_t*>(ring->reserve(3));
  ASSERT_NE(dropped, nullptr);
  ASSERT_NE(third, nullptr);
  std::memcpy(third, "xyz", 3);
  ring->submit(third);
  ring->discard(dropped);
  EXPECT_EQ(consume_all(*ring).size(), 0u);  // the first is still being written
  EXPECT_EQ(ring->size(), 2u);               // the discarded one no longer counts
  std::memcpy(first, "abcd", 4);
  ring->submit(first);
  ring->submit(first);  // a second submit is ignored
  int not_a_sample;
  ring->submit(&not_a_sample);  // so is a pointer outside the ring
  EXPECT_EQ(consume_all(*ring),
            (std::vector<std::vector<uint8_t>>{{'a', 'b', 'c', 'd'}, {'x', 'y', 'z'}}));
  EXPECT_EQ(ring->size(), 0u);
}

TEST(RingbufMap, ConsumerStopsWhenTheCallbackAsks) {
  auto ring = make_ring();
  for (uint8_t i = 0; i < 3; ++i) ring->output(&i, 1);
  std::vector<uint8_t> seen;
  EXPECT_EQ(ring->consume([&](const void* data, size_t) {
    seen.push_back(*static_cast<const uint8_t*>(data));
    return seen.size() == 2 ? 1 : 0;
  }),
            2);
  EXPECT_EQ(seen, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(consume_all(*ring), (std::vector<std::vector<uint8_t>>{{2}}));
}

TEST(RingbufMap, UsedBytesStayBelowTheRingSize) {
  auto ring = make_ring();
  const std::vector<uint8_t> big(4080, 0x5a);  // 4088 bytes with its header
  EXPECT_EQ(ring->output(big.data(), big.size()), 0);
  EXPECT_EQ(ring->reserve(0), nullptr);  // 8 more bytes would fill the ring completely
  EXPECT_EQ(ring->output(big.data(), 1), -EAGAIN);
  EXPECT_EQ(consume_all(*ring), (std::vector<std::vector<uint8_t>>{big}));
  EXPECT_EQ(ring->output(big.data(), big.size()), 0);
  EXPECT_EQ(ring->reserve(uint64_t{1} << 31), nullptr);
}

TEST(RingbufMap, RecordsWrappingPastTheEndAreContiguous) {
  auto ring = make_ring();
  const std::vector<uint8_t> filler(3000, 1);
  ASSERT_EQ(ring->output(filler.data(), filler.size()), 0);  // positions 0..3008
  ASSERT_EQ(consume_all(*ring).size(), 1u);
  const auto wrapping = pattern(2000, 7);  // positions 3008..5016: crosses the end at 4096
  ASSERT_EQ(ring->output(wrapping.data(), wrapping.size()), 0);
  const auto next = pattern(100, 50);
  ASSERT_EQ(ring->output(next.data(), next.size()), 0);
  EXPECT_EQ(ring->query(kRingbufProdPos), 3008u + 2008u + 112u);
  EXPECT_EQ(consume_all(*ring), (std::vector<std::vector<uint8_t>>{wrapping, next}));
  for (int i = 0; i < 50; ++i) {  // many laps round the ring
    const auto record = pattern(1000 + i, static_cast<uint8_t>(i));
    ASSERT_EQ(ring->output(record.data(), record.size()), 0);
    ASSERT_EQ(consume_all(*ring), (std::vector<std::vector<uint8_t>>{record})) << i;
  }
}

TEST(RingbufMap, ClearDropsEverythingAndKeyOperationsAreInvalid) {
  auto ring = make_ring(8192);
  ring->output("ab", 2);
  ASSERT_NE(ring->reserve(8), nullptr);
  ring->clear();
  EXPECT_EQ(ring->size(), 0u);
  EXPECT_EQ(ring->query(kRingbufProdPos), 0u);
  EXPECT_EQ(consume_all(*ring).size(), 0u);
  EXPECT_EQ(ring->query(kRingbufRingSize), 8192u);
  uint32_t key = 0, value = 0;
  EXPECT_EQ(ring->lookup(&key), nullptr);
  EXPECT_EQ(ring->update(&key, &value, kBpfAny), -EINVAL);
  EXPECT_EQ(ring->erase(&key), -EINVAL);
  EXPECT_EQ(ring->get_next_key(nullptr, &key), -EINVAL);
  EXPECT_EQ(ring->lookup_copy(&key, &value), -EINVAL);
  EXPECT_EQ(ring->for_each([](const void*, void*) { return 0; }), -EINVAL);
}

}  // namespace
}  // namespace bpfq::maps
