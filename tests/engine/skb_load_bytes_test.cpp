// bpf_skb_load_bytes (helper 26) from tc programs (TcProgram::open, tc_helpers()) and qdisc
// programs (ctx->skb): bytes of the frame, Linux's -EFAULT with the buffer zeroed past the end,
// and a fault for a buffer outside program memory (progs/tests/engine_load_bytes.bpf.c).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include <bpfq/runtime/helpers.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "support/test_objects.hpp"

namespace bpfq::sched::test {
namespace {

using bpfq::test::test_object;

constexpr uint32_t kFill = 0xaaaaaaaa;  // what the programs' buffers hold before the call

class SkbLoadBytes : public ::testing::Test {
 protected:
  PacketPool pool{PacketPoolConfig{.packets = 8}};
  PacketRef pkt = PacketRef::alloc(pool);
  // Its tc program passes a buffer outside program memory on purpose: run checked.
  TcProgram tc = TcProgram::open(test_object("engine_load_bytes"), "tc", nullptr,
                                 runtime::Verification::RunUnverifiedChecked);

  SkbLoadBytes() {
    FrameSpec frame;
    frame.payload_len = 20;
    EXPECT_TRUE(build_into(*pkt, frame));
  }

  // Runs the tc program; the helper's return and the first 4 bytes of its buffer.
  std::pair<int32_t, uint32_t> load_tc(uint32_t offset, uint32_t len, uint32_t mode = 0) {
    pkt->skb.cb[0] = offset;
    pkt->skb.cb[1] = len;
    pkt->skb.cb[2] = mode;
    int32_t ret = 0;
    EXPECT_TRUE(tc.run(*pkt, ret)) << tc.last_fault();
    return {static_cast<int32_t>(pkt->skb.cb[3]), pkt->skb.cb[4]};
  }

  uint32_t frame_word(uint32_t offset) const {
    uint32_t w;
    std::memcpy(&w, pkt->data() + offset, 4);
    return w;
  }
};

TEST_F(SkbLoadBytes, IsATcAndQdiscHelperOnly) {
  EXPECT_EQ(runtime::standard_helpers().helper(runtime::helper_id::kSkbLoadBytes), nullptr);
  ASSERT_NE(tc_helpers().helper(runtime::helper_id::kSkbLoadBytes), nullptr);
  EXPECT_EQ(tc_helpers().helper(runtime::helper_id::kSkbLoadBytes)->name, "bpf_skb_load_bytes");
  ASSERT_NE(qdisc_helpers().helper(runtime::helper_id::kSkbLoadBytes), nullptr);
  EXPECT_EQ(qdisc_helpers().helper(runtime::helper_id::kSkbLoadBytes)->name, "bpf_skb_load_bytes");
}

TEST_F(SkbLoadBytes, CopiesFrameBytesFromAnOffset) {
  EXPECT_EQ(load_tc(0, 4), std::make_pair(0, frame_word(0)));    // destination MAC
  EXPECT_EQ(load_tc(14, 4), std::make_pair(0, frame_word(14)));  // IPv4 version, TOS, length
  const uint32_t last = pkt->len() - 4;
  EXPECT_EQ(load_tc(last, 4), std::make_pair(0, frame_word(last)));  // up to the last byte
  // Fewer bytes than the word: the rest of the buffer is untouched.
  const auto [rc, word] = load_tc(23, 1);  // the IPv4 protocol byte
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(word, (kFill & ~0xffu) | 17u);
}

TEST_F(SkbLoadBytes, PastTheEndIsEfaultWithTheBufferZeroed) {
  const uint32_t len = pkt->len();
  EXPECT_EQ(load_tc(len - 2, 4), std::make_pair(-EFAULT, 0u));
  EXPECT_EQ(load_tc(len, 1), std::make_pair(-EFAULT, kFill & ~0xffu));
  EXPECT_EQ(load_tc(0x80000000u, 4), std::make_pair(-EFAULT, 0u));  // above INT_MAX
  EXPECT_EQ(load_tc(0xfffffffeu, 4), std::make_pair(-EFAULT, 0u));  // offset + len wraps
  EXPECT_EQ(load_tc(0, len), std::make_pair(0, frame_word(0)));  // the whole frame
  EXPECT_EQ(load_tc(0, len + 1), std::make_pair(-EFAULT, 0u));
}

TEST_F(SkbLoadBytes, ZeroLengthIsEinval) {
  EXPECT_EQ(load_tc(0, 0), std::make_pair(-EINVAL, kFill));
}

TEST_F(SkbLoadBytes, ABufferOutsideProgramMemoryEndsTheRun) {
  pkt->skb.cb[0] = 0;
  pkt->skb.cb[1] = 4;
  pkt->skb.cb[2] = 1;
  int32_t ret = 0;
  EXPECT_FALSE(tc.run(*pkt, ret));
  EXPECT_EQ(tc.faults(), 1u);
  EXPECT_NE(tc.last_fault().find("helper failed: bpf_skb_load_bytes: buffer outside writable program memory"),
            std::string::npos)
      << tc.last_fault();
}

TEST_F(SkbLoadBytes, AQdiscProgramReadsCtxSkb) {
  BpfQdiscEnv env;
  env.pool = &pool;
  env.verification = runtime::Verification::RunUnverifiedChecked;
  auto q = BpfQdisc::open(test_object("engine_load_bytes"), Handle::make(1, 0), env);
  q->init();
  pkt->skb.cb[0] = 26;  // IPv4 source address
  pkt->skb.cb[1] = 4;
  pkt->skb.cb[2] = 0;
  q->enqueue(PacketRef::share(pkt.get()).detach(), 0);  // the program drops it
  EXPECT_EQ(q->object().get_global<int32_t>("load_rc"), 0);
  uint8_t loaded[64];
  q->object().get_global("loaded", loaded);
  EXPECT_EQ(0, std::memcmp(loaded, pkt->data() + 26, 4));
  EXPECT_EQ(loaded[4], 0xaa);
  EXPECT_EQ(q->counters().faults, 0u);

  pkt->skb.cb[0] = pkt->len();
  q->enqueue(PacketRef::share(pkt.get()).detach(), 0);
  EXPECT_EQ(q->object().get_global<int32_t>("load_rc"), -EFAULT);
  q->object().get_global("loaded", loaded);
  EXPECT_EQ(loaded[0], 0);
  EXPECT_EQ(loaded[3], 0);
  EXPECT_EQ(loaded[4], 0xaa);
}

}  // namespace
}  // namespace bpfq::sched::test
