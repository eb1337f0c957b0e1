// Deterministic mutation fuzzing of the scenario parser under the sanitizers: the presets'
// files, the documented example and a few edge cases, mutated with TOML tokens, boundary
// numbers, deletions, duplications and truncations. parse_scenario must return a scenario that
// validates or throw bpfq::Error; any other exception fails the test and any memory error or
// stack overflow aborts it. Each failure prints the iteration and the text that caused it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>

namespace bpfq::io::sim {
namespace {

// A few seconds under ASan. BPFQ_SCENARIO_FUZZ_ITERATIONS overrides it for a longer run by hand.
constexpr size_t kIterations = 4000;

size_t iterations() {
  const char* env = std::getenv("BPFQ_SCENARIO_FUZZ_ITERATIONS");
  return env ? std::strtoull(env, nullptr, 10) : kIterations;
}

const std::vector<std::string>& seeds() {
  static const std::vector<std::string> s = {
      // docs/simulator.md's example
      R"(preset = "bufferbloat"
name = "lab"
duration = "30s"
seed = 7
sample_interval = "100ms"
pool_packets = 16384
ip = 6
pcap_output = "out.pcap"
[link]
rate = "10mbit"
rtt = "40ms"
mtu = 1500
[[tcp]]
cc = "cubic"
bytes = "bulk"
start = "0s"
stop = "20s"
ecn = false
sack = true
count = 4
[[udp]]
pattern = "cbr"
rate = "2mbit"
size = 1000
dscp = 46
[[ping]]
interval = "100ms"
size = 56
ipv6 = false
[[short_flows]]
rate = 20
size = { dist = "pareto", mean = "100KB", shape = 1.2, max = "10MB" }
[[pcap]]
file = "trace.pcap"
start = "1s"
speed = 1.0
name = "trace"
)",
      // The presets, written out.
      "preset = \"bufferbloat\"\n",
      R"(name = "mixed"
duration = "30s"
[link]
rate = "20mbit"
rtt = "30ms"
[[tcp]]
name = "bulk-cubic"
[[tcp]]
name = "bulk-newreno"
cc = "newreno"
[[udp]]
name = "voip"
size = 172
rate = 85600
dscp = 46
[[short_flows]]
name = "web"
rate = 10
size = { dist = "pareto", mean = 50000, shape = 1.2, max = "5MB" }
[[ping]]
interval = "100ms"
)",
      R"(name = "incast"
duration = "1s"
sample_interval = "10ms"
[link]
rate = "1gbit"
rtt = "200us"
[[tcp]]
bytes = "64KiB"
start = "10ms"
count = 32
name = "sender"
)",
      R"(# edge cases: every string form, inline tables, dotted keys
name = 'literal'
pcap_output = """multi
line"""
[[udp]]
pattern = "onoff"
on = 1.5
off = "500ms"
ecn = true
ipv6 = true
[[short_flows]]
size.dist = "exponential"
size.mean = "1mib"
stop = 10
)",
  };
  return s;
}

const std::vector<std::string> kTokens = {
    "[", "]", "{", "}", "[[", "]]", "\"", "'", "\"\"\"", "'''", "#", "=", ",", ".", "\n", " ", "\\", "\\u0000",
    "0", "-1", "1e300", "-1e300", "1e-300", "nan", "inf", "-0.0", "4294967296", "4294967396", "18446744073709551615",
    "9223372036854775807", "-9223372036854775808", "0x7fffffff", "1_000", "\"1ns\"", "\"0s\"", "\"1e300s\"",
    "\"10 parsecs\"", "\"bulk\"", "true", "1979-05-27T07:32:00Z", "[[tcp]]\n", "[[udp]]\n", "[[ping]]\n",
    "[[short_flows]]\n", "[[pcap]]\n", "[link]\n", "count = 4096\n", "size = 4294967270\n", "mtu = 68\n",
    "preset = \"mixed\"\n", "a.b.c.d.e.f = 1\n", "x = [[[[[[[[1]]]]]]]]\n", "y = {a = {b = {c = 1}}}\n"};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string text) {
    const int rounds = below(2) == 0 ? 1 : 2 + static_cast<int>(below(3));
    for (int r = 0; r < rounds; ++r) {
      const size_t at = below(text.size() + 1);
      switch (below(6)) {
        case 0:  // insert a token
          text.insert(at, kTokens[below(kTokens.size())]);
          break;
        case 1:  // replace a number (or whatever is there) with a token
          text.replace(at, below(8), kTokens[below(kTokens.size())]);
          break;
        case 2:  // delete a span
          text.erase(at, below(16));
          break;
        case 3:  // duplicate a span (lines, tables)
          text.insert(at, text.substr(below(text.size() + 1), below(64)));
          break;
        case 4:  // flip a bit
          if (!text.empty()) text[below(text.size())] ^= static_cast<char>(1u << below(8));
          break;
        default:  // truncate
          text.resize(below(text.size() + 1));
          break;
      }
    }
    return text;
  }

 private:
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  std::mt19937_64 rng_;
};

TEST(SimScenarioFuzz, EveryMutationLoadsOrThrowsBpfqError) {
  Mutator mutator(0x5ce7a210);
  size_t loaded = 0, refused = 0;
  const size_t n = iterations();
  for (size_t i = 0; i < n; ++i) {
    const std::string& seed = seeds()[i % seeds().size()];
    const std::string text = mutator.mutate(seed);
    try {
      const Scenario s = parse_scenario(text, "fuzz.toml");
      s.validate();  // what loads must be runnable as far as the limits go
      ++loaded;
    } catch (const Error& e) {
      ++refused;
      if (e.reason().empty()) ADD_FAILURE() << "iteration " << i << ": an error without a reason for:\n" << text;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << i << ": " << typeid(e).name() << ": " << e.what() << "\nfor:\n" << text;
    }
  }
  // Both outcomes are common, so the mutations neither only break nor never touch the files.
  EXPECT_GT(loaded, n / 25) << "loaded " << loaded << " of " << n;
  EXPECT_GT(refused, n / 2) << "refused " << refused << " of " << n;
}

}  // namespace
}  // namespace bpfq::io::sim
