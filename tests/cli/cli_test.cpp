// Runs the bpfq binary and checks what a user sees: output, error messages and exit codes
// (0 success, 1 a bpfq error, 2 bad usage).
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

namespace bpfq::test {
namespace {

Outcome bpfq(const std::string& args) { return run_bpfq(args); }

TEST(Cli, ProgShowListsProgramsAndMaps) {
  const Outcome o = bpfq("prog show " + library_object("pfifo"));
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc/enqueue")) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc/dequeue")) << o.output;
  EXPECT_TRUE(contains(o.output, "RBTREE")) << o.output;
}

TEST(Cli, ProgCheckLinksEveryProgram) {
  const Outcome o = bpfq("prog check " + library_object("fifo"));
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc/enqueue (fifo_enqueue):")) << o.output;
  EXPECT_TRUE(contains(o.output, "ok")) << o.output;
}

TEST(Cli, ProgCheckNamesTheUnknownHelperAndItsInstruction) {
  const Outcome o = bpfq("prog check " + test_object("runtime_bad_helper"));
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "bpfq: error: ")) << o.output;
  EXPECT_TRUE(contains(o.output, "unknown helper id")) << o.output;
  EXPECT_TRUE(contains(o.output, "insn ")) << o.output;
}

TEST(Cli, ProgCheckRefusesAWriteToAReadOnlyPacketField) {
  const Outcome q = bpfq("prog check " + test_object("engine_bad_skb_write"));
  EXPECT_EQ(q.exit_code, 1) << q.output;
  EXPECT_TRUE(contains(q.output, "engine_bad_skb_write.bpf.c:10): verifier: writes 4 bytes to __sk_buff.len, which is read-only"))
      << q.output;
  const Outcome tc = bpfq("prog check " + test_object("engine_bad_skb_write_tc"));
  EXPECT_EQ(tc.exit_code, 1) << tc.output;
  EXPECT_TRUE(contains(tc.output, "__sk_buff.data_end, which is read-only")) << tc.output;
}

TEST(Cli, AMissingFileIsAnErrorNamingIt) {
  const Outcome o = bpfq("prog show /nonexistent/x.bpf.o");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "/nonexistent/x.bpf.o: cannot open: No such file or directory")) << o.output;
}

TEST(Cli, ANonElfFileIsRejected) {
  const std::string path = write_temp("not_elf.o", "this is not an ELF object\n");
  const Outcome o = bpfq("prog show " + path);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, path)) << o.output;
}

TEST(Cli, DumpOfAnUnknownSectionListsTheSections) {
  const Outcome o = bpfq("prog dump " + library_object("pfifo") + " --section nope");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "no program in section or named 'nope'")) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc/enqueue qdisc/dequeue")) << o.output;
}

TEST(Cli, UnknownQdiscKindIsAnErrorBeforeAnyRun) {
  const Outcome o = bpfq("sim --duration 1 --compare pfifo,fq_nonsense");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "qdisc 'fq_nonsense': unknown qdisc 'fq_nonsense'")) << o.output;
  EXPECT_FALSE(contains(o.output, "scenario bufferbloat")) << o.output;  // nothing ran
}

TEST(Cli, BadQdiscOptionsNameTheToken) {
  Outcome o = bpfq("sim --duration 1 -q 'native_pfifo limt 5'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "unexpected 'limt'")) << o.output;
  o = bpfq("sim --duration 1 -q 'native_pfifo limit many'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "expected a number, got 'many'")) << o.output;
  o = bpfq("sim --duration 1 -q 'native_pfifo limit 5000000000'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "limit 5000000000 is too large")) << o.output;
  // The library's pfifo (a program) names the parameter the same way.
  o = bpfq("sim --duration 1 -q 'pfifo limt 5'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "unknown parameter 'limt' (hint: its parameters are limit)")) << o.output;
  o = bpfq("sim --duration 1 -q 'pfifo limit 5000000000'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "does not fit parameter 'limit' (4 bytes)")) << o.output;
}

TEST(Cli, AnUnknownProgramParameterIsAnError) {
  const Outcome o = bpfq("sim --duration 1 -q 'bpf obj " + library_object("fifo") + " limt 5'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "limt")) << o.output;
}

TEST(Cli, AnObjectWithoutQdiscProgramsCannotBeAQdisc) {
  const Outcome o = bpfq("sim --duration 1 -q 'bpf obj " + test_object("runtime_globals") + "'");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "no qdisc/enqueue program")) << o.output;
}

TEST(Cli, ABadScenarioFileNamesFileLineAndKey) {
  const std::string path = write_temp("bad.toml", "[link]\nrate = \"10 parsecs\"\n");
  const Outcome o = bpfq("sim --scenario " + path);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, path + ":2")) << o.output;
  EXPECT_TRUE(contains(o.output, "link.rate")) << o.output;
}

TEST(Cli, BadUsageExitsWithTwo) {
  EXPECT_EQ(bpfq("").exit_code, 2);
  EXPECT_EQ(bpfq("prog").exit_code, 2);
  EXPECT_EQ(bpfq("sim --no-such-flag").exit_code, 2);
}

TEST(Cli, SimComparesQdiscsSideBySideAndAgreesWithItself) {
  const std::string args = "sim --duration 3 --compare 'native_pfifo,bpf obj " + library_object("pfifo") + "'";
  const Outcome a = bpfq(args);
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_TRUE(contains(a.output, "scenario bufferbloat")) << a.output;
  EXPECT_TRUE(contains(a.output, "qdisc native_pfifo:")) << a.output;
  EXPECT_TRUE(contains(a.output, " Sent ")) << a.output;
  EXPECT_EQ(bpfq(args).output, a.output);  // deterministic
}

TEST(Cli, SimJsonIsOneReportPerQdisc) {
  const Outcome o = bpfq("-j sim --duration 2 --compare pfifo,bfifo");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(o.output.front(), '[');
  EXPECT_TRUE(contains(o.output, "\"qdisc\": \"pfifo\"")) << o.output.substr(0, 400);
  EXPECT_TRUE(contains(o.output, "\"qdisc\": \"bfifo\"")) << o.output.substr(0, 400);
}

// The table row of `name` without its name column (34 characters), or "" if it is absent.
std::string row_numbers(const std::string& output, const std::string& name) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.size() > 34 && line.compare(0, name.size() + 1, name + " ") == 0) return line.substr(34);
  return "";
}

TEST(Cli, NativeAndEbpfFqCodelGiveTheSameSimulation) {
  // The two are exact twins (tests/qdiscs/fq_codel_twin_test.cpp): under TCP load every drop,
  // mark and departure is the same, so every number in their rows is.
  const Outcome o = bpfq("sim --duration 5 --compare 'native_fq_codel,bpf obj " + library_object("fq_codel") +
                         ",native_fq_codel target 10ms,bpf obj " + library_object("fq_codel") + " target 10ms'");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const std::string native = row_numbers(o.output, "native_fq_codel");
  ASSERT_FALSE(native.empty()) << o.output;
  EXPECT_EQ(row_numbers(o.output, "fq_codel.bpf.o"), native) << o.output;
  const std::string native_10ms = row_numbers(o.output, "native_fq_codel target 10ms");
  EXPECT_EQ(row_numbers(o.output, "fq_codel.bpf.o target 10ms"), native_10ms) << o.output;
  EXPECT_NE(native_10ms, native);  // the parameter reached both
}

TEST(Cli, TwoIdenticalFlowsShareFqCodelWithinFivePercent) {
  const std::string scenario = write_temp("two_flows.toml", R"(name = "two"
duration = "20s"
[link]
rate = "10mbit"
rtt = "40ms"
[[tcp]]
name = "a"
[[tcp]]
name = "b"
)");
  const Outcome o = bpfq("-j sim --scenario " + scenario + " -q 'bpf obj " + library_object("fq_codel") + "'");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json j = nlohmann::json::parse(o.output);
  const nlohmann::json& report = j.is_array() ? j.at(0).at("report") : j;
  std::vector<double> goodput;
  for (const auto& f : report.at("flows"))
    if (f.at("kind") == "tcp") goodput.push_back(f.at("goodput_mbps").get<double>());
  ASSERT_EQ(goodput.size(), 2u) << o.output.substr(0, 600);
  EXPECT_GT(goodput[0] + goodput[1], 8.5);  // together most of the 9.56 Mbit/s TCP can carry
  EXPECT_LT(std::abs(goodput[0] - goodput[1]), 0.05 * std::max(goodput[0], goodput[1]))
      << goodput[0] << " vs " << goodput[1];
}


// The JIT and the interpreter are interchangeable: the same run gives the same report, byte
// for byte, and the health says which one ran the verified programs.
TEST(Cli, BothBackendsGiveTheSameSimulationAndSaySoInTheHealth) {
  const std::string run = "sim --duration 2 -q 'bpf obj " + library_object("fq_codel") + "' -j";
  const Outcome jit = bpfq("--backend jit " + run);
  const Outcome interp = bpfq("--backend interpreter " + run);
  ASSERT_EQ(jit.exit_code, 0) << jit.output;
  ASSERT_EQ(interp.exit_code, 0) << interp.output;
  nlohmann::json a = nlohmann::json::parse(jit.output), b = nlohmann::json::parse(interp.output);
  EXPECT_EQ(a.at(0).at("health").at("verified_programs_run_on"), "jit");
  EXPECT_EQ(b.at(0).at("health").at("verified_programs_run_on"), "interpreter");
  a.at(0).at("health").erase("verified_programs_run_on");
  b.at(0).at("health").erase("verified_programs_run_on");
  EXPECT_EQ(a.dump(), b.dump());
}

TEST(Cli, AnUnknownBackendIsRefusedByName) {
  Outcome o = bpfq("--backend llvm sim --duration 1");
  EXPECT_EQ(o.exit_code, 2) << o.output;
  EXPECT_TRUE(contains(o.output, "llvm")) << o.output;
  o = run_bpfq_env("BPFQ_BACKEND=llvm", "sim --duration 1");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "bpfq: error: BPFQ_BACKEND=llvm: unknown backend 'llvm'")) << o.output;
}

}  // namespace
}  // namespace bpfq::test
