// tc-style setup through the bpfq binary: batch files and command-line lines, every error path
// (message text and exit code), the show output of a classful setup, -s counters after a
// simulated run (conservation as printed) and -j output.
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/run_bpfq.hpp"
#include "support/test_objects.hpp"

#if __has_include(<bpfq/sched/fw_filter.hpp>)
#define HAS_FW 1
#else
#define HAS_FW 0
#endif

namespace bpfq::test {
namespace {

// Runs `bpfq [flags] -b FILE [words]` on a batch file holding text.
Outcome batch(const std::string& text, const std::string& flags = "", const std::string& words = "") {
  const std::string path = write_temp("setup.tc", text);
  return run_bpfq(flags + " -b " + path + " " + words);
}

std::string prio_object() { return test_object("device_prio"); }

// A two-band priority qdisc (device_prio: classes 1:1 before 1:2) with native_pfifo 10: on 1:1,
// the default native pfifo on 1:2, ICMP and (when fw exists) mark 7 to the high band.
std::string prio_setup() {
  std::string s =
      "# a prio-like bpf qdisc\n"
      "link add dev eth0 txqueuelen 500\n"
      "\n"
      "qdisc add dev eth0 root handle 1: bpf obj " + prio_object() + "\n"
      "class add dev eth0 parent 1: classid 1:1\n"
      "class add dev eth0 parent 1: classid 1:2\n"
      "qdisc add dev eth0 parent 1:1 handle 10: native_pfifo limit 100\n"
      "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip protocol 1 0xff classid 1:1\n";
  if (HAS_FW) s += "filter add dev eth0 parent 1: protocol ip prio 2 handle 7 fw classid 1:1\n";
  return s;
}

// Asserts a failing batch: exit code 1 and the message (after "bpfq: error: ").
void expect_batch_error(const std::string& text, const std::string& message) {
  const Outcome o = batch(text);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(contains(o.output, "bpfq: error: " + write_temp("setup.tc", text) + ":" + message)) << o.output;
}

TEST(CliSetup, AnUnknownWordNamesLineTokenAndExpectation) {
  expect_batch_error("# comment\n\nqdisc add dev eth0 root native_pfifo limit 100 foo\n",
                     "3: unexpected 'foo' after 'limit 100': expected the end of the line");
  expect_batch_error("qdisk add dev eth0 root pfifo\n",
                     "1: unexpected 'qdisk': expected qdisc, class, filter, link or struct_ops");
  expect_batch_error("qdisc add dev eth0 root handle\n",
                     "1: expected a qdisc handle (1:) after 'root handle'");
  expect_batch_error("qdisc add dev eth0 root handle 1:5 pfifo\n",
                     "1: unexpected '1:5' after 'root handle': expected a qdisc handle with minor 0 (1:, 10:)");
  expect_batch_error("qdisc add dev eth0 under 1:1 pfifo\n",
                     "1: unexpected 'under' after 'dev eth0': expected root or parent X:Y");
  expect_batch_error("link add dev eth0 mtu lots\n", "1: unexpected 'lots' after 'eth0 mtu': expected an MTU in bytes (68 to 65535)");
  expect_batch_error("link add dev eth0 rate 10mbit gso maybe\n", "1: unexpected 'maybe' after '10mbit gso': expected on or off");
  expect_batch_error("link add dev eth0 tso on\n",
                     "1: unexpected 'tso' after 'dev eth0': expected mtu, txqueuelen, numtxqueues, rate, gso or the end of the line");
}

TEST(CliSetup, AnUnknownQdiscKindListsTheKinds) {
  expect_batch_error("qdisc add dev eth0 root handle 1: fq_nonsense\n",
                     "1: unknown qdisc 'fq_nonsense': not a kind (bpf, native_pfifo, native_bfifo, pfifo_head_drop, "
                     "native_pfifo_fast, native_fq_codel, mq, mqprio) and no fq_nonsense.bpf.o in the qdisc library (");
}

TEST(CliSetup, UnknownParentsAreErrors) {
  expect_batch_error("qdisc add dev eth0 parent 5:1 pfifo\n", "1: unknown parent 5:1: eth0 has no qdisc 5:");
  expect_batch_error("qdisc add dev eth0 root handle 1: native_pfifo\nqdisc add dev eth0 parent 1:1 pfifo\n",
                     "2: unknown parent 1:1: qdisc 1: is native_pfifo, which has no classes");
  expect_batch_error("class add dev eth0 parent 1: classid 1:1\n", "1: unknown parent 1:: eth0 has no such qdisc");
  expect_batch_error("qdisc add dev eth0 root handle 1: bpf obj " + prio_object() +
                         "\nfilter add dev eth0 parent 1:7 prio 1 u32 match ip dport 22 0xffff classid 1:1\n",
                     "2: unknown parent 1:7 on eth0");
  expect_batch_error("qdisc add dev eth0 root handle 1: native_pfifo\n"
                     "filter add dev eth0 parent 1: prio 1 u32 match ip dport 22 0xffff classid 1:1\n",
                     "2: qdisc 1: is native_pfifo, which runs no filters");
}

TEST(CliSetup, DuplicatesAreErrorsNamingTheFirstLine) {
  const std::string path = write_temp("setup.tc", "");
  const std::string root = "qdisc add dev eth0 root handle 1: bpf obj " + prio_object() + "\n";
  expect_batch_error(root + "qdisc add dev eth0 parent 1:1 handle 1: pfifo\n",
                     "2: handle 1: is taken on eth0 by qdisc bpf (" + path + ":1)");
  expect_batch_error(root + "qdisc add dev eth0 root handle 2: pfifo\n",
                     "2: eth0 already has a root qdisc 1: (" + path + ":1)");
  expect_batch_error(root + "class add dev eth0 parent 1: classid 1:1\nclass add dev eth0 parent 1: classid 1:1\n",
                     "3: class 1:1 exists on eth0 (" + path + ":2)");
  expect_batch_error(root + "qdisc add dev eth0 parent 1:1 pfifo\nqdisc add dev eth0 parent 1:1 bfifo\n",
                     "3: class 1:1 already has qdisc 8001: (" + path + ":2)");
  expect_batch_error("qdisc add dev eth0 root pfifo\nlink add dev eth0 mtu 9000\n", "2: device eth0 exists");
}

TEST(CliSetup, AProgramThatFailsToLoadIsReportedOnItsLine) {
  expect_batch_error("qdisc add dev eth0 root pfifo_fast\nqdisc add dev eth1 root bpf obj " +
                         test_object("runtime_bad_helper") + "\n",
                     "2: " + test_object("runtime_bad_helper"));
  const Outcome bad_helper = batch("qdisc add dev eth1 root bpf obj " + test_object("runtime_bad_helper") + "\n");
  EXPECT_TRUE(contains(bad_helper.output, "unknown helper id")) << bad_helper.output;
  const Outcome missing = batch("qdisc add dev eth0 root bpf obj /nonexistent/q.bpf.o\n");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "/nonexistent/q.bpf.o: cannot open: No such file or directory")) << missing.output;
  expect_batch_error("qdisc add dev eth0 root bpf obj " + test_object("runtime_globals") + "\n", "1: ");
  EXPECT_TRUE(contains(batch("qdisc add dev eth0 root bpf obj " + test_object("runtime_globals") + "\n").output,
                       "no qdisc/enqueue program"));
  expect_batch_error("filter add dev eth0 parent 1: prio 1 bpf obj " + test_object("device_cls") + " sec nope\n",
                     "1: ");
  EXPECT_TRUE(contains(batch("filter add dev eth0 parent 1: bpf obj " + test_object("device_cls") + " sec nope\n").output,
                       "nope"));
}

TEST(CliSetup, BadParameterValuesNameTheTokenAndTheForms) {
  const std::string q = "qdisc add dev eth0 root bpf obj " + library_object("fifo");
  expect_batch_error(q + " limit 10parsecs\n",
                     "1: bad value '10parsecs' (unknown unit 'parsecs'): expected an integer (100, 0x1f), a time "
                     "(10ms, 5us, 1s), a rate (10mbit, 1gbit, 1mbps), a size (1514b, 64kb, 1mb) or a percentage (1%)");
  expect_batch_error(q + " limit 5000000000\n",
                     "1: " + library_object("fifo") +
                         ": value 5000000000 (integer 5000000000) does not fit parameter 'limit' (4 bytes)");
  expect_batch_error(q + " limit 100gbit\n", "1: " + library_object("fifo") +
                                                 ": parameter 'limit' takes an integer (bpfq_count), not a rate: '100gbit'");
  expect_batch_error(q + " limt 5\n", "1: " + library_object("fifo") + ": unknown parameter 'limt' (hint: its parameters are limit)");
  expect_batch_error(q + " limit 100 200\n", "1: unexpected '200' after 'limit 100': expected a parameter name");
  expect_batch_error(q + " limit 101%\n", "1: bad value '101%' (a percentage is at most 100%)");
}

TEST(CliSetup, BadFiltersAreReportedOnTheirLine) {
  const std::string root = "qdisc add dev eth0 root handle 1: bpf obj " + prio_object() + "\n";
  expect_batch_error(root + "filter add dev eth0 parent 1: prio 1 nonsense\n",
                     std::string("2: unexpected 'nonsense' after 'prio 1': expected ") + (HAS_FW ? "u32, fw or bpf" : "u32 or bpf"));
  expect_batch_error(root + "filter add dev eth0 parent 1: prio 1 u32 match ip dport 22 0xffff\n", "2: u32 filter: ");
  expect_batch_error(root + "filter add dev eth0 parent 1: prio 0 u32 match ip dport 22 0xffff classid 1:1\n",
                     "2: unexpected '0' after '1: prio': expected a priority (1 to 65535)");
  expect_batch_error(root + "filter add dev eth0 parent 1: prio 1 handle 5 u32 match ip dport 22 0xffff classid 1:1\n",
                     "2: a u32 filter takes no handle");
  if (HAS_FW)
    expect_batch_error(root + "filter add dev eth0 parent 1: prio 1 fw classid 1:1\n",
                       "2: fw filter: a class id needs a handle");
}

// As Linux's prio and ets, a program with a `bands` parameter has a class per band, each with
// a pfifo unless a line gives it a qdisc.
TEST(CliSetup, PrioMakesAClassPerBand) {
  const std::string setup = "qdisc add dev eth0 root handle 1: prio bands 4\n"
                            "qdisc add dev eth0 parent 1:2 handle 20: native_pfifo limit 50\n";
  const Outcome c = batch(setup, "", "class show dev eth0");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(c.output, "class prio 1:2 parent 1: leaf 20:\nclass prio 1:1 parent 1: leaf 0:\n"
                      "class prio 1:3 parent 1: leaf 0:\nclass prio 1:4 parent 1: leaf 0:\n");
  // By name alone, prio carries traffic: every band has a queue.
  const Outcome sim = run_bpfq("sim --duration 2 -q prio -j", false);
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  EXPECT_TRUE(contains(sim.output, "\"no_class\"") == false) << sim.output;
  EXPECT_TRUE(contains(sim.output, "\"clean\": true")) << sim.output;
}

TEST(CliSetup, AMissingBatchFileIsAnError) {
  const Outcome o = run_bpfq("-b /nonexistent/setup.tc");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "bpfq: error: /nonexistent/setup.tc: cannot open: No such file or directory")) << o.output;
}

TEST(CliSetup, ShowDevicesOfAClassfulSetup) {
  const Outcome q = batch(prio_setup(), "", "qdisc show dev eth0");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_EQ(q.output, "qdisc bpf 1: root obj " + prio_object() + "\n" +
                          "qdisc native_pfifo 10: parent 1:1 limit 100p\n"
                          "qdisc native_pfifo 0: parent 1:2 limit 500p\n");

  const Outcome c = batch(prio_setup(), "", "class show dev eth0");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(c.output, "class bpf 1:1 parent 1: leaf 10:\nclass bpf 1:2 parent 1: leaf 0:\n");

  const Outcome f = batch(prio_setup(), "", "filter show dev eth0");
  ASSERT_EQ(f.exit_code, 0) << f.output;
  std::string filters = "filter parent 1: protocol ip pref 1 u32 chain 0 match ip protocol 1 0xff classid 1:1\n";
  if (HAS_FW) filters += "filter parent 1: protocol ip pref 2 fw chain 0 handle 7 classid 1:1\n";
  EXPECT_EQ(f.output, filters);

  // Without `dev`, every line names its device; show lines inside the batch print in order.
  const Outcome all = batch(prio_setup() + "qdisc add dev lo root native_pfifo_fast\nqdisc add dev lo2 root pfifo_fast\n"
                            "qdisc show\n");
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_TRUE(contains(all.output, "qdisc native_pfifo 10: dev eth0 parent 1:1 limit 100p\n")) << all.output;
  EXPECT_TRUE(contains(all.output,
                       "qdisc native_pfifo_fast 8001: dev lo root bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n"))
      << all.output;
  EXPECT_TRUE(contains(all.output, "qdisc pfifo_fast 8001: dev lo2 root obj " + library_object("pfifo_fast") + "\n"))
      << all.output;
}

TEST(CliSetup, ACommandLineLineRunsAfterTheBatchOrAlone) {
  const Outcome alone = run_bpfq("qdisc add dev eth0 root bfifo limit 64kb");
  EXPECT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_EQ(alone.output, "");
  const Outcome bad = run_bpfq("qdisc add dev eth0 root bfifo limit 64parsecs");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "bpfq: error: command line: bad value '64parsecs'")) << bad.output;
  const Outcome shown = batch("qdisc add dev eth0 root native_bfifo limit 64kb\n", "-s", "qdisc show");
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_EQ(shown.output,
            "qdisc native_bfifo 8001: dev eth0 root limit 65536b\n"
            " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0)\n"
            " backlog 0b 0p requeues 0\n"
            " enqueued 0 bytes 0 pkt\n");
  // -s after the line, as tc takes it; the library's bfifo shows its limit in bytes.
  const Outcome program = batch("qdisc add dev eth0 root bfifo limit 64kb\n", "", "qdisc show -s");
  EXPECT_EQ(program.output,
            "qdisc bfifo 8001: dev eth0 root obj " + library_object("bfifo") + " limit 64kb\n"
            " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0)\n"
            " backlog 0b 0p requeues 0\n"
            " enqueued 0 bytes 0 pkt\n"
            " program runs 0 faults 0 leaked_refs 0 bad_dequeues 0\n");
  const Outcome unknown_dev = batch("qdisc add dev eth0 root pfifo\n", "", "qdisc show dev eth9");
  EXPECT_EQ(unknown_dev.exit_code, 1);
  EXPECT_TRUE(contains(unknown_dev.output, "command line: cannot find device eth9")) << unknown_dev.output;
}

TEST(CliSetup, ParametersTakeTcUnitsAndFlags) {
  // engine_strict_prio.bpf.c's limit is a plain u32 (no unit type: any unit is taken as its
  // number): what the program holds is read back into -j's params.
  const auto limit_of = [](const std::string& words) {
    const Outcome o = batch("qdisc add dev eth0 root bpf obj " + test_object("engine_strict_prio") + " " + words + "\n", "-j",
                            "qdisc show");
    EXPECT_EQ(o.exit_code, 0) << o.output;
    return nlohmann::json::parse(o.output).at(0).at("options").at("params").at("limit").get<uint64_t>();
  };
  EXPECT_EQ(limit_of("limit 64kb"), 65536u);
  EXPECT_EQ(limit_of("limit 10mbit"), 1250000u);
  EXPECT_EQ(limit_of("limit 1%"), 42949673u);
  EXPECT_EQ(limit_of("limit 100%"), 0xffffffffu);
  EXPECT_EQ(limit_of("limit 2ms"), 2000000u);
  EXPECT_EQ(limit_of("limit 0x20"), 32u);
  EXPECT_EQ(limit_of("limit"), 1u);    // a bare flag
  EXPECT_EQ(limit_of("nolimit"), 0u);  // noNAME clears NAME
}

// Every "Sent/backlog/enqueued" block of -s output: sent + dropped + backlog = enqueued.
struct Counters {
  uint64_t sent, dropped, qlen, enqueued;
};
std::vector<Counters> stats_blocks(const std::string& text) {
  std::vector<Counters> out;
  for (size_t at = text.find(" Sent "); at != std::string::npos; at = text.find(" Sent ", at + 1)) {
    unsigned long long sent = 0, dropped = 0, qlen = 0, enqueued = 0;
    const int n = std::sscanf(text.c_str() + at,
                              " Sent %*u bytes %llu pkt (dropped %llu, overlimits %*u requeues %*u)"
                              " backlog %*ub %llup requeues %*u enqueued %*u bytes %llu pkt",
                              &sent, &dropped, &qlen, &enqueued);
    EXPECT_EQ(n, 4) << text.substr(at, 200);
    out.push_back({sent, dropped, qlen, enqueued});
  }
  return out;
}

TEST(CliSetup, SimWithASetupPrintsConservedCountersForEveryQdiscAndClass) {
  const std::string path = write_temp("sim_setup.tc", prio_setup());
  const Outcome o = run_bpfq("-s sim --duration 2 --setup " + path);
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "setup " + path + " (dev eth0, 10 Mbit/s, at 2.000 s):\nqdisc bpf 1: root obj ")) << o.output;
  const std::vector<Counters> blocks = stats_blocks(o.output);
  ASSERT_EQ(blocks.size(), 5u) << o.output;  // 3 qdiscs, then the 2 classes
  for (const Counters& c : blocks) EXPECT_EQ(c.sent + c.dropped + c.qlen, c.enqueued) << o.output;
  const Counters& root = blocks[0];
  const Counters& high = blocks[3];
  const Counters& low = blocks[4];
  EXPECT_GT(high.enqueued, 0u);  // the u32 filter sent the pings to 1:1
  EXPECT_GT(low.enqueued, high.enqueued);
  EXPECT_EQ(high.enqueued + low.enqueued, root.enqueued);
  EXPECT_EQ(blocks[1].enqueued, high.enqueued);  // pfifo 10: is 1:1's leaf
  EXPECT_EQ(blocks[2].enqueued, low.enqueued);
  EXPECT_EQ(run_bpfq("-s sim --duration 2 --setup " + path).output, o.output);  // deterministic
}

TEST(CliSetup, SimSetupErrorsComeBeforeAnyRun) {
  const std::string two = write_temp("two.tc", "qdisc add dev a root pfifo\nqdisc add dev b root pfifo\n");
  Outcome o = run_bpfq("sim --duration 1 --setup " + two);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, two + ": the setup has devices a, b (hint: pick the bottleneck device with --dev NAME)"))
      << o.output;
  EXPECT_FALSE(contains(o.output, "scenario"));
  o = run_bpfq("sim --duration 1 --dev c --setup " + two);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, two + ": no device c in the setup")) << o.output;
  const std::string jumbo = write_temp("jumbo.tc", "link add dev eth0 mtu 9000\nqdisc add dev eth0 root pfifo\n");
  o = run_bpfq("sim --duration 1 --setup " + jumbo);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.output, "device eth0 has mtu 9000 (" + jumbo + ":1) but the scenario's link has mtu 1500")) << o.output;
  o = run_bpfq("sim --duration 1 --dev b --compare 'pfifo," + two + "'");
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_TRUE(contains(o.output, "setup " + two + " (dev b, 10 Mbit/s, at 1.000 s):\nqdisc pfifo 8001: root obj " +
                                     library_object("pfifo") + "\n"))
      << o.output;
}

TEST(CliSetup, JsonShowHasTcFields) {
  const Outcome o = batch(prio_setup(), "-j -s", "qdisc show dev eth0");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const nlohmann::json j = nlohmann::json::parse(o.output);
  ASSERT_EQ(j.size(), 3u) << o.output;
  EXPECT_EQ(j[0]["kind"], "bpf");
  EXPECT_EQ(j[0]["handle"], "1:");
  EXPECT_EQ(j[0]["root"], true);
  EXPECT_EQ(j[0]["options"]["obj"], prio_object());
  EXPECT_EQ(j[0]["packets"], 0);
  EXPECT_EQ(j[0]["program"]["faults"], 0);
  EXPECT_EQ(j[1]["kind"], "native_pfifo");
  EXPECT_EQ(j[1]["handle"], "10:");
  EXPECT_EQ(j[1]["parent"], "1:1");
  EXPECT_EQ(j[1]["options"]["limit"], 100);
  EXPECT_EQ(j[2]["default"], true);
  EXPECT_EQ(j[2]["options"]["limit"], 500);

  const Outcome c = batch(prio_setup(), "-j", "class show dev eth0");
  const nlohmann::json classes = nlohmann::json::parse(c.output);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0]["handle"], "1:1");
  EXPECT_EQ(classes[0]["leaf"], "10:");
  EXPECT_FALSE(classes[0].contains("packets"));  // no -s

  const std::string path = write_temp("json_setup.tc", prio_setup());
  const Outcome sim = run_bpfq("-j sim --duration 1 --setup " + path, false);
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  const nlohmann::json r = nlohmann::json::parse(sim.output);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["qdisc"], path);
  EXPECT_EQ(r[0]["setup"]["dev"], "eth0");
  EXPECT_EQ(r[0]["setup"]["at_ns"], 1'000'000'000u);
  ASSERT_EQ(r[0]["setup"]["qdiscs"].size(), 3u);
  const nlohmann::json& root = r[0]["setup"]["qdiscs"][0];
  EXPECT_EQ(root["enqueued_packets"].get<uint64_t>(),
            root["packets"].get<uint64_t>() + root["drops"].get<uint64_t>() + root["qlen"].get<uint64_t>());
  EXPECT_GT(root["enqueued_packets"].get<uint64_t>(), 0u);
}

// `map dump` shows what the programs hold: here the class parameter `quantum 3000` in drr's
// class_quantum map under the class id, in text and in JSON.
TEST(CliSetup, MapDumpShowsTheClassParametersInTheProgramsMaps) {
  const std::string setup = "qdisc add dev eth0 root handle 1: drr\nclass add dev eth0 parent 1: classid 1:1 drr quantum 3000\n";
  const Outcome text = batch(setup, "", "map dump dev eth0");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("qdisc drr 1: dev eth0\n"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find(" map class_quantum HASH key 4B value 4B max_entries 1024: 1 elements\n"
                             "  key: 01 00 01 00  value: b8 0b 00 00\n"),
            std::string::npos)
      << text.output;
  const Outcome json = batch(setup, "-j", "map dump dev eth0 handle 1:");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json dump = nlohmann::json::parse(json.output);
  ASSERT_EQ(dump.size(), 1u);
  EXPECT_EQ(dump[0]["kind"], "drr");
  bool found = false;
  for (const auto& m : dump[0]["maps"])
    if (m["name"] == "class_quantum") {
      found = true;
      EXPECT_EQ(m["count"], 1u);
      EXPECT_EQ(m["elements"][0]["key"], "01 00 01 00");
      EXPECT_EQ(m["elements"][0]["value"], "b8 0b 00 00");
    }
  EXPECT_TRUE(found) << json.output;
}

TEST(CliSetup, MapDumpErrorsNameWhatIsMissing) {
  const std::string setup = "qdisc add dev eth0 root handle 1: drr\n";
  Outcome o = batch(setup, "", "map dump dev eth0 handle 7:");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.output.find("bpfq: error: map dump: no bpf qdisc 7: on eth0 (hint: qdisc show dev eth0 lists them)"),
            std::string::npos)
      << o.output;
  o = batch(setup, "", "map dump dev eth9");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.output.find("bpfq: error: map dump: cannot find device eth9"), std::string::npos) << o.output;
  o = batch(setup, "", "map dump eth0");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.output.find("bpfq: error: command line: "), std::string::npos) << o.output;
}

}  // namespace
}  // namespace bpfq::test
