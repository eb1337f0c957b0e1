// bpf_ringbuf_* from a program, records consumed from user space.
#include <gtest/gtest.h>

#include <bpfq/maps/ringbuf_map.hpp>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

struct Event {  // struct event in runtime_ringbuf.bpf.c
  uint32_t kind;
  uint32_t len;
  uint64_t stamp;
};

std::vector<std::vector<uint8_t>> consume(maps::Map& map) {
  std::vector<std::vector<uint8_t>> records;
  static_cast<maps::RingbufMap&>(map).consume([&](const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    records.emplace_back(p, p + size);
    return 0;
  });
  return records;
}

TEST(RuntimeRingbuf, OutputReserveSubmitDiscardQuery) {
  const Object obj = Object::open(test_object("runtime_ringbuf"));
  RunEnv env;
  Io io{.a = 64, .b = 1000};
  const exec::RunResult r = run(obj, "produce", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 0u);
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 3 * (8 + 16));  // three records with headers, the discarded one included
  EXPECT_EQ(io.out[2], 4096);
  EXPECT_EQ(io.out[3], 1);  // a reservation larger than the ring fails

  const auto records = consume(obj.map("events"));
  ASSERT_EQ(records.size(), 2u);  // the discarded record is skipped
  const Event want[2] = {{1, 64, 1000}, {2, 65, 1001}};
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(records[i].size(), sizeof(Event));
    EXPECT_EQ(std::memcmp(records[i].data(), &want[i], sizeof(Event)), 0) << i;
  }
}

TEST(RuntimeRingbuf, WritesPastAReservationFault) {
  const Object obj = Object::open(test_object("runtime_ringbuf"));
  RunEnv env;
  Io io{.a = 0};
  ASSERT_TRUE(run(obj, "overflow", io, env).ok());
  io = Io{.a = 1};
  const exec::RunResult r = run(obj, "overflow", io, env);
  EXPECT_EQ(r.fault, exec::Fault::OutOfBounds) << r.message();
  EXPECT_EQ(r.size, 8u);
  const auto records = consume(obj.map("events"));
  ASSERT_GE(records.size(), 1u);
  EXPECT_EQ(load_as<uint64_t>(records[0].data()), 1u);
}

TEST(RuntimeRingbuf, SubmittingANonSampleFails) {
  const Object obj = Object::open(test_object("runtime_ringbuf"));
  RunEnv env;
  Io io;
  const exec::RunResult r = run(obj, "bad_submit", io, env);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_ringbuf_submit: not a sample reserved by bpf_ringbuf_reserve");
}

}  // namespace
}  // namespace bpfq::runtime::test
