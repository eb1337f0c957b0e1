// bpf_loop, bpf_for_each_map_elem, bpf_spin_lock/unlock, bpf_kptr_xchg.
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <thread>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

TEST(RuntimeLoop, CallsBackUntilDoneOrStopped) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  RunEnv env;
  Io io{.a = 10, .b = 1000};
  exec::RunResult r = run(obj, "cb/loop", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 10);
  EXPECT_EQ(io.out[1], 45);
  EXPECT_EQ(io.out[2], -EINVAL);
  EXPECT_EQ(io.out[3], -E2BIG);

  io = Io{.a = 10, .b = 10};  // 0+1+2+3+4 reaches 10 at index 4
  r = run(obj, "cb/loop", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 5);
  EXPECT_EQ(io.out[1], 10);
}

// A verified program's bpf_loop with a known callback runs in place on the JIT (decoder.cpp's
// LOOP): it answers as the helper does on the interpreter, loops nested in callbacks included.
TEST(RuntimeLoop, RunInPlaceOnTheJitAnswersAsTheHelper) {
  struct Case {
    uint64_t nr_loops, limit;
    int64_t calls, total;
  };
  for (const Case& c : {Case{10, 1000, 10, 45}, Case{10, 10, 5, 10}, Case{0, 1, 0, 0}, Case{1 << 23, 1, 2, 1}}) {
    for (exec::Backend backend : {exec::Backend::Jit, exec::Backend::Interpreter}) {
      ObjectOptions opts;
      opts.backend = backend;
      Object obj = Object::open(test_object("runtime_jit_loop"), opts);
      ASSERT_TRUE(obj.programs().front().verified) << obj.programs().front().unverified;
      ASSERT_EQ(obj.programs().front().backend, exec::jit_supported() ? backend : exec::Backend::Interpreter);
      obj.set_global("nr_loops", c.nr_loops);
      obj.set_global("limit", c.limit);
      uint8_t skb[256] = {};
      RunEnv env;
      const exec::RunResult r = obj.program("tc").run(skb, 0, run_options(env));
      ASSERT_TRUE(r.ok()) << r.message();
      const auto out = obj.get_global<std::array<int64_t, 6>>("out");
      const std::string where = std::string(exec::backend_name(backend)) + " nr_loops " + std::to_string(c.nr_loops);
      EXPECT_EQ(out[0], c.calls) << where;
      EXPECT_EQ(out[1], c.total) << where;
      EXPECT_EQ(out[2], -EINVAL) << where;
      EXPECT_EQ(out[3], -E2BIG) << where;
      EXPECT_EQ(out[4], 4) << where;
      EXPECT_EQ(out[5], 12) << where;
    }
  }
}

TEST(RuntimeForEach, VisitsEveryElementWithWritableValues) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  maps::Map& table = obj.map("table");
  for (uint32_t k : {1u, 2u, 3u}) {
    const uint64_t v = k * 10;
    ASSERT_EQ(table.update(&k, &v, maps::kBpfAny), 0);
  }
  RunEnv env;
  Io io{.a = 0};
  exec::RunResult r = run(obj, "cb/for_each", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 3);
  EXPECT_EQ(io.out[1], 1010 + 2020 + 3030);
  for (uint32_t k : {1u, 2u, 3u}) {
    uint64_t v = 0;
    ASSERT_EQ(table.lookup_copy(&k, &v), 0);
    EXPECT_EQ(v, k * 10 + 1);
  }
  io = Io{.a = 98};  // the callback stops at the second element
  r = run(obj, "cb/for_each", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 2);
}

TEST(RuntimeForEach, AVisitedKeyStaysReadableAfterTheWalk) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  RunEnv env;
  for (uint64_t stop : {1u, 3u}) {
    Io io{.a = stop};
    const exec::RunResult r = run(obj, "cb/kept_key", io, env);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(io.out[0], static_cast<int64_t>(stop + 1));  // elements visited
    EXPECT_EQ(io.out[1], static_cast<int64_t>(stop));      // the last key, read after bpf_loop
  }
}

struct Locked {
  uint32_t lock;
  uint32_t pad;
  uint64_t value;
};

TEST(RuntimeSpinLock, GuardsAMapValue) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  RunEnv env;
  Io io{.a = 5};
  ASSERT_TRUE(run(obj, "cb/spin_lock", io, env).ok());
  io = Io{.a = 7};
  ASSERT_TRUE(run(obj, "cb/spin_lock", io, env).ok());
  EXPECT_EQ(io.out[0], 12);
  const uint32_t zero = 0;
  Locked l{};
  ASSERT_EQ(obj.map("guarded").lookup_copy(&zero, &l), 0);
  EXPECT_EQ(l.lock, 0u);  // released
  EXPECT_EQ(l.value, 12u);
}

TEST(RuntimeSpinLock, SeveralThreadsDoNotLoseUpdates) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  constexpr int kThreads = 2, kRuns = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      RunEnv env;
      for (int i = 0; i < kRuns; ++i) {
        Io io{.a = 1};
        if (!run(obj, "cb/spin_lock", io, env).ok()) return;
      }
    });
  for (std::thread& t : threads) t.join();
  const uint32_t zero = 0;
  Locked l{};
  ASSERT_EQ(obj.map("guarded").lookup_copy(&zero, &l), 0);
  EXPECT_EQ(l.value, uint64_t{kThreads * kRuns});
}

TEST(RuntimeSpinLock, TakingTheSameLockTwiceFails) {
  const Object obj = Object::open(test_object("runtime_callbacks"));
  RunEnv env;
  Io io;
  const exec::RunResult r = run(obj, "cb/double_lock", io, env);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_spin_lock: this program already holds the lock");
}

std::vector<uint64_t> released;
void record_release(void* p) { released.push_back(reinterpret_cast<uint64_t>(p)); }

TEST(RuntimeKptrXchg, ExchangesTheFieldAndTheMapReleasesWhatItHolds) {
  released.clear();
  {
    ObjectOptions opts;
    opts.kptr_dtor = record_release;
    const Object obj = Object::open(test_object("runtime_callbacks"), opts);
    ASSERT_EQ(obj.map("held").spec().kptr_offsets, std::vector<uint32_t>{0});
    RunEnv env;
    Io io{.a = 0x1000};
    ASSERT_TRUE(run(obj, "cb/kptr_xchg", io, env).ok());
    EXPECT_EQ(io.out[0], 0);
    io = Io{.a = 0x2000};
    ASSERT_TRUE(run(obj, "cb/kptr_xchg", io, env).ok());
    EXPECT_EQ(io.out[0], 0x1000);  // the program now owns 0x1000
    uint64_t copy = 1;
    const uint32_t zero = 0;
    ASSERT_EQ(obj.map("held").lookup_copy(&zero, &copy), 0);
    EXPECT_EQ(copy, 0u);  // references never leave the map
    EXPECT_TRUE(released.empty());
  }
  EXPECT_EQ(released, std::vector<uint64_t>{0x2000});  // the map released what it held
}

}  // namespace
}  // namespace bpfq::runtime::test
