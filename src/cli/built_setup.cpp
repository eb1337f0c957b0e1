#include "built_setup.hpp"

#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include "protocol_filter.hpp"

namespace bpfq::cli {

namespace {

constexpr uint16_t kEthIp = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;

// tc's option line and its JSON, from the live qdisc (a fifo's limit is the effective one).
void describe(sched::Qdisc& q, const QdiscNode* node, QdiscRow& row) {
  if (auto* fifo = dynamic_cast<sched::FifoQdisc*>(&q)) {
    const bool bytes = q.kind() == "bfifo";
    row.options = fmt::format("limit {}{}", fifo->limit(), bytes ? "b" : "p");
    row.options_json["limit"] = fifo->limit();
  } else if (dynamic_cast<sched::PfifoFastQdisc*>(&q)) {
    row.options = "bands 3 priomap";
    row.options_json["bands"] = sched::PfifoFastQdisc::kBands;
    row.options_json["priomap"] = nlohmann::json::array();
    for (const uint8_t band : sched::PfifoFastQdisc::kPrioToBand) {
      row.options += fmt::format(" {}", band);
      row.options_json["priomap"].push_back(band);
    }
  } else if (auto* bpf = dynamic_cast<sched::BpfQdisc*>(&q)) {
    row.options = "obj " + bpf->path();
    row.options_json["obj"] = bpf->path();
    row.options_json["params"] = nlohmann::json::object();
    if (node)
      for (const ProgramParam& p : node->spec.params) {
        row.options += " " + p.name + (p.token.empty() ? "" : " " + p.token);
        // What the program holds now, read back from its global.
        const loader::GlobalVariable* var = param_global(bpf->object(), p);
        uint64_t value = 0;
        bpf->object().get_global(var->name, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), var->size));
        row.options_json["params"][var->name] = value;
      }
    row.program_runs = bpf->counters().runs;
    row.program_faults = bpf->counters().faults;
    row.leaked_refs = bpf->counters().leaked_refs;
  }
}

}  // namespace

BuiltSetup::BuiltSetup(const SetupPlan& plan, runtime::Clock& clock, sched::PacketPool& pool,
                       const std::string& bottleneck, uint32_t bottleneck_mtu)
    : plan_(plan), plan_version_(plan.version()), clock_(clock), pool_(pool) {
  for (const LinkNode& link : plan.links()) {
    sched::DeviceParams params = link.params;
    if (link.name == bottleneck && !link.mtu_set) params.mtu = bottleneck_mtu;
    sched::Device& dev = devices_.add(link.name, params);
    if (const QdiscNode* root = plan.child_of(link.name, sched::Handle::root()))
      dev.set_root(build(link.name, root, root->parent));
  }
  for (const FilterNode& f : plan.filters()) {
    std::unique_ptr<sched::Filter> filter = make_filter(f.spec, clock_);
    if (f.protocol != "all")
      filter = std::make_unique<ProtocolFilter>(f.protocol == "ip" ? kEthIp : kEthIpv6, std::move(filter));
    devices_.find(f.dev)->add_filter(f.parent, f.prio, std::move(filter), f.chain);
  }
}

BuiltSetup::~BuiltSetup() = default;

std::unique_ptr<sched::Qdisc> BuiltSetup::build(const std::string& dev, const QdiscNode* node, sched::Handle parent) {
  sched::Device& device = *devices_.find(dev);
  if (!node) {
    auto q = std::make_unique<sched::PfifoQdisc>(std::nullopt, sched::Handle(), device.params());
    qdiscs_.push_back(BuiltQdisc{dev, q.get(), nullptr});
    return q;
  }
  const size_t index = qdiscs_.size();
  qdiscs_.push_back(BuiltQdisc{dev, nullptr, node});
  const int ifindex = device.ifindex();
  auto add_classes = [&](sched::BpfQdisc& bpf) {
    for (const ClassNode& c : plan_.classes()) {
      if (c.dev != dev || c.parent != node->handle) continue;
      std::unique_ptr<sched::Qdisc> child = build(dev, plan_.child_of(dev, c.classid), c.classid);
      classes_.push_back(BuiltClass{dev, c.classid, c.parent, child.get()});
      bpf.add_class(c.classid, std::move(child));
    }
    const sched::DeviceTable* table = &devices_;
    bpf.set_classifier([table, ifindex](sched::Packet& pkt, int at, uint32_t handle) {
      return table->classify(pkt, at == 0 ? ifindex : at, handle);
    });
  };
  std::unique_ptr<sched::Qdisc> q =
      make_qdisc(node->spec, QdiscSite{clock_, pool_, device.params()}, node->handle, add_classes);
  q->set_parent(parent);
  qdiscs_[index].qdisc = q.get();
  return q;
}

sched::Device& BuiltSetup::device(const std::string& name) {
  if (sched::Device* d = devices_.find(name)) return *d;
  const std::string names = plan_.link_names();
  throw Error("cannot find device " + name, "setup", names.empty() ? "the setup has no devices" : "the setup has " + names);
}

SetupSnapshot BuiltSetup::snapshot() const {
  SetupSnapshot s;
  s.at_ns = clock_.now_ns();
  for (const BuiltQdisc& b : qdiscs_) {
    QdiscRow row;
    row.dev = b.dev;
    row.kind = std::string(b.qdisc->kind());
    row.handle = b.qdisc->handle();
    row.parent = b.qdisc->parent();
    row.is_default = b.node == nullptr;
    row.stats = b.qdisc->stats();
    describe(*b.qdisc, b.node, row);
    s.qdiscs.push_back(std::move(row));
  }
  for (const BuiltClass& c : classes_) s.classes.push_back(ClassRow{c.dev, c.classid, c.parent, c.leaf->handle(), c.leaf->stats()});
  for (const FilterNode& f : plan_.filters()) {
    // The words after the kind, with fw's handle (written before the kind) in front.
    const size_t space = f.spec.text.find(' ');
    std::string options = space == std::string::npos ? "" : f.spec.text.substr(space + 1);
    if (f.spec.handle) options = "handle " + *f.spec.handle + (options.empty() ? "" : " " + options);
    s.filters.push_back(FilterRow{f.dev, f.parent, f.protocol, f.prio, f.chain, f.spec.kind, options});
  }
  return s;
}

}  // namespace bpfq::cli
