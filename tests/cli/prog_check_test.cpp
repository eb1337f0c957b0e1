// `bpfq prog check OBJ [NAME VALUE]…` reports every problem of an object at once, each on its
// own line with where and a hint, then a count, and exits 1; `bpfq prog helpers` lists what each
// program type may call, which docs/helpers.md must list exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

namespace bpfq::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The report of `prog check`, line by line (stdout and stderr; nothing else is printed).
std::vector<std::string> check(const std::string& args, int expected_exit) {
  const Outcome o = run_bpfq("prog check " + args);
  EXPECT_EQ(o.exit_code, expected_exit) << o.output;
  return lines_of(o.output);
}

const std::string kHelpersHint =
    " (hint: bpfq's qdisc and tc programs may call what docs/helpers.md lists (bpfq prog helpers))";
TEST(ProgCheck, ReportsEveryProblemOfOneObjectAtOnce) {
  const std::string obj = test_object("prog_check_many");
  const std::string e = "bpfq: error: " + obj;
  const std::vector<std::string> expected = {
      e + " section qdisc/enqeue: unknown program section: bpfq never runs its programs (hint: did you mean "
          "qdisc/enqueue?)",
      e + " section xdp: unknown program section: bpfq never runs its programs (hint: program sections are "
          "qdisc/enqueue, qdisc/dequeue, qdisc/init, qdisc/reset, tc, classifier, action, tc/ingress, tc/egress, "
          "tcx/ingress, tcx/egress)",
      e + " section licence: unknown data section: bpfq ignores it (hint: did you mean license?)",
      e + " section .rodat: unknown data section: bpfq ignores it (hint: did you mean .rodata?)",
      e + ": the object has no license (hint: add char LICENSE[] SEC(\"license\") = \"GPL\"; (Linux refuses "
          "GPL-only helpers without a GPL-compatible license))",
      e + " section .bss: map 'forgotten' is defined outside SEC(\".maps\"), as a global variable (hint: declare it "
          "as struct { __uint(type, …); … } forgotten SEC(\".maps\");)",
      e + ": no qdisc/enqueue program (hint: a bpf qdisc needs SEC(\"qdisc/enqueue\") and SEC(\"qdisc/dequeue\") "
          "programs)",
      e + " section qdisc/dequeue insn 2 (prog_check_many.bpf.c:28): unknown helper bpf_get_current_pid_tgid (id 14)" +
          kHelpersHint,
      e + " section tc insn 4 (prog_check_many.bpf.c:37): unknown kfunc 'bpf_qdisc_watchdog_schedule'" + kHelpersHint,
      e + " section tc insn 1 (prog_check_many.bpf.c:36): verifier: writes 4 bytes to __sk_buff.len, which is "
          "read-only",
      "    skb->len = 0;",
      "    R1=skb(borrowed) (hint: programs may write mark, priority, queue_mapping, tc_index, cb[0..4], tc_classid "
      "and tstamp; the packet's bytes are written through skb->data)",
      e + ": 10 problems",
  };
  EXPECT_EQ(check(obj, 1), expected);
}

// Linux's struct_ops qdiscs are checked as Linux would: this one lacks init, reset and destroy.
TEST(ProgCheck, AStructOpsQdiscNeedsAllFiveOps) {
  const std::string obj = test_object("prog_check_struct_ops");
  const std::vector<std::string> expected = {
      "bpfq: error: " + obj + " Qdisc_ops 'fifo': no init program (hint: Linux requires all of enqueue, dequeue, "
          "init, reset and destroy)",
      "bpfq: error: " + obj + ": 1 problem",
  };
  EXPECT_EQ(check(obj, 1), expected);
}

TEST(ProgCheck, LegacyMapsAreOneProblem) {
  const std::string obj = test_object("loader_bad_legacy_maps");
  const std::vector<std::string> expected = {
      "bpfq: error: " + obj + " section maps: legacy map definitions are not supported (hint: declare maps with "
          "BTF: struct { __uint(type, …); … } name SEC(\".maps\");)",
      "bpfq: error: " + obj + ": 1 problem",
  };
  EXPECT_EQ(check(obj, 1), expected);
}

TEST(ProgCheck, AnUnknownHelperIdWithoutAUapiNameIsNamedById) {
  const std::string obj = test_object("runtime_bad_helper");
  const std::vector<std::string> expected = {
      "bpfq: error: " + obj + " section tc insn 1 (runtime_bad_helper.bpf.c:10): unknown helper id 9999" + kHelpersHint,
      "bpfq: error: " + obj + ": 1 problem",
  };
  EXPECT_EQ(check(obj, 1), expected);
}

// tests/rfc_v7/progs/<name>.bpf.c: programs written for sch_bpf RFC v7.
std::string rfc_v7_object(const std::string& name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/rfc_v7/" + name + ".bpf.o";
}

TEST(ProgCheck, SaysAProgramTakingStructBpfQdiscCtxIsRfcV7) {
  const std::string obj = rfc_v7_object("v7_fifo");
  const std::vector<std::string> lines = check(obj, 0);
  ASSERT_EQ(lines.size(), 3u);
  const char* programs[] = {"qdisc/enqueue (fifo_enqueue)", "qdisc/dequeue (fifo_dequeue)", "qdisc/reset (fifo_reset)"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(lines[i].starts_with(obj + ": " + programs[i] + ": sch_bpf RFC v7, ")) << lines[i];
    EXPECT_NE(lines[i].find(" insns, ok, verified ("), std::string::npos) << lines[i];
  }
  const std::vector<std::string> bad = check(rfc_v7_object("v7_bad_set_dequeue"), 1);
  ASSERT_FALSE(bad.empty());
  EXPECT_NE(bad.front().find("section qdisc/enqueue insn "), std::string::npos) << bad.front();
  EXPECT_NE(bad.front().find("verifier: bpf_qdisc_set_skb_dequeue is allowed only in qdisc/dequeue, not in "
                             "qdisc/enqueue"),
            std::string::npos)
      << bad.front();
}

TEST(ProgCheck, AGoodObjectListsItsProgramsAndRunsInit) {
  const std::string obj = test_object("prog_check_init");
  const std::vector<std::string> expected = {
      obj + ": qdisc/init (check_init): sch_bpf RFC v6, 19 insns, ok, verified (22 insns processed, 5 states)",
      obj + ": qdisc/enqueue (check_enqueue): sch_bpf RFC v6, 18 insns, ok, verified (20 insns processed, 3 states)",
      obj + ": qdisc/dequeue (check_dequeue): sch_bpf RFC v6, 4 insns, ok, verified (4 insns processed, 0 states)",
  };
  EXPECT_EQ(check(obj, 0), expected);
  EXPECT_EQ(check(obj + " limit 5", 0), expected);
  // bpf_skb_load_bytes links for tc programs on their own and for qdisc programs; the verifier
  // refuses the tc program's deliberate wild buffer (the engine tests run it checked).
  const std::vector<std::string> load_bytes = check(test_object("engine_load_bytes"), 1);
  ASSERT_FALSE(load_bytes.empty());
  EXPECT_NE(load_bytes.front().find("expected=fp, pkt, map_value or mem (the buffer of bpf_skb_load_bytes)"),
            std::string::npos)
      << load_bytes.front();
}

TEST(ProgCheck, InitRunsWithTheParametersGiven) {
  const std::string obj = test_object("prog_check_init");
  const std::string e = "bpfq: error: " + obj;
  EXPECT_EQ(check(obj + " limit 0", 1),
            (std::vector<std::string>{
                e + " section qdisc/init: qdisc/init returned -22 (hint: the init program must return 0)",
                e + ": 1 problem"}));
  EXPECT_EQ(check(obj + " fault_in_init", 1),
            (std::vector<std::string>{
                e + " section qdisc/init: qdisc/init faulted: instruction budget exhausted, runaway loop? (insn 17) "
                    "at prog_check_init.bpf.c:13 (hint: init runs at setup, with the parameters given after the object)",
                e + ": 1 problem"}));
}

TEST(ProgCheck, EveryBadParameterIsReported) {
  const std::string obj = test_object("prog_check_init");
  const std::string e = "bpfq: error: " + obj;
  // The parameters are set as `bpf obj` sets them (tc::set_parameter): every bad one is reported.
  EXPECT_EQ(check(obj + " limt 5 limit 70000000000 udp_seen 3", 1),
            (std::vector<std::string>{
                e + ": unknown parameter 'limt' (hint: its parameters are limit, fault_in_init)",
                e + ": value 70000000000 (integer 70000000000) does not fit parameter 'limit' (4 bytes)",
                e + ": 'udp_seen' is program state (.bss), not a parameter (hint: parameters are `const volatile` "
                    "globals; its parameters are limit, fault_in_init)",
                e + ": 3 problems"}));
  EXPECT_EQ(check(obj + " limit 5 7", 1),
            (std::vector<std::string>{
                "bpfq: error: bpf obj " + obj +
                    ": unexpected '7' after 'limit 5': expected a parameter name (a global variable of the program)",
                e + ": 1 problem"}));
}

TEST(ProgCheck, AMissingFileOrAFolderIsOneProblem) {
  EXPECT_EQ(check("/nonexistent/q.bpf.o", 1),
            (std::vector<std::string>{"bpfq: error: /nonexistent/q.bpf.o: cannot open: No such file or directory",
                                      "bpfq: error: /nonexistent/q.bpf.o: 1 problem"}));
  EXPECT_EQ(check(BPFQ_SOURCE_DIR, 1),
            (std::vector<std::string>{"bpfq: error: " + std::string(BPFQ_SOURCE_DIR) +
                                          ": is a folder, not an object file (hint: name a .bpf.o file built by clang "
                                          "-target bpf)",
                                      "bpfq: error: " + std::string(BPFQ_SOURCE_DIR) + ": 1 problem"}));
}

TEST(ProgCheck, AProgramWithoutParametersTakesNone) {
  const std::string obj = test_object("engine_one_object");
  EXPECT_EQ(check(obj + " limit 3", 1),
            (std::vector<std::string>{"bpfq: error: " + obj +
                                          ": unknown parameter 'limit' (hint: the program has no parameters (const "
                                          "volatile globals))",
                                      "bpfq: error: " + obj + ": 1 problem"}));
}

TEST(ProgCheck, EveryLibraryQdiscPasses) {
  for (const char* name : {"pfifo", "bfifo", "pfifo_fast", "prio", "drr", "sfq", "tbf rate 1mbit burst 10kb latency 50ms", "netem", "codel",
                           "fq_codel", "fq", "red", "choke", "sfb", "pie", "fifo", "skbprio", "ets bands 3", "etf", "cbs",
                           "taprio num_tc 2", "fq_pie", "htb", "hfsc", "cake", "srpt", "stfq", "wf2q", "carousel", "eiffel",
                           "mq_rbtree"}) {
    const std::string args = name;
    const size_t space = args.find(' ');
    const std::string object = library_object(args.substr(0, space));
    const Outcome o = run_bpfq("prog check " + object + (space == std::string::npos ? "" : args.substr(space)));
    EXPECT_EQ(o.exit_code, 0) << name << ": " << o.output;
  }
  // tbf's init refuses to run without a rate, as `qdisc add … bpf obj tbf.bpf.o` does.
  const Outcome tbf = run_bpfq("prog check " + library_object("tbf"));
  EXPECT_EQ(tbf.exit_code, 1);
  EXPECT_TRUE(contains(tbf.output, "tbf.bpf.o section qdisc/init: qdisc/init returned 1")) << tbf.output;
}

// (type, "helper <id> <name>" or "kfunc <name>") for every row of docs/helpers.md's tables
// under "## qdisc: …" and "## tc: …".
std::set<std::pair<std::string, std::string>> documented() {
  std::ifstream in(std::string(BPFQ_SOURCE_DIR) + "/docs/helpers.md");
  EXPECT_TRUE(in.good());
  std::set<std::pair<std::string, std::string>> rows;
  std::string type;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) {
      const size_t colon = line.find(':');
      type = colon == std::string::npos ? "" : line.substr(3, colon - 3);
      continue;
    }
    if (type.empty() || !line.starts_with("| ") || line.starts_with("| id ")) continue;
    const size_t tick = line.find('`'), end = line.find('`', tick + 1);
    if (tick == std::string::npos || end == std::string::npos) continue;
    const std::string first = line.substr(2, line.find(" |") - 2);
    const std::string name = line.substr(tick + 1, end - tick - 1);
    rows.emplace(type, first == "kfunc" ? "kfunc " + name : "helper " + first + " " + name);
  }
  return rows;
}

TEST(ProgCheck, HelpersDocListsExactlyTheRegistries) {
  const Outcome o = run_bpfq("-j prog helpers", false);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json j = nlohmann::json::parse(o.output);
  std::set<std::pair<std::string, std::string>> registered;
  for (const auto& [type, lists] : j.items()) {
    for (const auto& h : lists["helpers"])
      registered.emplace(type, "helper " + std::to_string(h["id"].get<int>()) + " " + h["name"].get<std::string>());
    for (const auto& k : lists["kfuncs"]) registered.emplace(type, "kfunc " + k.get<std::string>());
  }
  EXPECT_TRUE(registered.count({"qdisc", "helper 26 bpf_skb_load_bytes"}));
  EXPECT_TRUE(registered.count({"tc", "helper 26 bpf_skb_load_bytes"}));
  EXPECT_EQ(documented(), registered);
}

TEST(ProgCheck, HelpersAreListedPerProgramType) {
  const Outcome o = run_bpfq("prog helpers");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const std::vector<std::string> lines = lines_of(o.output);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "qdisc (qdisc/enqueue, qdisc/dequeue, qdisc/init, qdisc/reset; tc programs of a qdisc's object):");
  EXPECT_TRUE(contains(o.output, "\n  helper   26  bpf_skb_load_bytes\n")) << o.output;
  EXPECT_TRUE(contains(o.output, "\n  kfunc         bpf_skb_acquire\n")) << o.output;
  EXPECT_TRUE(contains(o.output, "\ntc (tc, classifier, action in an object without qdisc programs (filters, clsact)):\n"))
      << o.output;
}

}  // namespace
}  // namespace bpfq::test
