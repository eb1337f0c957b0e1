#include "setup_commands.hpp"

#include "live_setup.hpp"
#include "map_dump.hpp"

#include <unistd.h>

#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/live/control_socket.hpp>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/qdisc_kind.hpp>
#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_show.hpp>

namespace bpfq::cli {

using namespace bpfq::tc;  // the tc model: specs, setups, show

namespace {

constexpr const char* kObjects[] = {"qdisc", "class", "filter", "link", "tc", "map", "struct_ops"};

// What --help shows under each subcommand: its tc lines (docs/cli.md has the details).
std::string grammar(std::string_view object) {
  if (object == "qdisc") {
    std::string kinds;
    for (const QdiscKind* k : qdisc_kinds()) kinds += "        " + std::string(k->usage) + "\n";
    return "qdisc add|replace|change dev D (root | parent X:Y) [handle H:] KIND ARGS...\n"
           "  KIND: a library program by name (pfifo, fq_codel, tbf, sfq, ...: NAME.bpf.o [NAME VALUE]...)\n" +
           kinds +
           "        (VALUE: 100, 10ms, 10mbit, 64kb, 1%)\n"
           "qdisc add dev D clsact\n"
           "qdisc del dev D (root | parent X:Y | handle H: | clsact)\n"
           "qdisc show [dev D]";
  }
  if (object == "class")
    return "class add|replace|change dev D parent H: classid H:M [KIND] [NAME VALUE]...\n"
           "class del dev D classid H:M\nclass show [dev D]";
  if (object == "tc") return "tc qdisc|class|filter|link ...: the same lines, as written for tc";
  if (object == "struct_ops")
    return "struct_ops register FILE.bpf.o: the object's struct_ops Qdisc_ops (Linux's bpf qdisc API) becomes a qdisc\n"
           "  kind named by its .id for the lines after it: qdisc add dev D root bpf_fifo (docs/struct_ops.md)";
  if (object == "map") return "map dump dev D [handle H:]: the maps of the bpf qdiscs on D (docs/cli.md)";
  if (object == "filter")
    return "filter add|replace|change dev D parent H:[M] [protocol ip|ipv6|all] [prio P] [chain C] [handle X] KIND ARGS...\n"
           "  KIND: u32 match ... classid X:Y | fw [handle MARK[/MASK]] classid X:Y\n"
           "        | bpf obj FILE.bpf.o [sec S] [classid X:Y] [da] [NAME VALUE]...\n"
           "filter add dev D egress bpf obj FILE.bpf.o [sec S] da [NAME VALUE]...   (after qdisc add dev D clsact)\n"
           "filter del dev D (parent H:[M] [prio P] | egress)\n"
           "filter show [dev D]";
  return "link add dev D [mtu N] [txqueuelen N] [rate R] [gso on|off]";
}

// A line naming a device that a running `bpfq live` bridges acts on it, as tc's lines act on the
// running kernel: the control socket the instance made for the device, if it exists.
std::optional<std::string> live_control_path(const std::vector<std::string>& words) {
  const std::optional<std::string> dev = named_device(words);
  if (!dev) return std::nullopt;
  std::string path = io::live::control_path(*dev);
  if (access(path.c_str(), F_OK) != 0) return std::nullopt;
  return path;
}

void ask_live(const std::string& path, const std::vector<std::string>& words, const GlobalFlags& flags) {
  const nlohmann::json request = {{"words", words}, {"json", flags.json}, {"stats", flags.stats}};
  std::string text;
  try {
    text = io::live::ControlSocket::ask(path, request.dump());
  } catch (const Error& e) {
    throw Error(e.reason(), e.where(), e.hint() + "; a socket left by a killed bpfq live can be removed: rm " + path);
  }
  const nlohmann::json answer = nlohmann::json::parse(text, nullptr, false);
  if (!answer.is_object()) throw Error("the bpfq live on " + path + " answered something else than JSON", "bpfq");
  if (answer.contains("error")) throw Error(answer["error"].get<std::string>());
  fmt::print("{}", answer.value("output", std::string{}));
}

}  // namespace

void add_tc_commands(CLI::App& app) {
  for (const char* name : kObjects) {
    CLI::App* sub = app.add_subcommand(name, fmt::format("tc-style setup: {} add|show ... (docs/cli.md)", name));
    sub->prefix_command();  // every word after it is the tc line's
    sub->footer(grammar(name));
    if (std::string_view(name) == "map") sub->description("the maps of the bpf qdiscs on a device: map dump dev D [handle H:]");
    if (std::string_view(name) == "struct_ops")
      sub->description("register a struct_ops Qdisc_ops (Linux's bpf qdisc) as a qdisc kind: struct_ops register FILE.bpf.o");
  }
}

std::vector<std::string> parsed_tc_words(const CLI::App& app) {
  for (const char* name : kObjects) {
    const CLI::App* sub = app.get_subcommand(name);
    if (sub->parsed()) {
      std::vector<std::string> words{name};
      for (const std::string& w : sub->remaining()) words.push_back(w);
      return words;
    }
  }
  return {};
}

void run_tc(std::vector<std::string> words, GlobalFlags flags) {
  // tc's global options where users type them, also after the object: `qdisc show dev D -s`.
  std::erase_if(words, [&](const std::string& w) {
    if (w == "-s" || w == "-stats" || w == "--stats") return flags.stats = true;
    if (w == "-j" || w == "-json" || w == "--json") return flags.json = true;
    return false;
  });
  if (flags.batch.empty())
    if (const std::optional<std::string> path = live_control_path(words)) return ask_live(*path, words, flags);
  SetupPlan plan;
  // Nothing flows through a batch: its qdiscs run against a clock at 0 and a small pool.
  runtime::ManualClock clock;
  sched::PacketPool pool(sched::PacketPoolConfig{64});
  std::unique_ptr<BuiltSetup> built;
  // The setup of the lines so far, built once per change.
  auto current = [&]() -> BuiltSetup& {
    if (!built || built->plan_version() != plan.version()) {
      built.reset();
      built = std::make_unique<BuiltSetup>(plan, clock, pool);
    }
    return *built;
  };

  auto run_line = [&](TcLine& line) {
    const std::optional<ShowCommand> show = plan.apply(line);
    if (!show) return;
    const SetupSnapshot snapshot = current().snapshot();
    if (flags.json)
      fmt::print("{}\n", show_json(snapshot, *show, flags.stats).dump());
    else
      fmt::print("{}", show_text(snapshot, *show, flags.stats));
  };
  if (!flags.batch.empty())
    for (TcLine& line : read_batch_file(flags.batch)) run_line(line);
  if (!words.empty() && words[0] == "map") {  // `map dump`: from the setup the batch built
    const nlohmann::json dump = map_dump_json(current(), parse_map_dump(words, "command line"));
    fmt::print("{}", flags.json ? dump.dump() + "\n" : map_dump_text(dump));
  } else if (!words.empty()) {
    TcLine line(words, "command line");
    run_line(line);
    if (words[0] == "struct_ops")  // say what the object registered
      for (const auto& [id, path] : plan.registered_qdiscs())
        if (path == words.back()) fmt::print("registered qdisc {} ({})\n", id, path);
  }
}

}  // namespace bpfq::cli
