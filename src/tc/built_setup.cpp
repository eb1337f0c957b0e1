#include <bpfq/tc/built_setup.hpp>

#include <algorithm>
#include <set>

#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/tc/qdisc_kind.hpp>

#include "protocol_filter.hpp"

namespace bpfq::tc {

namespace {

constexpr uint16_t kEthIp = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;

}  // namespace

BuiltSetup::BuiltSetup(const SetupPlan& plan, runtime::Clock& clock, sched::PacketPool& pool,
                       const std::string& bottleneck, uint32_t bottleneck_mtu, uint64_t seed)
    : plan_(plan), plan_version_(plan.version()), clock_(clock), pool_(pool), seed_(seed), verification_(plan.verification()) {
  clock_.now_ns();  // a latched clock (live, ns-3; runtime/clock.hpp): init programs see the time they run
  for (const LinkNode& link : plan.links()) {
    sched::DeviceParams params = link.params;
    if (link.name == bottleneck && !link.mtu_set) params.mtu = bottleneck_mtu;
    sched::Device& dev = devices_.add(link.name, params);
    if (const QdiscNode* root = plan.child_of(link.name, sched::Handle::root()))
      dev.set_root(build(link.name, root, root->parent));
  }
  for (const FilterNode& f : plan.filters()) {
    sched::Device& dev = *devices_.find(f.dev);
    prngs_.push_back(std::make_unique<runtime::Prng>(
        runtime::derive_seed(seed_, f.dev + " filter " + f.parent.to_string() + " " + std::to_string(f.prio))));
    const FilterSite site{clock_, &pins_, prngs_.back().get(), qdisc_of_object(f.dev, f.spec.object), verification_};
    if (f.parent == kClsactEgress) {
      dev.set_egress_classifier(make_tc_program(f.spec, site));
      continue;
    }
    std::unique_ptr<sched::Filter> filter = make_filter(f.spec, site);
    if (f.protocol != "all")
      filter = std::make_unique<ProtocolFilter>(f.protocol == "ip" ? kEthIp : kEthIpv6, std::move(filter));
    dev.add_filter(f.parent, f.prio, std::move(filter), f.chain);
  }
}

sched::BpfQdisc* BuiltSetup::qdisc_of_object(const std::string& dev, const std::string& object) const {
  if (object.empty()) return nullptr;
  for (const BuiltQdisc& b : qdiscs_)
    if (auto* bpf = dynamic_cast<sched::BpfQdisc*>(b.qdisc); bpf && b.dev == dev && bpf->path() == object) return bpf;
  return nullptr;
}

void BuiltSetup::set_class_params(sched::BpfQdisc& bpf, const ClassNode& c) {
  // Every class gets an entry (0: the program's default) in every class_NAME map, then the
  // values its line gave.
  for (const maps::MapSpec& m : bpf.object().spec().maps) {
    if (!m.name.starts_with("class_") || m.key_size != 4 || (m.value_size != 4 && m.value_size != 8)) continue;
    uint64_t value = 0;
    for (const ProgramParam& p : c.params)
      if ("class_" + p.name == m.name) value = p.value.value;
    if (bpf.object().map(m.name).update(&c.classid.value, &value, 0) != 0)
      throw Error("cannot set class " + c.classid.to_string() + " in map " + m.name + " (full?)", c.where,
                  "the program's class map needs room for every class");
  }
}

BuiltSetup::~BuiltSetup() = default;

namespace {

constexpr uint32_t kMaxBands = 16;  // TCQ_PRIO_BANDS, TCQ_ETS_MAX_BANDS

// The program's `bands` parameter, 0 if it has none.
uint32_t bands_of(sched::BpfQdisc& bpf) {
  try {
    return bpf.object().get_global<uint32_t>("bands");
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

std::unique_ptr<sched::Qdisc> BuiltSetup::build(const std::string& dev, const QdiscNode* node, sched::Handle parent,
                                                std::string_view default_kind) {
  sched::Device& device = *devices_.find(dev);
  const QdiscNode* owner = parent.is_root() ? nullptr : plan_.find_qdisc(dev, sched::Handle::make(parent.major(), 0));
  const bool tx_queue = owner && find_qdisc_kind(owner->spec.kind)->tx_queue_classes;
  QdiscSite site{clock_, pool_, device.params(), seed_, dev, &pins_, verification_, parent, tx_queue, nullptr};
  if (!node) {
    std::unique_ptr<sched::Qdisc> q;
    if (default_kind == "native_pfifo") {
      q = std::make_unique<sched::PfifoQdisc>(std::nullopt, sched::Handle(), device.params());
    } else {
      QdiscSpec spec;
      spec.kind = spec.name = spec.text = std::string(default_kind);
      q = make_qdisc(spec, site, sched::Handle());
    }
    q->set_parent(parent);
    qdiscs_.push_back(BuiltQdisc{dev, q.get(), nullptr, default_kind});
    return q;
  }
  const size_t index = qdiscs_.size();
  qdiscs_.push_back(BuiltQdisc{dev, nullptr, node});
  const int ifindex = device.ifindex();
  auto add_classes = [&](sched::BpfQdisc& bpf) {
    std::set<uint32_t> declared;
    for (const ClassNode& c : plan_.classes()) {
      if (c.dev != dev || c.parent != node->handle) continue;
      std::unique_ptr<sched::Qdisc> child = build(dev, plan_.child_of(dev, c.classid), c.classid);
      classes_.push_back(BuiltClass{dev, c.classid, c.parent, child.get(), &bpf, node, &c});
      bpf.add_class(c.classid, std::move(child));
      set_class_params(bpf, c);
      declared.insert(c.classid.value);
    }
    // Linux's prio and ets make their bands' classes themselves (each with a pfifo): so does a
    // program with a `bands` parameter, for the bands no line declared.
    for (uint32_t band = 1; band <= std::min(bands_of(bpf), kMaxBands); ++band) {
      const sched::Handle classid = sched::Handle::make(node->handle.major(), static_cast<uint16_t>(band));
      if (declared.count(classid.value)) continue;
      const ClassNode& c = implicit_classes_.emplace_back(ClassNode{dev, classid, node->handle, node->spec.where, {}});
      std::unique_ptr<sched::Qdisc> child = build(dev, nullptr, classid);
      classes_.push_back(BuiltClass{dev, classid, node->handle, child.get(), &bpf, node, &c});
      bpf.add_class(classid, std::move(child));
    }
    const sched::DeviceTable* table = &devices_;
    bpf.set_classifier([table, ifindex](sched::Packet& pkt, int at, uint32_t handle) {
      return table->classify(pkt, at == 0 ? ifindex : at, handle);
    });
  };
  if (find_qdisc_kind(node->spec.kind)->tx_queue_classes) {
    // mq, mqprio: the qdisc makes its classes, one per TX queue, and asks for each one's qdisc.
    site.build_child = [this, dev, node](sched::Handle classid, std::string_view default_kind) {
      std::unique_ptr<sched::Qdisc> child = build(dev, plan_.child_of(dev, classid), classid, default_kind);
      const ClassNode* c = nullptr;
      for (const ClassNode& declared : plan_.classes())
        if (declared.dev == dev && declared.classid == classid) c = &declared;
      if (!c) c = &implicit_classes_.emplace_back(ClassNode{dev, classid, node->handle, node->spec.where, {}});
      classes_.push_back(BuiltClass{dev, classid, node->handle, child.get(), nullptr, node, c});
      return child;
    };
  }
  std::unique_ptr<sched::Qdisc> q = make_qdisc(node->spec, site, node->handle, add_classes);
  q->set_parent(parent);
  qdiscs_[index].qdisc = q.get();
  return q;
}

sched::Device& BuiltSetup::device(const std::string& name) {
  if (sched::Device* d = devices_.find(name)) return *d;
  const std::string names = plan_.link_names();
  throw Error("cannot find device " + name, "setup", names.empty() ? "the setup has no devices" : "the setup has " + names);
}

sched::Qdisc* BuiltSetup::find_qdisc(const std::string& dev, sched::Handle handle) const {
  for (const BuiltQdisc& b : qdiscs_)
    if (b.dev == dev && b.qdisc->handle() == handle) return b.qdisc;
  return nullptr;
}

SetupSnapshot BuiltSetup::snapshot() const {
  SetupSnapshot s;
  s.at_ns = clock_.now_ns();
  for (const LinkNode& link : plan_.links()) {
    if (const sched::Device* d = devices_.find(link.name)) s.devices.push_back(DeviceRow{link.name, d->stats()});
    if (!link.clsact_where.empty()) {  // as tc shows it: qdisc clsact ffff: parent ffff:fff1
      QdiscRow row;
      row.dev = link.name;
      row.kind = "clsact";
      row.handle = sched::Handle::make(0xffff, 0);
      row.parent = sched::Handle(sched::Handle::kIngress);
      s.qdiscs.push_back(std::move(row));
    }
  }
  for (const BuiltQdisc& b : qdiscs_) {
    QdiscRow row;
    row.dev = b.dev;
    // What show calls it: the line's name ("tbf", "native_pfifo"); a class's default qdisc is
    // the native pfifo Linux gives classes.
    const QdiscKind* kind = find_qdisc_kind(b.node ? b.node->spec.kind : b.default_kind);
    row.kind = b.node ? b.node->spec.name : std::string(kind->name);
    row.handle = b.qdisc->handle();
    row.parent = b.qdisc->parent();
    row.is_default = b.node == nullptr;
    row.stats = b.qdisc->stats();
    kind->dump(*b.qdisc, b.node ? &b.node->spec : nullptr, row);
    s.qdiscs.push_back(std::move(row));
  }
  for (const BuiltClass& c : classes_) {
    ClassRow row{c.dev, c.classid, c.parent, c.leaf->handle(), c.leaf->stats(), c.owner_node->spec.name, {}, {}};
    for (const ProgramParam& p : c.node->params) {  // the value the program's map holds now
      uint64_t value = 0;
      c.owner->object().map("class_" + p.name).lookup_copy(&c.classid.value, &value);
      row.options += (row.options.empty() ? "" : " ") + p.name + " " + std::to_string(value);
      row.options_json[p.name] = value;
    }
    s.classes.push_back(std::move(row));
  }
  for (const FilterNode& f : plan_.filters()) {
    // The words after the kind, with fw's handle (written before the kind) in front.
    const size_t space = f.spec.text.find(' ');
    std::string options = space == std::string::npos ? "" : f.spec.text.substr(space + 1);
    if (f.spec.handle) options = "handle " + *f.spec.handle + (options.empty() ? "" : " " + options);
    s.filters.push_back(FilterRow{f.dev, f.parent, f.protocol, f.prio, f.chain, f.spec.kind, options});
  }
  return s;
}

}  // namespace bpfq::tc
