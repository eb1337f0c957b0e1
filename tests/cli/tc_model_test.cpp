// The tc model as users write it: library programs by name, native twins, class parameters,
// filters in the man page's word order, verbs, parameters and their units, clsact with a shared
// map (the seed's EDT use case from a tc file alone), the run's seed reaching every program, and
// runs that say when a program faulted.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

namespace bpfq::test {
namespace {

Outcome batch(const std::string& text, const std::string& args) {
  return run_bpfq("-b " + write_temp("model.tc", text) + " " + args);
}

// The numbers of a sim table row, after its name.
std::string row_of(const std::string& output, const std::string& name) {
  const size_t at = output.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  const size_t end = output.find('\n', at + 1);
  return output.substr(at + 1 + 34, end - at - 1 - 34);
}

TEST(TcModel, LibraryDisciplinesWorkByNameAndShowSaysWhichObjectRuns) {
  const Outcome o = batch("qdisc add dev eth0 root handle 1: tbf rate 5mbit burst 10kb latency 50ms\n"
                          "qdisc add dev eth1 root sfq perturb 10s\n"
                          "qdisc add dev eth2 root native_pfifo limit 5\n",
                          "qdisc show");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc tbf 1: dev eth0 root obj " + library_object("tbf") +
                                     " rate 5mbit burst 10kb latency 50ms\n"))
      << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc sfq 8001: dev eth1 root obj " + library_object("sfq") + " perturb 10s\n"))
      << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc native_pfifo 8001: dev eth2 root limit 5p\n")) << o.output;

  const Outcome unknown = run_bpfq("qdisc add dev eth0 root fq_nonsense");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(contains(unknown.output, "bpfq: error: command line: unknown qdisc 'fq_nonsense': not a kind (bpf, "
                                       "native_pfifo, native_bfifo, pfifo_head_drop, native_pfifo_fast, native_fq_codel, mq, mqprio) "
                                       "and no fq_nonsense.bpf.o in the qdisc library ("))
      << unknown.output;
}

TEST(TcModel, OnlyConstVolatileGlobalsAreParametersAndTheirUnitsAreChecked) {
  Outcome o = run_bpfq("qdisc add dev eth0 root red qcount 7");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "'qcount' is program state (.bss), not a parameter (hint: parameters are `const "
                                 "volatile` globals; its parameters are limit, min, max, avpkt, burst, probability, "
                                 "bandwidth, ecn, harddrop, nodrop, adaptive)"))
      << o.output;
  EXPECT_FALSE(contains(o.output, "____fmt")) << o.output;

  o = run_bpfq("qdisc add dev eth0 root pfifo limit 10gbit");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "parameter 'limit' takes an integer (bpfq_count), not a rate: '10gbit'")) << o.output;

  o = run_bpfq("qdisc add dev eth0 root fq_codel target 5mbit");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "parameter 'target' takes a time (bpfq_time_ns), not a rate: '5mbit'")) << o.output;

  // A bare number is the raw value; show prints what the program holds, in its unit.
  o = batch("qdisc add dev eth0 root fq_codel target 2000000 interval 50ms noecn\n", "qdisc show");
  EXPECT_TRUE(contains(o.output, "fq_codel.bpf.o target 2ms interval 50ms ecn 0\n")) << o.output;
}

TEST(TcModel, DrrClassesTakeTheirQuantumFromTheClassLine) {
  // Was: every packet dropped (the program found no quantum for classes set up from a tc file).
  const std::string setup = "link add dev eth0 rate 10mbit\n"
                            "qdisc add dev eth0 root handle 1: drr\n"
                            "class add dev eth0 parent 1: classid 1:1 drr quantum 1500\n"
                            "class add dev eth0 parent 1: classid 1:2 drr quantum 3000\n"
                            "filter add dev eth0 protocol ip parent 1: prio 1 u32 match ip protocol 1 0xff flowid 1:1\n"
                            "filter add dev eth0 protocol ip parent 1: prio 2 u32 match ip protocol 6 0xff flowid 1:2\n";
  const Outcome shown = batch(setup, "class show");
  EXPECT_EQ(shown.output, "class drr 1:1 dev eth0 parent 1: leaf 0: quantum 1500\n"
                          "class drr 1:2 dev eth0 parent 1: leaf 0: quantum 3000\n");
  const Outcome run = run_bpfq("-j sim --duration 2 --setup " + write_temp("drr.tc", setup));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json j = nlohmann::json::parse(run.output)[0];
  EXPECT_GT(j["report"]["qdisc"]["sent_packets"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["report"]["qdisc"]["dropped"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["setup"]["classes"][0]["options"]["quantum"], 1500);

  const Outcome bad = batch("qdisc add dev eth0 root handle 1: drr\nclass add dev eth0 parent 1: classid 1:1 drr weight 3\n",
                            "class show");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "2: qdisc drr has no class parameter 'weight' (hint: its class parameters are quantum)"))
      << bad.output;
}

TEST(TcModel, VerbsReplaceChangeAndDeleteAndTcAsFirstWord) {
  const Outcome o = batch("tc qdisc add dev eth0 root handle 1: pfifo limit 10\n"
                          "tc qdisc change dev eth0 root pfifo limit 20\n"
                          "qdisc add dev eth1 root handle 1: prio\n"
                          "qdisc add dev eth1 parent 1:1 handle 10: bfifo\n"
                          "filter add dev eth1 parent 1: prio 1 u32 match ip protocol 1 0xff flowid 1:1\n"
                          "qdisc replace dev eth1 root handle 2: native_pfifo\n"
                          "qdisc add dev eth2 root sfq\n"
                          "qdisc del dev eth2 root\n",
                          "qdisc show");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(o.output, "qdisc pfifo 1: dev eth0 root obj " + library_object("pfifo") + " limit 20\n"
                      "qdisc native_pfifo 2: dev eth1 root limit 1000p\n");
  const Outcome filters = batch("qdisc add dev eth0 root handle 1: prio\n"
                                "filter add dev eth0 parent 1: prio 1 u32 match ip protocol 1 0xff flowid 1:1\n"
                                "filter add dev eth0 parent 1: prio 2 u32 match ip protocol 6 0xff flowid 1:2\n"
                                "filter replace dev eth0 parent 1: prio 1 u32 match ip protocol 17 0xff flowid 1:3\n"
                                "filter change dev eth0 parent 1: prio 2 u32 match ip protocol 6 0xff flowid 1:1\n",
                                "filter show");
  EXPECT_EQ(filters.output, "filter dev eth0 parent 1: protocol all pref 1 u32 chain 0 match ip protocol 17 0xff flowid 1:3\n"
                            "filter dev eth0 parent 1: protocol all pref 2 u32 chain 0 match ip protocol 6 0xff flowid 1:1\n");

  const Outcome bad = batch("qdisc add dev eth0 root pfifo\nqdisc change dev eth0 root sfq\n", "");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "2: cannot change a pfifo qdisc into sfq (hint: use qdisc replace")) << bad.output;
  const Outcome gone = batch("qdisc del dev eth0 root\n", "");
  EXPECT_TRUE(contains(gone.output, "1: no qdisc at root of eth0")) << gone.output;
}

TEST(TcModel, TheRunSeedReachesEveryProgramAndTheSameSeedGivesTheSameRun) {
  const std::string red = "red limit 400000 min 30000 max 90000 avpkt 1000 burst 55 probability 2%";
  // Was: a second run of the same program continued the first one's random stream.
  const Outcome twice = run_bpfq("sim --duration 4 --compare '" + red + "," + red + "'");
  ASSERT_EQ(twice.exit_code, 0) << twice.output;
  const size_t first = twice.output.find("red limit");
  const size_t second = twice.output.find("red limit", first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(twice.output.substr(first + 34, twice.output.find('\n', first) - first - 34),
            twice.output.substr(second + 34, twice.output.find('\n', second) - second - 34));
  // Was: --seed never reached bpf_get_prandom_u32.
  const Outcome one = run_bpfq("-j sim --duration 4 --seed 1 -q '" + red + "'");
  const Outcome two = run_bpfq("-j sim --duration 4 --seed 2 -q '" + red + "'");
  const auto drops = [](const Outcome& o) {
    return nlohmann::json::parse(o.output)[0]["report"]["qdisc"]["drops_by_reason"].dump();
  };
  EXPECT_NE(drops(one), drops(two));
}

TEST(TcModel, TheEdtUseCaseRunsFromATcFileAlone) {
  // The seed's use case 2: a clsact program stamps departure times from token state in a map
  // pinned by name, which the qdisc program (another object) shares and refunds on drops.
  const std::string setup = "link add dev eth0 rate 10mbit\n"
                            "qdisc add dev eth0 clsact\n"
                            "filter add dev eth0 egress bpf obj " + test_object("engine_edt_clsact") +
                            " sec tc da rate 5mbit\n"
                            "qdisc add dev eth0 root bpf obj " + test_object("engine_edt") + " rate 625000 limit 100\n";
  const Outcome shown = batch(setup, "qdisc show");
  EXPECT_TRUE(contains(shown.output, "qdisc clsact ffff: dev eth0 parent ffff:fff1\n")) << shown.output;
  const Outcome o = run_bpfq("-j sim --duration 10 --setup " + write_temp("edt.tc", setup));
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json r = nlohmann::json::parse(o.output)[0]["report"];
  const double link_bps = r["link"]["bytes_sent"].get<double>() * 8 / 10.0;
  EXPECT_EQ(r["link"]["rate_mbps"], 10.0);
  EXPECT_NEAR(link_bps, 5e6, 5e6 * 0.01);
}

TEST(TcModel, AClsactProgramOfTheQdiscsOwnObjectSharesItsMaps) {
  // engine_one_object drops every packet whose length its tc program did not write into a map
  // it shares (unpinned) with the qdisc: only one object running both keeps packets.
  const std::string obj = test_object("engine_one_object");
  const std::string root = "qdisc add dev eth0 root bpf obj " + obj + "\n";
  const auto run = [](const std::string& setup) {
    const Outcome o = run_bpfq("-j sim --duration 2 --setup " + write_temp("one.tc", setup));
    EXPECT_EQ(o.exit_code, 0) << o.output;
    return nlohmann::json::parse(o.output)[0]["report"]["qdisc"];
  };
  const nlohmann::json shared = run("qdisc add dev eth0 clsact\nfilter add dev eth0 egress bpf obj " + obj +
                                    " sec tc da\n" + root);
  EXPECT_GT(shared["sent_packets"].get<uint64_t>(), 1000u);
  EXPECT_EQ(shared["dropped"], 0);
  const nlohmann::json alone = run(root);  // no tc program: the map never holds the length
  EXPECT_EQ(alone["sent_packets"], 0);
  EXPECT_GT(alone["dropped"].get<uint64_t>(), 0u);
}

TEST(TcModel, AProgramTheVerifierRefusesIsNotRunUnlessAsked) {
  const std::string q = "'bpf obj " + test_object("engine_fault_every") + " every 50'";
  const Outcome o = run_bpfq("sim --duration 2 -q " + q);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "bpfq: error: qdisc 'bpf obj " + test_object("engine_fault_every") + " every 50': " +
                                     test_object("engine_fault_every") +
                                     " section qdisc/enqueue insn 14 (engine_fault_every.bpf.c:28): verifier: R2 "
                                     "invalid mem access 'scalar'"))
      << o.output;
  EXPECT_TRUE(contains(o.output, "(hint: only pointers can be dereferenced; this register holds a number)")) << o.output;
}

TEST(TcModel, ARunWhoseProgramFaultedSaysSoAndExitsNonZero) {
  // --unverified: the program the verifier refuses runs checked, and its faults are counted.
  const std::string q = "'bpf obj " + test_object("engine_fault_every") + " every 50'";
  Outcome o = run_bpfq("sim --unverified --duration 2 -q " + q);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, " program faults, ")) << o.output;
  EXPECT_TRUE(contains(o.output, ", 1 programs not verified (run checked); last fault: qdisc/enqueue: ")) << o.output;
  EXPECT_TRUE(contains(o.output, "problems:\n  bpf obj " + test_object("engine_fault_every") + " every 50: ")) << o.output;
  EXPECT_TRUE(contains(o.output, "engine_fault_every.bpf.c:")) << o.output;  // the source line
  EXPECT_TRUE(contains(o.output, "bpfq: error: sim: 1 of 1 runs did not run cleanly")) << o.output;

  o = run_bpfq("sim --unverified --duration 2 --allow-faults -q " + q + " -j");  // -j after the subcommand
  EXPECT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json health = nlohmann::json::parse(o.output)[0]["health"];
  EXPECT_FALSE(health["clean"].get<bool>());
  EXPECT_GT(health["program_faults"].get<uint64_t>(), 10u);
  EXPECT_EQ(health["unverified_programs"], 1);
  EXPECT_TRUE(health["last_fault"].get<std::string>().starts_with("qdisc/enqueue: ")) << health;
}

TEST(TcModel, TheTextReportHasShortFlowCompletionTimes) {
  const Outcome o = run_bpfq("sim --preset mixed --duration 3 -q fq_codel");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "short flows                        group         started completed  FCT p50 ms"))
      << o.output;
  EXPECT_NE(row_of(o.output, "fq_codel"), "");
}

}  // namespace
}  // namespace bpfq::test
