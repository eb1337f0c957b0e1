#include <bpfq/tc/setup_plan.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>
#include <bpfq/tc/program_library.hpp>
#include <bpfq/tc/qdisc_kind.hpp>

#include "kinds/kinds.hpp"

namespace bpfq::tc {

namespace {

constexpr uint32_t kFirstAutoMajor = 0x8001;   // Linux numbers unnamed qdiscs 8001:, 8002:, ...
constexpr uint32_t kFirstAutoPrio = 0xC000;    // and gives the first filter without prio 49152

std::string declared(const std::string& where) { return where.empty() ? "" : " (" + where + ")"; }

// mq, mqprio: classes that are the device's TX queues.
bool tx_queue_classes(const QdiscNode& q) { return find_qdisc_kind(q.spec.kind)->tx_queue_classes; }

// Linux's bpf qdisc (a struct_ops object) is classless, whatever its `bpf` kind says.
bool classful(const QdiscNode& q) {
  if (!find_qdisc_kind(q.spec.kind)->classful) return false;
  return q.spec.object.empty() || !loader::declares_struct_ops(loader::read_object_file(q.spec.object), q.spec.object);
}

}  // namespace

std::vector<TcLine> read_batch_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(std::string("cannot open: ") + std::strerror(errno), path, "bpfq -b FILE reads tc lines from FILE");
  std::vector<TcLine> lines;
  std::string text, pending;
  int number = 0, first = 0;
  while (std::getline(in, text)) {
    ++number;
    if (pending.empty()) first = number;
    if (!text.empty() && text.back() == '\\') {
      pending += text.substr(0, text.size() - 1) + " ";
      continue;
    }
    TcLine line = TcLine::split(pending + text, path + ":" + std::to_string(first));
    pending.clear();
    if (!line.done()) lines.push_back(std::move(line));
  }
  if (!pending.empty()) lines.push_back(TcLine::split(pending, path + ":" + std::to_string(first)));
  return lines;
}

SetupPlan::SetupPlan() = default;
SetupPlan::~SetupPlan() = default;

std::optional<ShowCommand> SetupPlan::apply(TcLine& line) {
  line.accept("tc");  // lines copied from tc scripts
  const std::string object = line.take("qdisc, class, filter, link or struct_ops");
  if (object == "struct_ops") {
    line.expect("register");
    struct_ops_register(line);
    ++version_;
    return std::nullopt;
  }
  if (object != "qdisc" && object != "class" && object != "filter" && object != "link")
    line.bad_previous("qdisc, class, filter, link or struct_ops");
  const char* verbs = object == "link" ? "add" : "add, replace, change, del or show";
  const std::string verb = line.take(verbs);
  if (object != "link" && (verb == "show" || verb == "list" || verb == "ls")) {
    return show(line, object == "qdisc" ? ShowCommand::What::Qdisc
                      : object == "class" ? ShowCommand::What::Class
                                          : ShowCommand::What::Filter);
  }
  const Verb v = verb == "add" ? Verb::Add : verb == "replace" ? Verb::Replace : verb == "change" ? Verb::Change
                 : verb == "del" || verb == "delete" ? Verb::Del : static_cast<Verb>(255);
  const bool takes = object == "link" ? v == Verb::Add : v != static_cast<Verb>(255);
  if (!takes) line.bad_previous(verbs);
  if (object == "link") link_add(line);
  if (object == "qdisc") v == Verb::Del ? qdisc_del(line) : qdisc_add(line, v);
  if (object == "class") v == Verb::Del ? class_del(line) : class_add(line, v);
  if (object == "filter") v == Verb::Del ? filter_del(line) : filter_add(line, v);
  ++version_;
  return std::nullopt;
}

const LinkNode* SetupPlan::find_link(const std::string& dev) const {
  for (const LinkNode& l : links_)
    if (l.name == dev) return &l;
  return nullptr;
}

LinkNode& SetupPlan::link(const std::string& dev) {
  if (!find_link(dev)) links_.push_back(LinkNode{dev, {}, false, 0, {}, {}, {}});
  return const_cast<LinkNode&>(*find_link(dev));
}

std::string SetupPlan::link_names() const {
  std::string names;
  for (const LinkNode& l : links_) names += (names.empty() ? "" : ", ") + l.name;
  return names;
}

const QdiscNode* SetupPlan::find_qdisc(const std::string& dev, sched::Handle handle) const {
  for (const QdiscNode& q : qdiscs_)
    if (q.dev == dev && q.handle == handle) return &q;
  return nullptr;
}

const QdiscNode* SetupPlan::child_of(const std::string& dev, sched::Handle classid) const {
  for (const QdiscNode& q : qdiscs_)
    if (q.dev == dev && q.parent == classid) return &q;
  return nullptr;
}

const ClassNode* SetupPlan::find_class(const std::string& dev, sched::Handle classid) const {
  for (const ClassNode& c : classes_)
    if (c.dev == dev && c.classid == classid) return &c;
  return nullptr;
}

void SetupPlan::link_add(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  if (const LinkNode* l = find_link(dev))
    line.fail("device " + dev + " exists" + declared(l->where),
              "declare a device with `link add` before its first qdisc, once");
  LinkNode node{dev, {}, false, 0, {}, line.where(), {}};
  while (!line.done()) {
    const char* options = "mtu, txqueuelen, numtxqueues, rate, gso or the end of the line";
    const std::string option = line.take(options);
    if (option == "mtu") {
      node.params.mtu = static_cast<uint32_t>(line.take_number("an MTU in bytes (68 to 65535)", 65535));
      if (node.params.mtu < 68) line.bad_previous("an MTU in bytes (68 to 65535)");
      node.mtu_set = true;
    } else if (option == "rate") {
      const std::string token = line.take("a rate (100mbit, 1gbit)");
      const ParamValue rate = parse_param_value(token, line.where());
      if (rate.kind != ValueKind::Rate || rate.value == 0) line.bad_previous("a rate (100mbit, 1gbit)");
      if (rate.value > UINT64_MAX / 8) line.fail("rate " + token + " is too large", "at most about 18 Ebit/s");
      node.rate_bps = rate.value * 8;
    } else if (option == "gso") {
      const std::string value = line.take("on or off");
      if (value != "on" && value != "off") line.bad_previous("on or off");
      node.gso = value == "on";
    } else if (option == "txqueuelen" || option == "qlen") {
      node.params.tx_queue_len = static_cast<uint32_t>(line.take_number("a queue length in packets", UINT32_MAX));
    } else if (option == "numtxqueues") {
      const std::string expected = "a number of TX queues (1 to " + std::to_string(sched::kMaxTxQueues) + ")";
      node.params.num_tx_queues = static_cast<uint32_t>(line.take_number(expected, sched::kMaxTxQueues));
      if (node.params.num_tx_queues == 0) line.bad_previous(expected);
    } else {
      line.bad_previous(options);
    }
  }
  links_.push_back(std::move(node));
}

sched::Handle SetupPlan::unused_handle(const std::string& dev) const {
  uint32_t major = kFirstAutoMajor;
  while (find_qdisc(dev, sched::Handle::make(static_cast<uint16_t>(major), 0))) ++major;
  return sched::Handle::make(static_cast<uint16_t>(major), 0);
}

// bpftool struct_ops register: the object's Qdisc_ops.id names a qdisc kind from now on, as
// Linux's register_qdisc makes it one for tc.
void SetupPlan::struct_ops_register(TcLine& line) {
  const std::string path = line.take("an object with a struct_ops Qdisc_ops (FILE.bpf.o)");
  line.expect_end("the end of the line");
  if (!scratch_pool_) scratch_pool_ = std::make_unique<sched::PacketPool>(sched::PacketPoolConfig{64});
  sched::BpfQdiscEnv env{scratch_pool_.get(), &scratch_clock_};
  env.verification = verification_;
  std::string id;
  try {
    id = sched::StructOpsQdisc::open(path, sched::Handle::make(1, 0), env)->id();
  } catch (const Error& e) {
    throw on_line(e, line.where());
  }
  if (find_qdisc_kind(id) || !find_library_program(id).empty())
    line.fail("qdisc '" + id + "' exists: it is " + (find_qdisc_kind(id) ? "a qdisc kind" : "in the qdisc library"),
              "give the Qdisc_ops another .id");
  if (auto it = registered_.find(id); it != registered_.end() && it->second != path)
    line.fail("qdisc '" + id + "' is registered already, from " + it->second, "give the Qdisc_ops another .id");
  registered_[id] = path;
}

void SetupPlan::check_builds(const QdiscSpec& spec, const LinkNode& dev, sched::Handle parent, bool tx_queue) {
  if (!scratch_pool_) scratch_pool_ = std::make_unique<sched::PacketPool>(sched::PacketPoolConfig{64});
  QdiscSite site{scratch_clock_, *scratch_pool_, dev.params};
  site.verification = verification_;
  site.parent = parent;
  site.dev = dev.name;
  site.tx_queue = tx_queue;
  make_qdisc(spec, site);
}

void SetupPlan::qdisc_add(TcLine& line, Verb verb) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  if (line.accept("clsact")) {  // the hook before the root qdisc (Linux: ffff:, parent ffff:fff1)
    line.expect_end("the end of the line (clsact takes no options)");
    LinkNode& l = link(dev);
    if (!l.clsact_where.empty() && verb == Verb::Add)
      line.fail(dev + " has clsact already" + declared(l.clsact_where), "one clsact per device");
    l.clsact_where = line.where();
    return;
  }
  if (line.accept("ingress"))
    line.fail("ingress is not supported", "bpfq queues a device's egress; add filters with `filter add dev " + dev +
                                              " egress ...` after `qdisc add dev " + dev + " clsact`");
  sched::Handle parent = sched::Handle::root();
  if (!line.accept("root")) {
    if (!line.accept("parent")) line.unexpected("root or parent X:Y");
    parent = line.take_handle("a class id (1:10)");
    if (parent.minor() == 0) line.bad_previous("a class id with a minor (1:10); a qdisc goes under a class");
  }
  std::optional<sched::Handle> handle;
  if (line.accept("handle")) {
    handle = line.take_handle("a qdisc handle (1:)");
    if (handle->minor() != 0 || handle->major() == 0) line.bad_previous("a qdisc handle with minor 0 (1:, 10:)");
  }
  const QdiscSpec spec = parse_qdisc_spec(line, &registered_);

  if (verb == Verb::Change) {
    // Same place, same kind, new parameters (tc qdisc change).
    const QdiscNode* q = child_of(dev, parent);
    if (!q) line.fail("no qdisc to change at " + (parent.is_root() ? std::string("root") : parent.to_string()) + " of " + dev,
                      "qdisc add (or replace) it first");
    if (handle && *handle != q->handle) line.fail("qdisc " + q->handle.to_string() + " is at that place, not " + handle->to_string());
    if (q->spec.kind != spec.kind || q->spec.object != spec.object)
      line.fail("cannot change a " + q->spec.name + " qdisc into " + spec.name, "use qdisc replace to put another qdisc there");
    const QdiscNode* owner = parent.is_root() ? nullptr : find_qdisc(dev, sched::Handle::make(parent.major(), 0));
    check_builds(spec, link(dev), parent, owner && tx_queue_classes(*owner));
    const_cast<QdiscNode*>(q)->spec = spec;
    return;
  }
  if (verb == Verb::Replace)
    if (const QdiscNode* q = child_of(dev, parent)) {
      if (!handle) handle = q->handle;
      remove_qdisc(dev, q->handle);
    }

  if (handle)
    if (const QdiscNode* taken = find_qdisc(dev, *handle))
      line.fail("handle " + handle->to_string() + " is taken on " + dev + " by qdisc " + taken->spec.name +
                    declared(taken->spec.where),
                "every qdisc of a device needs its own handle");
  bool tx_queue = false;
  if (parent.is_root()) {
    if (const QdiscNode* q = child_of(dev, parent))
      line.fail(dev + " already has a root qdisc " + q->handle.to_string() + declared(q->spec.where),
                "one root qdisc per device");
  } else {
    const QdiscNode* owner = find_qdisc(dev, sched::Handle::make(parent.major(), 0));
    if (!owner)
      line.fail("unknown parent " + parent.to_string() + ": " + dev + " has no qdisc " +
                    sched::Handle::make(parent.major(), 0).to_string(),
                "add the parent qdisc first");
    if (!classful(*owner))
      line.fail("unknown parent " + parent.to_string() + ": qdisc " + owner->handle.to_string() + " is " +
                    owner->spec.name + ", which has no classes",
                "only bpf qdiscs of the seed's API are classful (Linux's struct_ops bpf qdisc is classless)");
    if (tx_queue_classes(*owner)) {
      const uint32_t queues = link(dev).params.num_tx_queues;
      if (parent.minor() > queues)
        line.fail("unknown parent " + parent.to_string() + ": " + owner->spec.name + " " + owner->handle.to_string() +
                      " has one class per TX queue of " + dev + ", " +
                      sched::Handle::make(parent.major(), 1).to_string() + " to " +
                      sched::Handle::make(parent.major(), static_cast<uint16_t>(queues)).to_string(),
                  "link add dev " + dev + " numtxqueues N sets the number of TX queues");
      tx_queue = true;
    }
    if (const QdiscNode* child = child_of(dev, parent))
      line.fail("class " + parent.to_string() + " already has qdisc " + child->handle.to_string() +
                    declared(child->spec.where),
                "one qdisc per class");
  }
  check_builds(spec, link(dev), parent, tx_queue);
  // A qdisc under a class that was never added creates it, as prio's bands exist implicitly.
  if (!parent.is_root() && !find_class(dev, parent))
    classes_.push_back(ClassNode{dev, parent, sched::Handle::make(parent.major(), 0), line.where(), {}});
  qdiscs_.push_back(QdiscNode{dev, handle ? *handle : unused_handle(dev), parent, spec});
}

void SetupPlan::add_root(const std::string& dev, const QdiscSpec& spec) {
  link(dev);
  qdiscs_.push_back(QdiscNode{dev, sched::Handle::make(1, 0), sched::Handle::root(), spec});
  ++version_;
}

void SetupPlan::remove_qdisc(const std::string& dev, sched::Handle handle) {
  std::vector<sched::Handle> classes;
  for (const ClassNode& c : classes_)
    if (c.dev == dev && c.parent == handle) classes.push_back(c.classid);
  for (const sched::Handle c : classes) remove_class(dev, c);
  std::erase_if(filters_, [&](const FilterNode& f) { return f.dev == dev && f.parent == handle; });
  std::erase_if(qdiscs_, [&](const QdiscNode& q) { return q.dev == dev && q.handle == handle; });
}

void SetupPlan::remove_class(const std::string& dev, sched::Handle classid) {
  if (const QdiscNode* child = child_of(dev, classid)) remove_qdisc(dev, child->handle);
  std::erase_if(filters_, [&](const FilterNode& f) { return f.dev == dev && f.parent == classid; });
  std::erase_if(classes_, [&](const ClassNode& c) { return c.dev == dev && c.classid == classid; });
}

void SetupPlan::qdisc_del(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  const QdiscNode* q = nullptr;
  std::string at;
  if (line.accept("clsact")) {
    line.take_rest();
    const LinkNode* l = find_link(dev);
    if (!l || l->clsact_where.empty()) line.fail(dev + " has no clsact", "qdisc add dev " + dev + " clsact");
    std::erase_if(filters_, [&](const FilterNode& f) { return f.dev == dev && f.parent == kClsactEgress; });
    link(dev).clsact_where.clear();
    return;
  }
  if (line.accept("root")) {
    at = "root";
    q = child_of(dev, sched::Handle::root());
  } else if (line.accept("parent")) {
    const sched::Handle parent = line.take_handle("a class id (1:10)");
    at = "parent " + parent.to_string();
    q = child_of(dev, parent);
  } else if (line.accept("handle")) {
    const sched::Handle handle = line.take_handle("a qdisc handle (1:)");
    at = "handle " + handle.to_string();
    q = find_qdisc(dev, handle);
  } else {
    line.unexpected("root, parent X:Y or handle H:");
  }
  // Anything after the place (tc accepts the kind and its options) is ignored, as tc does.
  line.take_rest();
  if (!q) line.fail("no qdisc at " + at + " of " + dev, "qdisc show dev " + dev + " lists them");
  remove_qdisc(dev, q->handle);
}

void SetupPlan::class_del(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  if (line.accept("parent")) line.take_handle("the parent qdisc's handle (1:)");
  line.expect("classid");
  const sched::Handle classid = line.take_handle("a class id (1:10)");
  line.take_rest();
  if (!find_class(dev, classid)) line.fail("no class " + classid.to_string() + " on " + dev, "class show dev " + dev + " lists them");
  remove_class(dev, classid);
}

void SetupPlan::filter_del(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  std::optional<sched::Handle> parent;
  std::optional<uint32_t> prio;
  while (!line.done()) {
    if (line.accept("parent")) {
      parent = line.take_handle("a qdisc handle (1:) or a class id (1:10)");
    } else if (line.accept("egress")) {
      parent = kClsactEgress;
    } else if (line.accept("prio") || line.accept("pref") || line.accept("priority")) {
      prio = static_cast<uint32_t>(line.take_number("a priority (1 to 65535)", 0xffff));
    } else if (line.accept("protocol")) {
      line.take("ip, ipv6 or all");
    } else {
      line.unexpected("parent, prio or the end of the line");
    }
  }
  if (!parent) line.fail("filter del without a parent", "filter del dev " + dev + " parent 1: [prio P], or egress");
  const size_t before = filters_.size();
  std::erase_if(filters_, [&](const FilterNode& f) { return f.dev == dev && f.parent == *parent && (!prio || f.prio == *prio); });
  if (filters_.size() == before)
    line.fail("no filter at parent " + parent->to_string() + (prio ? " prio " + std::to_string(*prio) : "") + " of " + dev,
              "filter show dev " + dev + " lists them");
}

void SetupPlan::class_add(TcLine& line, Verb verb) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  line.expect("parent");
  const sched::Handle parent = line.take_handle("the parent qdisc's handle (1:)");
  if (parent.minor() != 0) line.bad_previous("the parent qdisc's handle (1:); bpf classes are not nested");
  line.expect("classid");
  const sched::Handle classid = line.take_handle("a class id (1:10)");
  if (classid.major() != parent.major() || classid.minor() == 0)
    line.bad_previous("a class id " + parent.to_string() + "N with the parent's major and a minor");
  const QdiscNode* owner = find_qdisc(dev, parent);
  if (!owner) line.fail("unknown parent " + parent.to_string() + ": " + dev + " has no such qdisc", "add the qdisc first");
  if (!classful(*owner))
    line.fail("qdisc " + parent.to_string() + " is " + owner->spec.name + ", which has no classes",
              "only bpf qdiscs of the seed's API are classful (Linux's struct_ops bpf qdisc is classless)");
  if (tx_queue_classes(*owner))
    line.fail("qdisc " + parent.to_string() + " is " + owner->spec.name + ", whose classes are the TX queues of " + dev,
              "its classes exist already, one per TX queue; put a qdisc under one: qdisc add dev " + dev + " parent " +
                  sched::Handle::make(parent.major(), 1).to_string() + " ...");
  // tc writes the parent's kind before the class options: `classid 1:1 drr quantum 1500`.
  if (const std::string* kind = line.peek(); kind && (*kind == "bpf" || *kind == owner->spec.name)) line.take("");
  QdiscSpec options;
  if (!kinds::parse_library_class_options(owner->spec.name, line, options)) kinds::parse_program_params(line, options);
  check_class_params(line, *owner, options.params);

  const ClassNode* c = find_class(dev, classid);
  if (c && verb == Verb::Add)
    line.fail("class " + classid.to_string() + " exists on " + dev + declared(c->where), "every class needs its own id");
  if (!c && verb == Verb::Change) line.fail("no class " + classid.to_string() + " on " + dev + " to change", "class add it first");
  if (!c) {
    classes_.push_back(ClassNode{dev, classid, parent, line.where(), std::move(options.params)});
  } else if (!options.params.empty() || verb == Verb::Replace) {
    auto& node = const_cast<ClassNode&>(*c);
    node.params = std::move(options.params);
    node.where = line.where();
  }
}

void SetupPlan::check_class_params(TcLine& line, const QdiscNode& owner, const std::vector<ProgramParam>& params) {
  if (params.empty()) return;
  const loader::ObjectSpec obj = loader::load_object(owner.spec.object);
  for (const ProgramParam& p : params) {
    const maps::MapSpec* map = nullptr;
    for (const maps::MapSpec& m : obj.maps)
      if (m.name == "class_" + p.name) map = &m;
    if (!map) {
      std::string names;
      for (const maps::MapSpec& m : obj.maps)
        if (m.name.starts_with("class_")) names += (names.empty() ? "" : ", ") + m.name.substr(6);
      line.fail("qdisc " + owner.spec.name + " has no class parameter '" + p.name + "'",
                names.empty() ? "its program keeps no per-class maps (class_NAME)" : "its class parameters are " + names);
    }
    if (map->key_size != 4 || (map->value_size != 4 && map->value_size != 8))
      line.fail("map class_" + p.name + " of " + owner.spec.object + " is not a class parameter",
                "a class parameter map has 4-byte keys (class ids) and 4- or 8-byte values");
    if (map->value_size == 4 && p.value.value > UINT32_MAX)
      line.fail("value " + p.token + " does not fit class parameter '" + p.name + "' (4 bytes)");
  }
}

void SetupPlan::filter_add(TcLine& line, Verb verb) {
  line.expect("dev");
  FilterNode node;
  node.dev = line.take("a device name");
  node.protocol = "all";
  std::optional<sched::Handle> parent;
  std::optional<uint32_t> prio;
  std::optional<std::string> handle;
  // The options before the kind come in any order, as tc takes them (tc-filter(8) writes
  // `dev D protocol ip parent 1: prio 1 u32 ...`).
  const std::string options = "parent, protocol, prio, chain, handle or a filter kind (" + filter_kinds() + ")";
  for (;;) {
    const std::string* next = line.peek();
    if (!next) line.unexpected(options);
    if (line.accept("parent")) {
      parent = line.take_handle("a qdisc handle (1:) or a class id (1:10)");
    } else if (line.accept("egress")) {
      parent = kClsactEgress;
    } else if (line.accept("protocol")) {
      node.protocol = line.take("ip, ipv6 or all");
      if (node.protocol == "ipv4") node.protocol = "ip";
      if (node.protocol != "ip" && node.protocol != "ipv6" && node.protocol != "all") line.bad_previous("ip, ipv6 or all");
    } else if (line.accept("prio") || line.accept("pref") || line.accept("priority")) {
      prio = static_cast<uint32_t>(line.take_number("a priority (1 to 65535)", 0xffff));
      if (*prio == 0) line.bad_previous("a priority (1 to 65535)");
    } else if (line.accept("chain")) {
      node.chain = static_cast<uint32_t>(line.take_number("a chain index", UINT32_MAX));
    } else if (line.accept("handle")) {
      handle = line.take("a filter handle (fw: MARK[/MASK])");
    } else {
      break;
    }
  }
  if (!parent)
    line.fail("filter without a parent",
              "filter add dev " + node.dev + " parent 1: ... (the qdisc or class whose filters it joins), or egress");
  node.parent = *parent;
  if (verb != Verb::Add) {
    // replace / change: the filters at (parent, prio) go first; change requires one.
    if (!prio && node.parent != kClsactEgress)
      line.fail("filter " + std::string(verb == Verb::Change ? "change" : "replace") + " needs the filter's prio",
                "filter replace dev " + node.dev + " parent " + node.parent.to_string() + " prio P ...");
    const size_t before = filters_.size();
    std::erase_if(filters_, [&](const FilterNode& f) {
      return f.dev == node.dev && f.parent == node.parent && (node.parent == kClsactEgress || f.prio == *prio);
    });
    if (verb == Verb::Change && filters_.size() == before)
      line.fail("no filter to change at parent " + node.parent.to_string() + " of " + node.dev,
                "filter add it first");
  }
  if (node.parent == kClsactEgress) {
    node.spec = parse_filter_spec(line, node.parent, handle);
    const LinkNode* l = find_link(node.dev);
    if (!l || l->clsact_where.empty())
      line.fail(node.dev + " has no clsact", "qdisc add dev " + node.dev + " clsact, before its egress filters");
    if (node.spec.kind != "bpf" || !node.spec.direct_action)
      line.fail("clsact egress runs bpf programs in direct-action mode", "filter add dev " + node.dev +
                                                                          " egress bpf obj FILE.bpf.o sec tc da");
    for (const FilterNode& f : filters_)
      if (f.dev == node.dev && f.parent == kClsactEgress)
        line.fail(node.dev + " has an egress program already" + declared(f.spec.where),
                  "one egress program per device: filter del dev " + node.dev + " egress, then add");
    node.prio = prio.value_or(1);
    filters_.push_back(std::move(node));
    return;
  }
  node.spec = parse_filter_spec(line, node.parent, handle);

  const QdiscNode* owner = find_qdisc(node.dev, sched::Handle::make(node.parent.major(), 0));
  const bool known = owner && (node.parent.minor() == 0 || find_class(node.dev, node.parent));
  if (!known) line.fail("unknown parent " + node.parent.to_string() + " on " + node.dev, "add the qdisc or class first");
  if (!classful(*owner) || tx_queue_classes(*owner))
    line.fail("qdisc " + owner->handle.to_string() + " is " + owner->spec.name + ", which runs no filters",
              "filters are run by bpf qdiscs calling bpf_skb_tc_classify");
  if (!prio) {
    // Linux: the first filter gets 49152, later ones one less than the lowest so far.
    uint32_t lowest = kFirstAutoPrio + 1;
    for (const FilterNode& f : filters_)
      if (f.dev == node.dev && f.parent == node.parent) lowest = std::min(lowest, f.prio);
    prio = lowest - 1;
  }
  node.prio = *prio;
  filters_.push_back(std::move(node));
}

ShowCommand SetupPlan::show(TcLine& line, ShowCommand::What what) {
  ShowCommand cmd{what, std::nullopt};
  if (line.accept("dev")) {
    cmd.dev = line.take("a device name");
    if (!find_link(*cmd.dev)) line.fail("cannot find device " + *cmd.dev, "devices come from `link add` or a qdisc line");
  }
  line.expect_end("dev DEVICE or the end of the line");
  return cmd;
}

}  // namespace bpfq::tc
