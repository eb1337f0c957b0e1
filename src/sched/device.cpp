#include <bpfq/sched/device.hpp>

#include <bpfq/error.hpp>

namespace bpfq::sched {

Device::Device(std::string name, int ifindex, const DeviceParams& params)
    : name_(std::move(name)), ifindex_(ifindex), params_(params) {}

Device::~Device() {
  // The egress program goes before the root: an egress program of the qdisc's object must not
  // outlive the qdisc.
  egress_.reset();
  root_.reset();
}

void Device::set_down() {
  up_ = false;
  if (!root_) return;
  stats_.released_on_down += root_->qlen();
  root_->reset();
}

void Device::set_root(std::unique_ptr<Qdisc> root) {
  if (root_) root_->reset();
  root_ = std::move(root);
  if (root_) {
    root_->set_parent(Handle::root());
    root_->attach_watchdog(watchdog_);
  }
}

void Device::set_watchdog(Watchdog* watchdog) {
  watchdog_ = watchdog;
  if (root_) root_->attach_watchdog(watchdog);
}

void Device::set_egress_classifier(std::optional<TcProgram> program) { egress_ = std::move(program); }

EnqueueResult Device::transmit(Packet* pkt, uint64_t now_ns) {
  ++stats_.offered;
  pkt->skb.ifindex = static_cast<uint32_t>(ifindex_);
  auto drop = [&](uint64_t& counter, EnqueueResult result) {
    ++counter;
    pkt->pool->note_drop(*pkt, result.reason);
    PacketPool::release(pkt);
    return result;
  };
  if (!up_) return drop(stats_.down_drops, EnqueueResult::dropped(DropReason::Reset));
  if (egress_) {
    int32_t action = 0;
    if (!egress_->run(*pkt, action)) return drop(stats_.egress_faults, EnqueueResult::dropped(DropReason::ProgramFault));
    switch (action) {
      case kTcActShot:
        return drop(stats_.egress_shot, EnqueueResult::dropped(DropReason::ProgramVerdict));
      case kTcActStolen:
      case kTcActQueued:
      case kTcActTrap:
        return drop(stats_.egress_stolen, EnqueueResult::stolen());
      case kTcActRedirect:
        return drop(stats_.egress_redirect, EnqueueResult::dropped(DropReason::ProgramVerdict));
      default:
        break;  // OK, UNSPEC, PIPE, RECLASSIFY, ...: on to the qdisc
    }
  }
  if (!root_) return drop(stats_.no_root_drops, EnqueueResult::dropped(DropReason::NoClass));
  return root_->enqueue(pkt, now_ns);
}

DequeueResult Device::dequeue(uint64_t now_ns) {
  if (!up_ || !root_) return DequeueResult::empty();
  return root_->dequeue(now_ns);
}

// ---- filters ----

void Device::add_filter(Handle parent, uint32_t prio, std::unique_ptr<Filter> filter, uint32_t chain) {
  if (!filter) throw Error("no filter to add", name_ + " parent " + parent.to_string());
  filters_[parent.value][chain].add(prio, std::move(filter));
}

const Device::Chains* Device::find_chains(Handle handle) const {
  const auto it = filters_.find(handle.value);
  return it == filters_.end() ? nullptr : &it->second;
}

size_t Device::filter_count(Handle parent) const {
  const Chains* chains = find_chains(parent);
  size_t n = 0;
  if (chains)
    for (const auto& [index, chain] : *chains) n += chain.size();
  return n;
}

uint32_t Device::classify(Handle handle, Packet& pkt) const {
  const Chains* chains = find_chains(handle);
  if (!chains) return 0;
  uint32_t result = 0;
  for (const auto& [index, chain] : *chains) {
    uint32_t classid = 0;
    const int action = chain.classify(pkt, classid);
    if (action == kTcActShot || action == kTcActStolen || action == kTcActQueued || action == kTcActTrap) return 0;
    if (action >= 0) result = classid;
  }
  return result;
}

// ---- the table ----

Device& DeviceTable::add(std::string name, const DeviceParams& params) {
  if (find(name)) throw Error("device " + name + " exists", "device table", "pick another name");
  const int ifindex = static_cast<int>(devices_.size()) + 1;
  devices_.push_back(std::make_unique<Device>(std::move(name), ifindex, params));
  return *devices_.back();
}

Device* DeviceTable::find(int ifindex) const {
  if (ifindex < 1 || static_cast<size_t>(ifindex) > devices_.size()) return nullptr;
  return devices_[static_cast<size_t>(ifindex) - 1].get();
}

Device* DeviceTable::find(std::string_view name) const {
  for (const auto& d : devices_)
    if (d->name() == name) return d.get();
  return nullptr;
}

uint32_t DeviceTable::classify(Packet& pkt, int ifindex, uint32_t handle) const {
  const Device* dev = find(ifindex);
  return dev ? dev->classify(Handle(handle), pkt) : 0;
}

BpfQdisc::Classifier DeviceTable::classifier() const {
  return [this](Packet& pkt, int ifindex, uint32_t handle) { return classify(pkt, ifindex, handle); };
}

}  // namespace bpfq::sched
