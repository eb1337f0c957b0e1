// Helpers that use the RunEnv: bpf_trace_printk/bpf_trace_vprintk, bpf_get_prandom_u32,
// bpf_ktime_get_ns, bpf_ktime_get_boot_ns.
#include <gtest/gtest.h>

#include <cstdio>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

TEST(RuntimeTrace, PrintkOutputIsCapturedExactly) {
  const Object obj = Object::open(test_object("runtime_globals"));
  CollectingTraceSink trace;
  RunEnv env{.trace = &trace};
  Io io{.a = static_cast<uint64_t>(-3), .b = 0x1234beef, .c = 12345678901ull};
  const exec::RunResult r = run(obj, "printk", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(trace.lines(), (std::vector<std::string>{
                               "quantum=1514 label=default",
                               "neg=-3 hex=1234beef big=12345678901",
                               "ch=Z pct=% pad=[   42] [7   ]",
                               "s=stack string p=0x1234",
                               "llx=deadbeefcafe lld=-5",
                               "four -1 2 ff default",
                           }));
  EXPECT_EQ(io.out[0], static_cast<int64_t>(std::string("llx=deadbeefcafe lld=-5").size()));
}

TEST(RuntimeTrace, StringArgumentsAreReadOnlyFromProgramMemory) {
  const Object obj = Object::open(test_object("runtime_globals"));
  CollectingTraceSink trace;
  RunEnv env{.trace = &trace};
  const char text[] = "from the context";
  struct {
    Io io;
    char text[sizeof "from the context"];
  } ctx;
  std::memcpy(ctx.text, text, sizeof text);
  for (uint64_t a : {uint64_t{0}, uint64_t{0x10}, reinterpret_cast<uint64_t>(ctx.text)}) {
    ctx.io = Io{.a = a};
    const exec::RunResult r = obj.program("printk_string").run(&ctx, sizeof ctx, run_options(env));
    ASSERT_TRUE(r.ok()) << r.message();
  }
  EXPECT_EQ(trace.lines(),
            (std::vector<std::string>{"s=(null)|", "s=(bad pointer)|", "s=from the context|"}));
}

TEST(RuntimeTrace, UnsupportedConversionIsEinvalAndPrintsNothing) {
  const Object obj = Object::open(test_object("runtime_globals"));
  CollectingTraceSink trace;
  RunEnv env{.trace = &trace};
  Io io;
  const exec::RunResult r = run(obj, "bad_printk", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<int64_t>(r.r0), -22);
  EXPECT_TRUE(trace.lines().empty());
}

TEST(RuntimeTrace, StderrSinkPrefixesAndEndsLines) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  StderrTraceSink sink("q0: ", f);
  sink.write("one\n");
  sink.write("two");
  std::rewind(f);
  char buf[64] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n), "q0: one\nq0: two\n");
}

TEST(RuntimePrandom, SameSeedSameSequence) {
  const Object obj = Object::open(test_object("runtime_globals"));
  auto draw = [&](uint64_t seed) {
    Prng prng(seed);
    RunEnv env{.prng = &prng};
    Io io;
    EXPECT_TRUE(run(obj, "random", io, env).ok());
    return std::vector<int64_t>(io.out, io.out + 4);
  };
  const std::vector<int64_t> a = draw(42), b = draw(42), c = draw(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  Prng reference(42);
  for (int64_t v : a) EXPECT_EQ(v, static_cast<int64_t>(reference.next_u32()));
  // SplitMix64's first output for seed 0 (a published test vector), high half.
  EXPECT_EQ(Prng(0).next_u64(), 0xe220a8397b1dcdafULL);
}

TEST(RuntimeTime, KtimeReadsTheRunsClock) {
  const Object obj = Object::open(test_object("runtime_globals"));
  ManualClock clock(5000);
  RunEnv env{.clock = &clock};
  Io io;
  ASSERT_TRUE(run(obj, "time", io, env).ok());
  EXPECT_EQ(io.out[0], 5000);
  EXPECT_EQ(io.out[1], 5000);
  clock.advance(7);
  ASSERT_TRUE(run(obj, "time", io, env).ok());
  EXPECT_EQ(io.out[0], 5007);
  clock.set(1'000'000'000);
  ASSERT_TRUE(run(obj, "time", io, env).ok());
  EXPECT_EQ(io.out[1], 1'000'000'000);
}

TEST(RuntimeTime, WithoutARunEnvTheMonotonicClockIsUsed) {
  const Object obj = Object::open(test_object("runtime_globals"));
  const uint64_t before = MonotonicClock().now_ns();
  Io io;
  ASSERT_TRUE(obj.program("time").run(&io, sizeof io).ok());
  const uint64_t after = MonotonicClock().now_ns();
  EXPECT_GE(static_cast<uint64_t>(io.out[0]), before);
  EXPECT_LE(static_cast<uint64_t>(io.out[0]), after);
}

// A latched clock's programs see its last reading (what the runner read before the operation),
// not a reading of their own: the same on the JIT, which loads the word in place, and through
// the interpreter's helper call.
class CountingClock final : public LatchedClock {
 public:
  mutable uint64_t reads = 0;

 protected:
  uint64_t read_ns() const override { return 1000 * ++reads; }
};

TEST(RuntimeTime, ALatchedClockGivesProgramsItsLastReading) {
  for (exec::Backend backend : {exec::Backend::Jit, exec::Backend::Interpreter}) {
    CountingClock clock;
    ObjectOptions options;
    options.clock = &clock;
    options.backend = backend;
    const Object obj = Object::open(test_object("runtime_globals"), options);
    RunEnv env{.clock = &clock};
    Io io;
    EXPECT_EQ(clock.now_ns(), 1000u);  // the runner's reading before an operation
    ASSERT_TRUE(run(obj, "time", io, env).ok());
    EXPECT_EQ(io.out[0], 1000) << exec::backend_name(backend);
    EXPECT_EQ(io.out[1], 1000);
    EXPECT_EQ(clock.reads, 1u) << "the program read the clock itself";
    EXPECT_EQ(clock.now_ns(), 2000u);
    ASSERT_TRUE(run(obj, "time", io, env).ok());
    EXPECT_EQ(io.out[0], 2000);
    EXPECT_EQ(io.out[1], 2000);
  }
}

// An embedder's own environment derives from RunEnv; its helpers cast back.
struct QdiscEnv : RunEnv {
  uint64_t marker = 0;
};

TEST(RuntimeEnv, DerivedEnvironmentsWork) {
  const Object obj = Object::open(test_object("runtime_globals"));
  ManualClock clock(77);
  QdiscEnv env;
  env.clock = &clock;
  env.marker = 1;
  Io io;
  ASSERT_TRUE(run(obj, "time", io, env).ok());
  EXPECT_EQ(io.out[0], 77);
}

}  // namespace
}  // namespace bpfq::runtime::test
