#pragma once
// The tc setup as written: devices, qdiscs, classes and filters, checked line by line (unknown
// parent, duplicate handle, a program that does not load: each reported on its line) but not
// yet running. BuiltSetup (built_setup.hpp) turns a plan into live qdiscs, as often as needed:
// once for `qdisc show`, once per simulation run.
//
// Lines (docs/cli.md):
//   link add dev D [mtu N] [txqueuelen N]
//   qdisc add dev D (root | parent X:Y) [handle H:] KIND ARGS...
//   class add dev D parent H: classid H:M [bpf]
//   filter add dev D parent H:[M] [protocol ip|ipv6|all] [prio|pref P] [chain C] [handle X] KIND ARGS...
//   qdisc show [dev D]    class show [dev D]    filter show [dev D]
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "filter_spec.hpp"
#include "qdisc_spec.hpp"
#include "tc_line.hpp"

namespace bpfq::cli {

struct LinkNode {
  std::string name;
  sched::DeviceParams params;
  bool mtu_set = false;  // `mtu N` was written
  std::string where;  // the line that declared it ("" when a qdisc line implied it)
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
};

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

  // Checks and records one line; a show line is returned for the caller to print.
  std::optional<ShowCommand> apply(TcLine& line);

  const std::vector<LinkNode>& links() const { return links_; }
  const std::vector<QdiscNode>& qdiscs() const { return qdiscs_; }
  const std::vector<ClassNode>& classes() const { return classes_; }
  const std::vector<FilterNode>& filters() const { return filters_; }
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
  void qdisc_add(TcLine& line);
  void class_add(TcLine& line);
  void filter_add(TcLine& line);
  ShowCommand show(TcLine& line, ShowCommand::What what);
  LinkNode& link(const std::string& dev);  // the device, implied if not declared
  const ClassNode* find_class(const std::string& dev, sched::Handle classid) const;
  // Builds the qdisc once against a scratch clock and pool: a program that does not load, or
  // whose parameters do not fit, is reported on its line.
  void check_builds(const QdiscSpec& spec, const LinkNode& dev);
  sched::Handle unused_handle(const std::string& dev) const;

  std::vector<LinkNode> links_;
  std::vector<QdiscNode> qdiscs_;
  std::vector<ClassNode> classes_;
  std::vector<FilterNode> filters_;
  uint64_t version_ = 0;
  runtime::ManualClock scratch_clock_;
  std::unique_ptr<sched::PacketPool> scratch_pool_;
};

}  // namespace bpfq::cli
