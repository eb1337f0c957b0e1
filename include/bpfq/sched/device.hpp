#pragma once
// A network device as tc sees it on egress: name, ifindex, MTU, up/down, a clsact egress hook
// (a SEC("tc") program run before the root qdisc) and the filters attached to its qdiscs and
// classes, which bpf_skb_tc_classify runs. DeviceTable assigns ifindexes and finds devices by
// them, as dev_get_by_index does.
//
//   DeviceTable devices;
//   Device& eth0 = devices.add("eth0");
//   eth0.set_root(BpfQdisc::open(...));
//   eth0.add_filter(Handle::make(1, 0), 1, U32Filter::parse({...}));
//   qdisc->set_classifier(devices.classifier());
//   eth0.transmit(pkt, now);   ...   eth0.dequeue(now);
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/filter.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched {

// What happened to the packets offered to transmit(). Every one of them is accounted:
// offered == egress_shot + egress_stolen + egress_redirect + egress_faults + down_drops
//            + no_root_drops + (packets the root qdisc's enqueue() was offered).
struct DeviceStats {
  uint64_t offered = 0;          // transmit() calls
  uint64_t egress_shot = 0;      // clsact egress said TC_ACT_SHOT: dropped
  uint64_t egress_stolen = 0;    // TC_ACT_STOLEN / QUEUED / TRAP: consumed (released), success
  uint64_t egress_redirect = 0;  // TC_ACT_REDIRECT: not supported, dropped
  uint64_t egress_faults = 0;    // the egress program faulted: dropped
  uint64_t down_drops = 0;       // offered while the device was down: dropped
  uint64_t no_root_drops = 0;    // offered with no root qdisc: dropped
  uint64_t released_on_down = 0; // packets queued in the root when set_down() reset it
};

class Device {
 public:
  Device(std::string name, int ifindex, const DeviceParams& params = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  const DeviceParams& params() const { return params_; }
  uint32_t mtu() const { return params_.mtu; }
  uint32_t tx_queue_len() const { return params_.tx_queue_len; }
  void set_mtu(uint32_t mtu) { params_.mtu = mtu; }

  bool is_up() const { return up_; }
  void set_up() { up_ = true; }
  // Resets the root qdisc: every queued packet is released and counted (DropReason::Reset) in
  // its stats and in released_on_down. transmit() drops and dequeue() is empty until set_up().
  void set_down();

  // Replaces the root qdisc (the old one is reset, counting its packets, and destroyed).
  void set_root(std::unique_ptr<Qdisc> root);
  // The watchdog of the runner driving this device; the root (present and future) gets it.
  void set_watchdog(Watchdog* watchdog);
  Qdisc* root() const { return root_.get(); }

  // clsact egress; nullopt detaches it. See transmit() for the actions.
  void set_egress_classifier(std::optional<TcProgram> program);
  TcProgram* egress_classifier() { return egress_ ? &*egress_ : nullptr; }

  // dev_queue_xmit: takes over one reference of pkt, sets skb.ifindex, runs the egress program
  // (TC_ACT_OK, UNSPEC, PIPE, RECLASSIFY and other values continue; SHOT drops; STOLEN, QUEUED
  // and TRAP consume the packet and report Stolen; REDIRECT is unsupported and drops; a fault
  // drops), then enqueues to the root qdisc.
  EnqueueResult transmit(Packet* pkt, uint64_t now_ns);
  // The root qdisc's next packet; empty while down or without a root.
  DequeueResult dequeue(uint64_t now_ns);

  // `tc filter add dev D parent HANDLE [chain C] prio P ...`: handle is a qdisc (major:0) or a
  // class (major:minor).
  void add_filter(Handle parent, uint32_t prio, std::unique_ptr<Filter> filter, uint32_t chain = 0);
  size_t filter_count(Handle parent) const;
  // bpf_skb_tc_classify on this device: runs every chain of `handle` in chain order; within a
  // chain the first match (by priority) decides; the last chain that matched gives the result.
  // Returns that class id, or 0 if nothing matched, no filters are attached to handle, or a
  // filter said SHOT, STOLEN, QUEUED or TRAP.
  uint32_t classify(Handle handle, Packet& pkt) const;

  const DeviceStats& stats() const { return stats_; }

 private:
  using Chains = std::map<uint32_t, FilterChain>;  // by chain index
  // The chains attached to handle, or nullptr.
  const Chains* find_chains(Handle handle) const;

  std::string name_;
  int ifindex_;
  DeviceParams params_;
  bool up_ = true;
  std::unique_ptr<Qdisc> root_;
  Watchdog* watchdog_ = nullptr;
  std::optional<TcProgram> egress_;
  std::map<uint32_t, Chains> filters_;  // by the handle (value) they are attached to
  DeviceStats stats_;
};

class DeviceTable {
 public:
  // A new device with the next ifindex (1, 2, ...); bpfq::Error if the name is taken.
  Device& add(std::string name, const DeviceParams& params = {});
  Device* find(int ifindex) const;
  Device* find(std::string_view name) const;

  // bpf_skb_tc_classify(skb, ifindex, handle): 0 for an unknown ifindex.
  uint32_t classify(Packet& pkt, int ifindex, uint32_t handle) const;
  // For BpfQdisc::set_classifier; the table must outlive the qdisc's runs.
  BpfQdisc::Classifier classifier() const;

 private:
  std::vector<std::unique_ptr<Device>> devices_;  // ifindex i at i - 1
};

}  // namespace bpfq::sched
