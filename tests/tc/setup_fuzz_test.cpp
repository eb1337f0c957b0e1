// Deterministic mutation fuzzing of the tc line parser and setup builder under the sanitizers:
// setups in the documented forms (library programs by name, native kinds, classes with
// parameters, filters, clsact, verbs), mutated by deleting, duplicating, swapping and replacing
// words with tc tokens, boundary numbers and junk, and by truncating lines. Every batch either
// applies and builds, or throws bpfq::Error; any other exception fails the test, a memory error
// or a crash aborts it. Each failure prints the iteration and the batch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/setup_plan.hpp>

namespace bpfq::tc {
namespace {

// A few seconds under ASan (every qdisc line loads its program). BPFQ_SETUP_FUZZ_ITERATIONS
// overrides it for a longer run by hand.
constexpr size_t kIterations = 600;

size_t iterations() {
  const char* env = std::getenv("BPFQ_SETUP_FUZZ_ITERATIONS");
  return env ? std::strtoull(env, nullptr, 10) : kIterations;
}

const std::vector<std::string>& seeds() {
  static const std::vector<std::string> s = {
      "link add dev eth0 mtu 1500 txqueuelen 500 rate 10mbit gso off\n"
      "qdisc add dev eth0 root handle 1: drr\n"
      "class add dev eth0 parent 1: classid 1:1 drr quantum 1500\n"
      "class add dev eth0 parent 1: classid 1:2\n"
      "qdisc add dev eth0 parent 1:1 handle 10: fq_codel target 5ms interval 100ms noecn\n"
      "filter add dev eth0 protocol ip parent 1: prio 1 u32 match ip protocol 1 0xff flowid 1:1\n"
      "filter add dev eth0 parent 1: prio 2 handle 7 fw classid 1:2\n",
      "tc qdisc add dev eth0 root handle 1: tbf rate 5mbit burst 10kb latency 50ms\n"
      "tc qdisc change dev eth0 root tbf rate 6mbit burst 10kb latency 40ms\n"
      "qdisc replace dev eth0 root handle 2: native_pfifo limit 100\n"
      "qdisc add dev eth1 root native_bfifo limit 64kb\n"
      "qdisc del dev eth1 root\n"
      "qdisc add dev eth2 root netem delay 10ms jitter 1ms loss 1% rate 5mbit\n",
      "qdisc add dev eth0 clsact\n"
      "qdisc add dev eth0 root handle 1: prio\n"
      "qdisc add dev eth0 parent 1:1 pfifo_head_drop limit 10\n"
      "qdisc add dev eth0 parent 1:2 red limit 400000 min 30000 max 90000 avpkt 1000 burst 55 probability 2%\n"
      "filter add dev eth0 parent 1: prio 3 u32 match ip dport 22 0xffff classid 1:1\n"
      "filter del dev eth0 parent 1: prio 3\n"
      "class del dev eth0 classid 1:2\n"
      "qdisc del dev eth0 clsact\n",
      "qdisc add dev eth0 root handle 1: hfsc default 20\n"
      "class add dev eth0 parent 1: classid 1:1 hfsc ls rate 100mbit ul m1 200mbit d 10ms m2 100mbit\n"
      "class add dev eth0 parent 1: classid 1:10 hfsc parent 0x1 sc umax 1500b dmax 5ms rate 30mbit\n"
      "class add dev eth0 parent 1: classid 1:20 hfsc parent 0x1 rt m1 1mbit d 20ms m2 2mbit ls m2 70mbit\n",
      "qdisc add dev eth0 root handle 1: cake bandwidth 100mbit diffserv4 dual-dsthost ack-filter atm overhead 18\n"
      "qdisc change dev eth0 root cake rtt 50ms pppoe-ptm mpu 64 memlimit 4mb besteffort ingress\n"
      "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip src 10.64.0.0/30 classid 1:0\n",
  };
  return s;
}

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> t = {
      "qdisc", "class", "filter", "link", "tc", "add", "replace", "change", "del", "show", "dev", "eth0",
      "root", "parent", "handle", "classid", "flowid", "egress", "clsact", "ingress", "protocol", "ip", "prio",
      "chain", "bpf", "obj", "sec", "da", "u32", "fw", "match", "limit", "rate", "quantum", "1:", "1:1", "1:5",
      "ffff:", "ffff:fff3", "0:", ":", "::", "1:2:3", "0", "1", "-1", "0x", "0xffffffffffffffff",
      "18446744073709551616", "99999999999999999999999", "1e300", "nan", "5ms", "10gbit", "64kb", "101%", "1.5",
      ".", "%", "\\", "#", "pfifo", "native_pfifo", "drr", "sfq", "fq_codel", "tbf", "nonexistent.bpf.o", "hfsc", "sc", "rt",
      "ls", "ul", "m1", "d", "m2", "umax", "dmax", "default", "cake", "bandwidth", "unlimited", "diffserv4",
      "besteffort", "triple-isolate", "dual-dsthost", "ack-filter", "atm", "ptm", "overhead", "-64", "257", "mpu",
      "raw", "conservative", "rtt", "lan", "memlimit", "wash",
      "/", "/dev/zero", "", "\xff\xfe", "noecn", "ecn", "txqueuelen", "mtu", "67", "65536"};
  return t;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string mutate(const std::string& text, std::mt19937_64& rng) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(split(l));
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    std::vector<std::string>& words = lines[rng() % lines.size()];
    const size_t at = words.empty() ? 0 : rng() % words.size();
    switch (rng() % 6) {
      case 0: if (!words.empty()) words.erase(words.begin() + static_cast<long>(at)); break;
      case 1: if (!words.empty()) words.insert(words.begin() + static_cast<long>(at), words[at]); break;
      case 2: if (words.size() > 1) std::swap(words[at], words[rng() % words.size()]); break;
      case 3: if (!words.empty()) words.resize(at); break;
      case 4: words.insert(words.begin() + static_cast<long>(at), tokens()[rng() % tokens().size()]); break;
      default: if (!words.empty()) words[at] = tokens()[rng() % tokens().size()]; break;
    }
  }
  std::string out;
  for (const auto& words : lines) {
    for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
    out += "\n";
  }
  return out;
}

TEST(SetupFuzz, EveryMutatedBatchAppliesOrThrowsBpfqError) {
  std::mt19937_64 rng(20261206);
  runtime::ManualClock clock;
  sched::PacketPool pool(sched::PacketPoolConfig{64});
  size_t applied = 0, refused = 0;
  for (size_t i = 0; i < iterations(); ++i) {
    const std::string text = mutate(seeds()[i % seeds().size()], rng);
    try {
      SetupPlan plan;
      std::istringstream in(text);
      int n = 0;
      for (std::string l; std::getline(in, l);) {
        TcLine line = TcLine::split(l, "fuzz:" + std::to_string(++n));
        if (!line.done()) plan.apply(line);
      }
      BuiltSetup built(plan, clock, pool);
      (void)built.snapshot();
      ++applied;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      FAIL() << "iteration " << i << ": " << typeid(e).name() << ": " << e.what() << "\n" << text;
    }
  }
  // Both paths are exercised: some mutations stay valid, most are refused.
  EXPECT_GT(applied, iterations() / 50);
  EXPECT_GT(refused, iterations() / 2);
}

}  // namespace
}  // namespace bpfq::tc
