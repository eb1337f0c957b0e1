#include "setup_plan.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <bpfq/error.hpp>

namespace bpfq::cli {

namespace {

constexpr uint32_t kFirstAutoMajor = 0x8001;   // Linux numbers unnamed qdiscs 8001:, 8002:, ...
constexpr uint32_t kFirstAutoPrio = 0xC000;    // and gives the first filter without prio 49152

std::string declared(const std::string& where) { return where.empty() ? "" : " (" + where + ")"; }

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
  const std::string object = line.take("qdisc, class, filter or link");
  if (object != "qdisc" && object != "class" && object != "filter" && object != "link")
    line.bad_previous("qdisc, class, filter or link");
  const std::string verb = line.take(object == "link" ? "add" : "add or show");
  if (verb == "add") {
    if (object == "link") link_add(line);
    if (object == "qdisc") qdisc_add(line);
    if (object == "class") class_add(line);
    if (object == "filter") filter_add(line);
    ++version_;
    return std::nullopt;
  }
  if (object != "link" && (verb == "show" || verb == "list" || verb == "ls")) {
    return show(line, object == "qdisc" ? ShowCommand::What::Qdisc
                      : object == "class" ? ShowCommand::What::Class
                                          : ShowCommand::What::Filter);
  }
  line.bad_previous(object == "link" ? "add" : "add or show");
}

const LinkNode* SetupPlan::find_link(const std::string& dev) const {
  for (const LinkNode& l : links_)
    if (l.name == dev) return &l;
  return nullptr;
}

LinkNode& SetupPlan::link(const std::string& dev) {
  if (!find_link(dev)) links_.push_back(LinkNode{dev, {}, false, {}});
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
  LinkNode node{dev, {}, false, line.where()};
  while (!line.done()) {
    const std::string option = line.take("mtu, txqueuelen or the end of the line");
    if (option == "mtu") {
      node.params.mtu = static_cast<uint32_t>(line.take_number("an MTU in bytes (68 to 65535)", 65535));
      if (node.params.mtu < 68) line.bad_previous("an MTU in bytes (68 to 65535)");
      node.mtu_set = true;
    } else if (option == "txqueuelen" || option == "qlen") {
      node.params.tx_queue_len = static_cast<uint32_t>(line.take_number("a queue length in packets", UINT32_MAX));
    } else {
      line.bad_previous("mtu, txqueuelen or the end of the line");
    }
  }
  links_.push_back(std::move(node));
}

sched::Handle SetupPlan::unused_handle(const std::string& dev) const {
  uint32_t major = kFirstAutoMajor;
  while (find_qdisc(dev, sched::Handle::make(static_cast<uint16_t>(major), 0))) ++major;
  return sched::Handle::make(static_cast<uint16_t>(major), 0);
}

void SetupPlan::check_builds(const QdiscSpec& spec, const LinkNode& dev) {
  if (!scratch_pool_) scratch_pool_ = std::make_unique<sched::PacketPool>(sched::PacketPoolConfig{64});
  make_qdisc(spec, QdiscSite{scratch_clock_, *scratch_pool_, dev.params});
}

void SetupPlan::qdisc_add(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
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
  const QdiscSpec spec = parse_qdisc_spec(line);

  if (handle)
    if (const QdiscNode* taken = find_qdisc(dev, *handle))
      line.fail("handle " + handle->to_string() + " is taken on " + dev + " by qdisc " + taken->spec.kind +
                    declared(taken->spec.where),
                "every qdisc of a device needs its own handle");
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
    if (owner->spec.kind != "bpf")
      line.fail("unknown parent " + parent.to_string() + ": qdisc " + owner->handle.to_string() + " is " +
                    owner->spec.kind + ", which has no classes",
                "only bpf qdiscs are classful");
    if (const QdiscNode* child = child_of(dev, parent))
      line.fail("class " + parent.to_string() + " already has qdisc " + child->handle.to_string() +
                    declared(child->spec.where),
                "one qdisc per class");
  }
  check_builds(spec, link(dev));
  // A qdisc under a class that was never added creates it, as prio's bands exist implicitly.
  if (!parent.is_root() && !find_class(dev, parent))
    classes_.push_back(ClassNode{dev, parent, sched::Handle::make(parent.major(), 0), line.where()});
  qdiscs_.push_back(QdiscNode{dev, handle ? *handle : unused_handle(dev), parent, spec});
}

void SetupPlan::class_add(TcLine& line) {
  line.expect("dev");
  const std::string dev = line.take("a device name");
  line.expect("parent");
  const sched::Handle parent = line.take_handle("the parent qdisc's handle (1:)");
  if (parent.minor() != 0) line.bad_previous("the parent qdisc's handle (1:); bpf classes are not nested");
  line.expect("classid");
  const sched::Handle classid = line.take_handle("a class id (1:10)");
  if (classid.major() != parent.major() || classid.minor() == 0)
    line.bad_previous("a class id " + parent.to_string() + "N with the parent's major and a minor");
  line.accept("bpf");
  line.expect_end("the end of the line (bpf classes take no options; give the class a qdisc with "
                  "`qdisc add dev " + dev + " parent " + classid.to_string() + " KIND`)");

  const QdiscNode* owner = find_qdisc(dev, parent);
  if (!owner) line.fail("unknown parent " + parent.to_string() + ": " + dev + " has no such qdisc", "add the qdisc first");
  if (owner->spec.kind != "bpf")
    line.fail("qdisc " + parent.to_string() + " is " + owner->spec.kind + ", which has no classes",
              "only bpf qdiscs are classful");
  if (const ClassNode* c = find_class(dev, classid))
    line.fail("class " + classid.to_string() + " exists on " + dev + declared(c->where), "every class needs its own id");
  classes_.push_back(ClassNode{dev, classid, parent, line.where()});
}

void SetupPlan::filter_add(TcLine& line) {
  line.expect("dev");
  FilterNode node;
  node.dev = line.take("a device name");
  line.expect("parent");
  node.parent = line.take_handle("a qdisc handle (1:) or a class id (1:10)");
  node.protocol = "all";
  std::optional<uint32_t> prio;
  std::optional<std::string> handle;
  const std::string options = "protocol, prio, chain, handle or a filter kind (" + filter_kinds() + ")";
  for (;;) {
    const std::string* next = line.peek();
    if (!next) line.unexpected(options);
    if (line.accept("protocol")) {
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
  node.spec = parse_filter_spec(line, node.parent, handle);

  const QdiscNode* owner = find_qdisc(node.dev, sched::Handle::make(node.parent.major(), 0));
  const bool known = owner && (node.parent.minor() == 0 || find_class(node.dev, node.parent));
  if (!known) line.fail("unknown parent " + node.parent.to_string() + " on " + node.dev, "add the qdisc or class first");
  if (owner->spec.kind != "bpf")
    line.fail("qdisc " + owner->handle.to_string() + " is " + owner->spec.kind + ", which runs no filters",
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

}  // namespace bpfq::cli
