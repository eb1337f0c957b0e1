// cake's tc syntax (iproute2's q_cake.c) in a setup: bare keywords become progs/cake.bpf.c's
// parameters with tc's values (rtt also sets target to a twentieth, framing keywords add to the
// overhead), and a word tc would not take is an error naming it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/tc/setup_plan.hpp>

namespace bpfq::tc {
namespace {

constexpr uint64_t kMbit = 125'000;  // bytes/s
constexpr uint64_t kMs = 1'000'000;

// The root qdisc's parameters of a one-line setup, by name.
std::map<std::string, uint64_t> params_of(const std::string& options) {
  SetupPlan plan;
  TcLine line = TcLine::split("qdisc add dev eth0 root cake " + options, "test");
  plan.apply(line);
  EXPECT_EQ(plan.qdiscs().size(), 1u);
  std::map<std::string, uint64_t> params;
  for (const ProgramParam& p : plan.qdiscs().at(0).spec.params) params[p.name] = p.value.value;
  return params;
}

// The error text of a setup line that must fail.
std::string error_of(const std::string& options) {
  SetupPlan plan;
  TcLine line = TcLine::split("qdisc add dev eth0 root cake " + options, "setup.tc:1");
  try {
    plan.apply(line);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << options;
  return {};
}

TEST(CakeSyntax, TheBriefsExampleLine) {
  EXPECT_EQ(params_of("bandwidth 100mbit diffserv4 dual-dsthost ack-filter"),
            (std::map<std::string, uint64_t>{
                {"bandwidth", 100 * kMbit}, {"diffserv", 1}, {"flowmode", 6}, {"ack_filter", 1}}));
}

TEST(CakeSyntax, ModesAreLinuxsNumbers) {
  const std::map<std::string, uint64_t> diffserv = {{"diffserv3", 0}, {"diffserv4", 1}, {"diffserv8", 2},
                                                    {"besteffort", 3}, {"precedence", 4}, {"diffserv", 1}};
  for (const auto& [word, value] : diffserv) EXPECT_EQ(params_of(word).at("diffserv"), value) << word;
  const std::map<std::string, uint64_t> flows = {{"flowblind", 0}, {"srchost", 1},      {"dsthost", 2},
                                                 {"hosts", 3},     {"flows", 4},        {"dual-srchost", 5},
                                                 {"dual-dsthost", 6}, {"triple-isolate", 7}};
  for (const auto& [word, value] : flows) EXPECT_EQ(params_of(word).at("flowmode"), value) << word;
  EXPECT_EQ(params_of("ack-filter-aggressive").at("ack_filter"), 2u);
  EXPECT_EQ(params_of("ack-filter no-ack-filter").at("ack_filter"), 0u);  // the last word wins
  EXPECT_EQ(params_of("unlimited").at("bandwidth"), 0u);
  EXPECT_EQ(params_of("ingress").at("ingress"), 1u);
  EXPECT_EQ(params_of("memlimit 32mb").at("memlimit"), 32u << 20);
  EXPECT_EQ(params_of("fwmark 0xff00").at("fwmark"), 0xff00u);
}

// tc: rtt sets the interval and a twentieth of it as target; presets set both.
TEST(CakeSyntax, RttAndPresetsSetTargetAndInterval) {
  EXPECT_EQ(params_of("rtt 50ms"), (std::map<std::string, uint64_t>{{"rtt", 50 * kMs}, {"target", 2500 * 1000}}));
  EXPECT_EQ(params_of("rtt 10us"), (std::map<std::string, uint64_t>{{"rtt", 10'000}, {"target", 1000}}));  // at least 1us
  EXPECT_EQ(params_of("lan"), (std::map<std::string, uint64_t>{{"rtt", 1 * kMs}, {"target", 50'000}}));
  EXPECT_EQ(params_of("satellite"), (std::map<std::string, uint64_t>{{"rtt", 1000 * kMs}, {"target", 50 * kMs}}));
  EXPECT_EQ(params_of("target 3ms").at("target"), 3 * kMs);  // the program's own name
}

// Overhead keywords: `overhead N` turns compensation on (raw 0) with N; framing keywords add to
// it and pick ATM or PTM; `raw` turns it off; ethernet and docsis also set mpu.
TEST(CakeSyntax, OverheadAndFraming) {
  EXPECT_EQ(params_of("atm overhead 18"),
            (std::map<std::string, uint64_t>{{"atm", 1}, {"overhead", 18}, {"raw", 0}}));
  EXPECT_EQ(params_of("overhead -4").at("overhead"), 0xfffffffcu);  // the s32 -4
  EXPECT_EQ(params_of("ptm mpu 64"), (std::map<std::string, uint64_t>{{"atm", 2}, {"mpu", 64}}));
  EXPECT_EQ(params_of("noatm").at("atm"), 0u);
  EXPECT_EQ(params_of("pppoe-vcmux"), (std::map<std::string, uint64_t>{{"atm", 1}, {"overhead", 32}, {"raw", 0}}));
  EXPECT_EQ(params_of("bridged-ptm ether-vlan"),
            (std::map<std::string, uint64_t>{{"atm", 2}, {"overhead", 26}, {"raw", 0}}));
  EXPECT_EQ(params_of("ethernet"), (std::map<std::string, uint64_t>{{"overhead", 38}, {"raw", 0}, {"mpu", 84}}));
  EXPECT_EQ(params_of("docsis"),
            (std::map<std::string, uint64_t>{{"atm", 0}, {"overhead", 18}, {"raw", 0}, {"mpu", 64}}));
  EXPECT_EQ(params_of("conservative"), (std::map<std::string, uint64_t>{{"atm", 1}, {"overhead", 48}, {"raw", 0}}));
  EXPECT_EQ(params_of("atm overhead 40 raw"),
            (std::map<std::string, uint64_t>{{"atm", 0}, {"overhead", 0}, {"raw", 1}}));
  // Defaults that change nothing.
  EXPECT_EQ(params_of("nonat split-gso egress via-ethernet"), (std::map<std::string, uint64_t>{{"ingress", 0}}));
  EXPECT_EQ(params_of("wash autorate-ingress"), (std::map<std::string, uint64_t>{{"wash", 1}, {"autorate_ingress", 1}}));
  EXPECT_EQ(params_of("wash nowash"), (std::map<std::string, uint64_t>{{"wash", 0}}));
}

TEST(CakeSyntax, ErrorsNameTheBadWord) {
  EXPECT_NE(error_of("diffserv5").find("'diffserv5'"), std::string::npos) << error_of("diffserv5");
  EXPECT_NE(error_of("bandwidth 10ms").find("'10ms'"), std::string::npos);
  EXPECT_NE(error_of("overhead 300").find("'300'"), std::string::npos);
  EXPECT_NE(error_of("overhead").find("overhead"), std::string::npos);
  EXPECT_NE(error_of("mpu -1").find("'-1'"), std::string::npos);
  EXPECT_NE(error_of("rtt fast").find("'fast'"), std::string::npos);
  EXPECT_NE(error_of("lan metro").find("'metro'"), std::string::npos);
  const std::string nat = error_of("nat");
  EXPECT_NE(nat.find("'nat' is not supported"), std::string::npos) << nat;
  EXPECT_NE(nat.find("conntrack"), std::string::npos) << nat;
  EXPECT_NE(error_of("diffserv4 tripple-isolate").find("setup.tc:1"), std::string::npos);
}

}  // namespace
}  // namespace bpfq::tc
