// hfsc's tc syntax (iproute2's q_hfsc.c) in a setup: `hfsc default 20` and the class curves
// `rt`/`ls`/`sc`/`ul` in both of tc's forms become the program's defcls and class_NAME
// parameters, and what tc refuses is refused.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/tc/setup_plan.hpp>

namespace bpfq::tc {
namespace {

constexpr uint64_t kMbit = 125'000;  // bytes/s
constexpr uint64_t kMs = 1'000'000;

void apply(SetupPlan& plan, const std::string& text) {
  TcLine line = TcLine::split(text, "test");
  plan.apply(line);
}

// The parameters of class `minor` of eth0 by name.
std::map<std::string, uint64_t> class_params(const SetupPlan& plan, uint16_t minor) {
  std::map<std::string, uint64_t> params;
  for (const ClassNode& c : plan.classes())
    if (c.classid == sched::Handle::make(1, minor))
      for (const ProgramParam& p : c.params) params[p.name] = p.value.value;
  return params;
}

void add_hfsc_root(SetupPlan& plan) { apply(plan, "qdisc add dev eth0 root handle 1: hfsc default 20"); }

TEST(HfscSyntax, DefaultIsTheDefaultClassMinorInHex) {
  SetupPlan plan;
  add_hfsc_root(plan);
  ASSERT_EQ(plan.qdiscs().size(), 1u);
  const QdiscSpec& spec = plan.qdiscs()[0].spec;
  EXPECT_EQ(spec.name, "hfsc");
  ASSERT_EQ(spec.params.size(), 1u);
  EXPECT_EQ(spec.params[0].name, "defcls");
  EXPECT_EQ(spec.params[0].value.value, 0x20u);
  SetupPlan raw;
  apply(raw, "qdisc add dev eth0 root handle 1: hfsc defcls 0x20");  // the program's own name works too
  EXPECT_EQ(raw.qdiscs()[0].spec.params[0].value.value, 0x20u);
  SetupPlan bad;
  EXPECT_THROW(apply(bad, "qdisc add dev eth0 root handle 1: hfsc default 10000"), Error);
  EXPECT_THROW(apply(bad, "qdisc add dev eth0 root handle 1: hfsc default xyz"), Error);
}

TEST(HfscSyntax, ScIsRtAndLsAndUlIsTheUpperLimit) {
  SetupPlan plan;
  add_hfsc_root(plan);
  apply(plan, "class add dev eth0 parent 1: classid 1:10 hfsc sc rate 10mbit ul rate 20mbit");
  const std::map<std::string, uint64_t> want = {{"rt_m1", 0}, {"rt_d", 0}, {"rt_m2", 10 * kMbit},
                                                {"ls_m1", 0}, {"ls_d", 0}, {"ls_m2", 10 * kMbit},
                                                {"ul_m1", 0}, {"ul_d", 0}, {"ul_m2", 20 * kMbit}};
  EXPECT_EQ(class_params(plan, 0x10), want);
}

TEST(HfscSyntax, TwoPieceCurvesAndParents) {
  SetupPlan plan;
  add_hfsc_root(plan);
  apply(plan, "class add dev eth0 parent 1: classid 1:1 hfsc ls m2 100mbit");
  apply(plan, "class add dev eth0 parent 1: classid 1:20 hfsc parent 0x1 rt m1 2mbit d 10ms m2 1mbit ls m2 3mbit");
  const std::map<std::string, uint64_t> want = {{"parent", 1},     {"rt_m1", 2 * kMbit}, {"rt_d", 10 * kMs},
                                                {"rt_m2", kMbit},  {"ls_m1", 0},         {"ls_d", 0},
                                                {"ls_m2", 3 * kMbit}};
  EXPECT_EQ(class_params(plan, 0x20), want);
}

// tc's other form: umax bytes within dmax, then rate. Faster than rate: concave, m1 umax/dmax up
// to dmax; slower: convex, nothing until dmax - umax/rate.
TEST(HfscSyntax, UmaxDmaxRate) {
  SetupPlan plan;
  add_hfsc_root(plan);
  apply(plan, "class add dev eth0 parent 1: classid 1:30 hfsc rt umax 1500b dmax 5ms rate 1mbit");
  EXPECT_EQ(class_params(plan, 0x30), (std::map<std::string, uint64_t>{
                                          {"rt_m1", 300'000}, {"rt_d", 5 * kMs}, {"rt_m2", kMbit}}));
  apply(plan, "class add dev eth0 parent 1: classid 1:31 hfsc rt umax 500b dmax 10ms rate 1mbit");
  EXPECT_EQ(class_params(plan, 0x31), (std::map<std::string, uint64_t>{
                                          {"rt_m1", 0}, {"rt_d", 6 * kMs}, {"rt_m2", kMbit}}));
}

TEST(HfscSyntax, RefusesWhatTcRefuses) {
  SetupPlan plan;
  add_hfsc_root(plan);
  // ul without ls or sc
  EXPECT_THROW(apply(plan, "class add dev eth0 parent 1: classid 1:10 hfsc rt rate 1mbit ul rate 2mbit"), Error);
  // no m2
  EXPECT_THROW(apply(plan, "class add dev eth0 parent 1: classid 1:11 hfsc rt m1 1mbit d 10ms"), Error);
  // two zero slopes
  EXPECT_THROW(apply(plan, "class add dev eth0 parent 1: classid 1:12 hfsc sc m2 0bit"), Error);
  // a time where a rate goes
  EXPECT_THROW(apply(plan, "class add dev eth0 parent 1: classid 1:13 hfsc sc m2 10ms"), Error);
  EXPECT_TRUE(plan.classes().empty());
}

}  // namespace
}  // namespace bpfq::tc
