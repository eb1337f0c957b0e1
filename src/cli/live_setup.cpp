#include "live_setup.hpp"

#include "map_dump.hpp"

#include <algorithm>

#include <bpfq/error.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/setup_show.hpp>

namespace bpfq::cli {

using namespace bpfq::tc;

namespace {

// The rows of `from` on device dev, appended to `to`.
void append_device(SetupSnapshot& to, const SetupSnapshot& from, const std::string& dev) {
  auto copy = [&](auto& out, const auto& in) {
    for (const auto& row : in)
      if (row.dev == dev) out.push_back(row);
  };
  copy(to.devices, from.devices);
  copy(to.qdiscs, from.qdiscs);
  copy(to.classes, from.classes);
  copy(to.filters, from.filters);
  to.at_ns = std::max(to.at_ns, from.at_ns);
}

// The verb of a tc line's words ("show", "replace", ...), after an optional "tc" and the object.
std::pair<std::string, std::string> object_and_verb(const std::vector<std::string>& words) {
  size_t i = !words.empty() && words[0] == "tc" ? 1 : 0;
  return {i < words.size() ? words[i] : "", i + 1 < words.size() ? words[i + 1] : ""};
}

}  // namespace

std::optional<std::string> named_device(const std::vector<std::string>& words) {
  const auto dev = std::find(words.begin(), words.end(), "dev");
  if (dev == words.end() || dev + 1 == words.end()) return std::nullopt;
  return *(dev + 1);
}

LiveSetup::LiveSetup(const std::string& batch, std::array<std::string, 2> ifname, runtime::Verification verification,
                     runtime::Clock& clock, sched::PacketPool& pool, uint64_t seed)
    : ifname_(std::move(ifname)), verification_(verification), clock_(clock), pool_(pool), seed_(seed) {
  if (!batch.empty())
    for (const TcLine& line : read_batch_file(batch)) lines_.emplace_back(line.words(), line.where());
  Generation& g = build(make_plan(nullptr));
  for (int i = 0; i < 2; ++i) served_[i].push_back(&g);
}

LiveSetup::~LiveSetup() = default;

std::unique_ptr<SetupPlan> LiveSetup::make_plan(const std::pair<std::vector<std::string>, std::string>* extra) const {
  auto plan = std::make_unique<SetupPlan>();
  plan->set_verification(verification_);
  for (const auto& [words, where] : lines_) {
    TcLine line(words, where);
    plan->apply(line);
  }
  if (extra) {
    TcLine line(extra->first, extra->second);
    plan->apply(line);
  }
  for (const LinkNode& l : plan->links())
    if (l.name != ifname_[0] && l.name != ifname_[1])
      throw Error("device " + l.name + " is not one of the bridged interfaces (" + ifname_[0] + ", " + ifname_[1] + ")",
                  l.where.empty() ? (extra ? extra->second : std::string("bpfq live")) : l.where,
                  "`dev` names the real interfaces: bpfq live " + ifname_[0] + " " + ifname_[1] + " -b FILE");
  for (const std::string& name : ifname_)
    if (!plan->child_of(name, sched::Handle::root())) plan->add_root(name, parse_qdisc_spec("pfifo_fast"));
  return plan;
}

LiveSetup::Generation& LiveSetup::build(std::unique_ptr<SetupPlan> plan) {
  auto g = std::make_unique<Generation>();
  g->built = std::make_unique<BuiltSetup>(*plan, clock_, pool_, std::string{}, 0, seed_);
  g->plan = std::move(plan);
  generations_.push_back(std::move(g));
  return *generations_.back();
}

const SetupPlan& LiveSetup::plan() const { return *generations_.back()->plan; }

sched::Device& LiveSetup::device(int side) const { return served_[side].back()->built->device(ifname_[side]); }

std::string LiveSetup::apply(const std::vector<std::string>& words, bool json, bool stats,
                             const std::function<void(int, sched::Device&)>& switch_to) {
  const std::string where = "control line " + std::to_string(++control_lines_);
  const auto [object, verb] = object_and_verb(words);
  if (object == "link")
    throw Error("link lines are read when bpfq live starts", where, "restart bpfq live to change a link's rate or gso");
  if (object == "map") {
    const MapDumpCommand cmd = parse_map_dump(words, where);
    const int side = cmd.dev == ifname_[0] ? 0 : cmd.dev == ifname_[1] ? 1 : -1;
    if (side < 0) throw Error("cannot find device " + cmd.dev, where, "bpfq live bridges " + ifname_[0] + " and " + ifname_[1]);
    const nlohmann::json dump = map_dump_json(*served_[side].back()->built, cmd);
    return json ? dump.dump() + "\n" : map_dump_text(dump);
  }
  if (verb == "show" || verb == "list" || verb == "ls") {
    TcLine line(words, where);
    // A show line leaves the plan as it is.
    const std::optional<ShowCommand> show = generations_.back()->plan->apply(line);
    const SetupSnapshot now = serving_snapshot();
    return json ? show_json(now, *show, stats).dump() + "\n" : show_text(now, *show, stats);
  }
  const std::string name = named_device(words).value_or("");  // the device the line changes
  const int side = name == ifname_[0] ? 0 : name == ifname_[1] ? 1 : -1;
  if (side < 0)
    throw Error("the line names no bridged device (" + ifname_[0] + ", " + ifname_[1] + ")", where,
                "e.g. qdisc replace dev " + ifname_[1] + " root fq_codel");
  const std::pair<std::vector<std::string>, std::string> line{words, where};
  Generation& g = build(make_plan(&line));  // throws on a bad line: nothing changed
  lines_.push_back(line);
  served_[side].push_back(&g);
  switch_to(side, g.built->device(ifname_[side]));
  return "";
}

std::vector<sched::Device*> LiveSetup::served(int side) const {
  std::vector<sched::Device*> devices;
  for (Generation* g : served_[side]) devices.push_back(&g->built->device(ifname_[side]));
  return devices;
}

SetupSnapshot LiveSetup::snapshot() const {
  SetupSnapshot all;
  for (int i = 0; i < 2; ++i)
    for (Generation* g : served_[i]) append_device(all, g->built->snapshot(), ifname_[i]);
  return all;
}

SetupSnapshot LiveSetup::serving_snapshot() const {
  SetupSnapshot now;
  for (int i = 0; i < 2; ++i) append_device(now, served_[i].back()->built->snapshot(), ifname_[i]);
  return now;
}

}  // namespace bpfq::cli
