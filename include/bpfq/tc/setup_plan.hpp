#pragma once
// The tc setup as written: devices, qdiscs, classes and filters, checked line by line (unknown
// parent, duplicate handle, a program that does not load: each reported on its line) but not
// yet running. BuiltSetup (built_setup.hpp) turns a plan into live qdiscs, as often as needed:
// once for `qdisc show`, once per simulation run.
//
// Lines (docs/cli.md):
//   [tc] qdisc add|replace|change dev D (root | parent X:Y) [handle H:] KIND ARGS...
//   [tc] qdisc del dev D (root | parent X:Y | handle H:)
//   [tc] qdisc add dev D clsact        then   filter add dev D egress bpf obj F [sec S] da [NAME VALUE]...
//   link add dev D [mtu N] [txqueuelen N] [numtxqueues N] [rate R] [gso on|off]
//   [tc] class add|replace|change dev D parent H: classid H:M [bpf]    class del dev D classid H:M
//   [tc] filter add|replace|change dev D parent H:[M] [protocol ip|ipv6|all] [prio|pref P] [chain C] [handle X] KIND ARGS...
//        (the options before KIND in any order)    filter del dev D parent H:[M] [prio P]
//   qdisc show [dev D]    class show [dev D]    filter show [dev D]
//   struct_ops register FILE.bpf.o     (its Qdisc_ops.id becomes a qdisc kind: qdisc add … bpf_fifo)
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include <bpfq/tc/filter_spec.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/tc_line.hpp>

namespace bpfq::tc {

struct LinkNode {
  std::string name;
  sched::DeviceParams params;
  bool mtu_set = false;  // `mtu N` was written
  uint64_t rate_bps = 0;  // `rate R`: the line rate (bits/s) datapaths give it; 0: theirs
  // `gso on|off`: whether GSO bundles reach the qdisc whole (live only: simulated packets are
  // wire frames); unset: cut into wire frames when the link has a rate.
  std::optional<bool> gso;
  std::string where;  // the line that declared it ("" when a qdisc line implied it)
  std::string clsact_where;  // `qdisc add dev D clsact`: its line; "" without clsact
};

struct QdiscNode {
  std::string dev;
  sched::Handle handle;  // major:0
  sched::Handle parent;  // Handle::root() or a class id
  QdiscSpec spec;
};

struct ClassNode {
  std::string dev;
  sched::Handle classid;
  sched::Handle parent;  // the qdisc's handle
  std::string where;
  // `classid 1:1 drr quantum 1500`: per-class parameters; each goes into the qdisc program's
  // map class_NAME under the class id (docs/program-model.md, "Classes").
  std::vector<ProgramParam> params;
};

// Where `filter add dev D egress ...` attaches: the device's clsact egress hook (Linux's
// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)).
inline constexpr sched::Handle kClsactEgress = sched::Handle::make(0xffff, 0xfff3);

struct FilterNode {
  std::string dev;
  sched::Handle parent;  // a qdisc (major:0) or a class
  std::string protocol;  // "all", "ip", "ipv6"
  uint32_t prio = 0;
  uint32_t chain = 0;
  FilterSpec spec;
};

struct ShowCommand {
  enum class What : uint8_t { Qdisc, Class, Filter };
  What what = What::Qdisc;
  std::optional<std::string> dev;
};

// Reads a batch file: one TcLine per non-blank, non-comment line, where = "FILE:LINE".
// A line ending in '\' continues on the next. bpfq::Error if the file cannot be read.
std::vector<TcLine> read_batch_file(const std::string& path);

class SetupPlan {
 public:
  SetupPlan();
  ~SetupPlan();

  // What building the setup does with the verifier (sim --unverified: RunUnverifiedChecked).
  void set_verification(runtime::Verification v) { verification_ = v; }
  runtime::Verification verification() const { return verification_; }

  // Checks and records one line; a show line is returned for the caller to print.
  std::optional<ShowCommand> apply(TcLine& line);
  // `qdisc add dev D root handle 1: SPEC` for a spec parsed elsewhere (bpfq sim -q); not
  // built until the plan is (errors then name spec.where).
  void add_root(const std::string& dev, const QdiscSpec& spec);

  const std::vector<LinkNode>& links() const { return links_; }
  const std::vector<QdiscNode>& qdiscs() const { return qdiscs_; }
  const std::vector<ClassNode>& classes() const { return classes_; }
  const std::vector<FilterNode>& filters() const { return filters_; }
  const RegisteredQdiscs& registered_qdiscs() const { return registered_; }
  const LinkNode* find_link(const std::string& dev) const;
  const QdiscNode* find_qdisc(const std::string& dev, sched::Handle handle) const;
  // The qdisc under classid, or with Handle::root() the device's root qdisc.
  const QdiscNode* child_of(const std::string& dev, sched::Handle classid) const;
  // "eth0, eth1": the devices, for messages.
  std::string link_names() const;
  // Counts changes, so that a BuiltSetup knows when it is out of date.
  uint64_t version() const { return version_; }

 private:
  void link_add(TcLine& line);
  void struct_ops_register(TcLine& line);
  enum class Verb : uint8_t { Add, Replace, Change, Del };
  void qdisc_add(TcLine& line, Verb verb);
  void qdisc_del(TcLine& line);
  void class_add(TcLine& line, Verb verb);
  void class_del(TcLine& line);
  void filter_add(TcLine& line, Verb verb);
  void filter_del(TcLine& line);
  // Removes the qdisc with its classes, their qdiscs and every filter attached to them.
  void remove_qdisc(const std::string& dev, sched::Handle handle);
  void remove_class(const std::string& dev, sched::Handle classid);
  // Each class parameter must name a map class_NAME of the owner's program (4-byte keys).
  void check_class_params(TcLine& line, const QdiscNode& owner, const std::vector<ProgramParam>& params);
  ShowCommand show(TcLine& line, ShowCommand::What what);
  LinkNode& link(const std::string& dev);  // the device, implied if not declared
  const ClassNode* find_class(const std::string& dev, sched::Handle classid) const;
  // Builds the qdisc once against a scratch clock and pool: a program that does not load, or
  // whose parameters do not fit, is reported on its line.
  // tx_queue: parent is a TX queue's class (of mq or mqprio).
  void check_builds(const QdiscSpec& spec, const LinkNode& dev, sched::Handle parent, bool tx_queue = false);
  sched::Handle unused_handle(const std::string& dev) const;

  std::vector<LinkNode> links_;
  std::vector<QdiscNode> qdiscs_;
  std::vector<ClassNode> classes_;
  std::vector<FilterNode> filters_;
  RegisteredQdiscs registered_;
  uint64_t version_ = 0;
  runtime::ManualClock scratch_clock_;
  std::unique_ptr<sched::PacketPool> scratch_pool_;
  runtime::Verification verification_ = runtime::Verification::Enforce;
};

}  // namespace bpfq::tc
