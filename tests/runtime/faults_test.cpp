// Checked mode: helpers given bad pointers end the run with a message naming helper and
// argument; the process and the maps are unharmed.
#include <gtest/gtest.h>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

class RuntimeFaults : public ::testing::Test {
 protected:
  exec::RunResult go(std::string_view section, Io& io) { return run(obj, section, io, env); }

  Object obj = Object::open(test_object("runtime_faults"));
  RunEnv env;
};

TEST_F(RuntimeFaults, KeyOutsideProgramMemory) {
  Io io{.a = 0x10};
  const exec::RunResult r = go("wild_key", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_map_update_elem: key outside program memory");
  EXPECT_NE(r.message().find("bpf_map_update_elem: key outside program memory"), std::string::npos)
      << r.message();
  // pc names the call instruction.
  const ebpf::Insn& call = obj.program("wild_key").insns()[r.pc];
  EXPECT_EQ(call.code, ebpf::JMP | ebpf::CALL);
  EXPECT_EQ(call.imm, 2);
  EXPECT_EQ(obj.map("table").size(), 0u);

  // A key in the context is fine.
  io = Io{};
  io.a = reinterpret_cast<uint64_t>(&io.b);
  io.b = 42;
  ASSERT_TRUE(go("wild_key", io).ok());
  uint64_t v = 0;
  ASSERT_EQ(obj.map("table").lookup_copy(&io.b, &v), 0);
  EXPECT_EQ(v, 1u);
}

TEST_F(RuntimeFaults, ValueReachingPastTheContext) {
  Io io;
  const exec::RunResult r = go("short_value", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_map_update_elem: value outside program memory");
}

TEST_F(RuntimeFaults, WritePastALookedUpValue) {
  Io io{.a = 0};
  ASSERT_TRUE(go("value_overrun", io).ok());
  io = Io{.a = 1};
  const exec::RunResult r = go("value_overrun", io);
  EXPECT_EQ(r.fault, exec::Fault::OutOfBounds) << r.message();
  EXPECT_EQ(r.size, 8u);
  const uint64_t key = 1;
  uint64_t v = 0;
  ASSERT_EQ(obj.map("table").lookup_copy(&key, &v), 0);
  EXPECT_EQ(v, 5u);  // the second run's update; its out-of-bounds store never happened
}

TEST_F(RuntimeFaults, RodataIsReadOnlyForPrograms) {
  Io io;
  const exec::RunResult r = go("rodata_write", io);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.fault == exec::Fault::OutOfBounds || r.fault == exec::Fault::ReadOnly) << r.message();
  EXPECT_EQ(obj.get_global<uint32_t>("limit"), 3u);
}

TEST_F(RuntimeFaults, LoopCallbackThatIsNotASubprogram) {
  Io io{.a = 0x1234};
  const exec::RunResult r = go("bad_callback", io);
  EXPECT_EQ(r.fault, exec::Fault::HelperFault);
  ASSERT_NE(r.detail, nullptr);
  EXPECT_STREQ(r.detail, "bpf_loop: callback is not a sub-program of this program");
}

}  // namespace
}  // namespace bpfq::runtime::test
