#pragma once
// A SetupPlan made live: one sched::Device per link with its root qdisc, the classes of bpf
// qdiscs with their child qdiscs (a class without one gets a pfifo, as Linux gives prio and htb
// classes), the filters, and every bpf qdisc's bpf_skb_tc_classify wired to the devices.
//
// A packet handed to a qdisc directly (the simulator does) has skb->ifindex 0; classification
// then uses the qdisc's own device, which is what a program asking for skb->ifindex means.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_snapshot.hpp>

namespace bpfq::tc {

class BuiltSetup {
 public:
  // Builds every device of the plan; clock and pool must outlive this. bpfq::Error (naming the
  // line) if something cannot be built. A non-empty `bottleneck` device takes bottleneck_mtu
  // (the simulator's link) unless its link line set one.
  BuiltSetup(const SetupPlan& plan, runtime::Clock& clock, sched::PacketPool& pool,
             const std::string& bottleneck = {}, uint32_t bottleneck_mtu = 0, uint64_t seed = 0);
  ~BuiltSetup();
  BuiltSetup(const BuiltSetup&) = delete;
  BuiltSetup& operator=(const BuiltSetup&) = delete;

  uint64_t plan_version() const { return plan_version_; }
  sched::DeviceTable& devices() { return devices_; }
  // The named device, or bpfq::Error listing the devices.
  sched::Device& device(const std::string& name);

  // The qdisc with this handle on dev (a root or a class's child), or nullptr.
  sched::Qdisc* find_qdisc(const std::string& dev, sched::Handle handle) const;

  // The state and counters of every qdisc, class and filter now.
  SetupSnapshot snapshot() const;

 private:
  struct BuiltQdisc {
    std::string dev;
    sched::Qdisc* qdisc;
    const QdiscNode* node;  // null: a class's default qdisc, of default_kind
    std::string_view default_kind = "native_pfifo";
  };
  struct BuiltClass {
    std::string dev;
    sched::Handle classid;
    sched::Handle parent;
    sched::Qdisc* leaf;
    sched::BpfQdisc* owner;  // null: a TX queue of mq or mqprio
    const QdiscNode* owner_node;
    const ClassNode* node;
  };

  // The qdisc of node (or a default of default_kind under classid) with its classes, recursively.
  std::unique_ptr<sched::Qdisc> build(const std::string& dev, const QdiscNode* node, sched::Handle classid,
                                      std::string_view default_kind = "native_pfifo");
  // The bpf qdisc on dev built from object, whose maps a filter of the same object shares.
  sched::BpfQdisc* qdisc_of_object(const std::string& dev, const std::string& object) const;
  // Writes the class's parameters into the program's class_NAME maps.
  static void set_class_params(sched::BpfQdisc& bpf, const ClassNode& c);

  const SetupPlan& plan_;
  uint64_t plan_version_;
  runtime::Clock& clock_;
  sched::PacketPool& pool_;
  uint64_t seed_;
  runtime::Verification verification_;  // the plan's
  runtime::PinnedMaps pins_;  // LIBBPF_PIN_BY_NAME maps, shared by every object of the setup
  std::vector<std::unique_ptr<runtime::Prng>> prngs_;  // the filters' bpf_get_prandom_u32 streams
  sched::DeviceTable devices_;
  std::vector<BuiltQdisc> qdiscs_;  // depth first: a root, then its classes' qdiscs
  std::vector<BuiltClass> classes_;
  std::deque<ClassNode> implicit_classes_;  // bands no line declared (prio, ets), TX queues (mq), as Linux makes them
};

}  // namespace bpfq::tc
