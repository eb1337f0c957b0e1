// The verifier refuses writes to read-only __sk_buff fields
// (progs/tests/engine_bad_skb_write.bpf.c) with the instruction, source line and field; the good
// programs verify; BpfQdisc and TcProgram refuse objects with a bad one.
#include <gtest/gtest.h>

#include <filesystem>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/verifier/verifier.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

enum class ContextKind { QdiscCtx, SkBuff };

class SkbWriteCheck : public ::testing::Test, public EngineFixture {
 protected:
  const std::string path = test_object("engine_bad_skb_write");
  const std::string tc_path = test_object("engine_bad_skb_write_tc");
  const loader::ObjectSpec object = loader::load_object(path);
  const loader::ObjectSpec tc_object = loader::load_object(tc_path);

  // The verifier's message for the program whose entry function is `name` (as an enqueue or a
  // tc program), or "" if it verifies.
  std::string verdict(const std::string& name, ContextKind kind) {
    const loader::ObjectSpec& obj = kind == ContextKind::SkBuff ? tc_object : object;
    const verifier::ProgramType& type = *verifier::program_type_for_section(
        kind == ContextKind::SkBuff ? "tc" : name == "good_dequeue" ? "qdisc/dequeue" : "qdisc/enqueue");
    for (const loader::ProgramSpec& p : obj.programs) {
      if (p.name != name) continue;
      const verifier::VerifyResult r = verifier::verify(p, obj, type);
      return r.ok ? "" : r.to_error(obj.path, p.section).what();
    }
    ADD_FAILURE() << "no program " << name;
    return "";
  }
};

TEST_F(SkbWriteCheck, RejectsAWriteThroughCtxSkbNamingFieldAndLine) {
  const std::string msg = verdict("write_len", ContextKind::QdiscCtx);
  EXPECT_NE(msg.find("section qdisc/enqueue insn "), std::string::npos) << msg;
  EXPECT_NE(msg.find("engine_bad_skb_write.bpf.c:10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("writes 4 bytes to __sk_buff.len, which is read-only"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hint: programs may write mark, priority"), std::string::npos) << msg;
}

TEST_F(SkbWriteCheck, FollowsThePointerIntoASubprogramAndThroughAcquiredReferences) {
  const std::string sub = verdict("write_hash_in_subprogram", ContextKind::QdiscCtx);
  EXPECT_NE(sub.find("__sk_buff.hash, which is read-only"), std::string::npos) << sub;
  EXPECT_NE(sub.find("engine_bad_skb_write.bpf.c:24"), std::string::npos) << sub;
  const std::string acquired = verdict("write_through_acquired", ContextKind::QdiscCtx);
  EXPECT_NE(acquired.find("__sk_buff.ifindex, which is read-only"), std::string::npos) << acquired;
}

TEST_F(SkbWriteCheck, ATcProgramsContextIsThePacket) {
  const std::string msg = verdict("tc_write_data_end", ContextKind::SkBuff);
  EXPECT_NE(msg.find("__sk_buff.data_end, which is read-only"), std::string::npos) << msg;
  EXPECT_EQ(verdict("tc_good", ContextKind::SkBuff), "");
  // A qdisc program may write every field of its own context (skb, classid, delay).
  EXPECT_EQ(verdict("good_dequeue", ContextKind::QdiscCtx), "");
}

TEST_F(SkbWriteCheck, QdiscAndTcProgramRefuseTheObjectAtOpen) {
  runtime::ObjectOptions verifying;  // Verification::Enforce, the default
  verifying.helpers = &qdisc_helpers();
  try {
    runtime::Object::open(path, verifying);
    FAIL() << "a verifying open accepted a program that writes skb->len";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("__sk_buff.len, which is read-only"), std::string::npos) << e.what();
  }
  // A tc program is verified alone (the one the filter runs).
  EXPECT_THROW(TcProgram::open(tc_path, "tc_write_data_end"), Error);
  TcProgram good = TcProgram::open(tc_path, "tc_good");
  Packet* pkt = packet(100, 0);
  int32_t ret = -1;
  EXPECT_TRUE(good.run(*pkt, ret));
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(pkt->skb.mark, 1u);
  EXPECT_EQ(pkt->skb.tstamp, 4u);
  PacketPool::release(pkt);
}

TEST(SkbWriteCheckLibrary, EveryLibraryProgramPasses) {
  // Every object in progs/ the build produced opens as a qdisc (tests/verifier verifies them).
  PacketPool pool{PacketPoolConfig{.packets = 16}};
  runtime::ManualClock clock{0};
  BpfQdiscEnv env{&pool, &clock, nullptr, nullptr};
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(BPFQ_BINARY_DIR) + "/progs")) {
    if (!entry.path().string().ends_with(".bpf.o")) continue;
    EXPECT_NO_THROW(BpfQdisc::open(entry.path().string(), Handle::make(1, 0), env)) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 2);  // at least pfifo and fifo
}

}  // namespace
}  // namespace bpfq::sched::test
