// Programs of Linux's struct_ops qdisc API through the bpfq binary: `bpfq btf dump`, `prog
// check`, `struct_ops register` then tc lines by id, in a batch and in the simulator.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

namespace bpfq::test {
namespace {

std::string struct_ops_fifo() { return std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/bpfq/fifo.bpf.o"; }
std::string struct_ops_test(const std::string& name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/tests/" + name + ".bpf.o";
}

TEST(CliStructOps, BtfDumpIsAVmlinuxHeader) {
  const Outcome o = run_bpfq("btf dump", false);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(contains(o.output, "#ifndef __VMLINUX_H__")) << o.output.substr(0, 200);
  EXPECT_TRUE(contains(o.output, "#pragma clang attribute push (__attribute__((preserve_access_index))"));
  for (const char* type : {"struct sk_buff {", "struct Qdisc {", "struct Qdisc_ops {", "struct bpf_list_head {",
                           "struct qdisc_skb_cb {", "struct bpf_sk_buff_ptr {"})
    EXPECT_TRUE(contains(o.output, type)) << type;
  EXPECT_FALSE(contains(o.output, "bpfq_kernel_types"));  // the variable that keeps the types, not a type
}

TEST(CliStructOps, ProgCheckListsTheOpsOrSaysWhatLinuxWouldRefuse) {
  const Outcome ok = run_bpfq("prog check " + struct_ops_fifo());
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "struct_ops Qdisc_ops 'fifo' (id bpf_fifo): enqueue = bpf_fifo_enqueue"))
      << ok.output;
  EXPECT_TRUE(contains(ok.output, "insns, ok, verified (runs on the ")) << ok.output;
  EXPECT_FALSE(contains(ok.output, "not verified")) << ok.output;
  const Outcome bad = run_bpfq("prog check " + struct_ops_test("ops_writes_len"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "bpfq: error: " + struct_ops_test("ops_writes_len") +
                                       " section struct_ops/wlen_enqueue insn 4 (ops_writes_len.bpf.c:7): verifier: "
                                       "no write support to sk_buff.len"))
      << bad.output;
}

TEST(CliStructOps, RegisterMakesTheIdAQdiscKind) {
  const Outcome reg = run_bpfq("struct_ops register " + struct_ops_fifo());
  EXPECT_EQ(reg.exit_code, 0) << reg.output;
  EXPECT_EQ(reg.output, "registered qdisc bpf_fifo (" + struct_ops_fifo() + ")\n");

  const std::string setup = write_temp("struct_ops.tc", "struct_ops register " + struct_ops_fifo() +
                                                            "\nqdisc add dev eth0 root handle 1: bpf_fifo\n");
  const Outcome show = run_bpfq("-b " + setup + " qdisc show dev eth0");
  EXPECT_EQ(show.exit_code, 0) << show.output;
  EXPECT_TRUE(contains(show.output, "qdisc bpf_fifo 1: root obj " + struct_ops_fifo() + " id bpf_fifo"))
      << show.output;

  const Outcome json = run_bpfq("-j -b " + setup + " qdisc show dev eth0");
  EXPECT_TRUE(contains(json.output, "\"struct_ops\":\"bpf_fifo\"")) << json.output;
  EXPECT_TRUE(contains(json.output, "\"program_stats\":{\"backlog\":0,\"drops\":0")) << json.output;

  // Without the register line the id means nothing.
  const std::string unregistered = write_temp("unregistered.tc", "qdisc add dev eth0 root bpf_fifo\n");
  const Outcome missing = run_bpfq("-b " + unregistered);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "unknown qdisc 'bpf_fifo'")) << missing.output;
}

TEST(CliStructOps, RegisterRefusesWhatIsNoQdiscOpsAndTheQdiscGoesAtTheRootOnly) {
  const std::string seed = library_object("fifo");
  const std::string not_ops = write_temp("not_ops.tc", "struct_ops register " + seed + "\n");
  const Outcome o = run_bpfq("-b " + not_ops);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "bpfq: error: " + not_ops + ":1: " + seed +
                                     ": no SEC(\".struct_ops\") struct Qdisc_ops in the object"))
      << o.output;

  const std::string under_class = write_temp(
      "under_class.tc", "struct_ops register " + struct_ops_fifo() + "\nqdisc add dev eth0 root handle 1: drr\n" +
                            "class add dev eth0 parent 1: classid 1:1\n" +
                            "qdisc add dev eth0 parent 1:1 handle 10: bpf_fifo\n");
  const Outcome c = run_bpfq("-b " + under_class);
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_TRUE(contains(c.output, "BPF qdisc only supported on root or mq")) << c.output;
}

// The same scenario through the library's fifo and through Linux's API: the same numbers.
TEST(CliStructOps, SimRunsARegisteredQdiscLikeItsTwin) {
  const std::string setup = write_temp("sim_struct_ops.tc", "struct_ops register " + struct_ops_fifo() +
                                                                "\nqdisc add dev eth0 root bpf_fifo\n");
  const Outcome ops = run_bpfq("sim --duration 3 --setup " + setup);
  const Outcome seed = run_bpfq("sim --duration 3 -q fifo");
  ASSERT_EQ(ops.exit_code, 0) << ops.output;
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  auto results = [](const std::string& out) {  // the first result row's numbers, after the qdisc's name
    const size_t row = out.find('\n', out.find("qdisc    ")) + 1;
    std::istringstream line(out.substr(row, out.find('\n', row) - row));
    std::string name, numbers, word;
    line >> name;
    while (line >> word) numbers += word + " ";
    return numbers;
  };
  EXPECT_EQ(results(ops.output), results(seed.output)) << ops.output << seed.output;
  EXPECT_FALSE(contains(ops.output, "problems")) << ops.output;
}

}  // namespace
}  // namespace bpfq::test
