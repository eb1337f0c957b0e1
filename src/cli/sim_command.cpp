#include "sim_command.hpp"

#include "run_health.hpp"

#include <unistd.h>

#include <fstream>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/plot.hpp>
#include <bpfq/io/sim/scenario_file.hpp>
#include <bpfq/io/sim/simulation.hpp>

#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_show.hpp>

namespace bpfq::cli {

using namespace bpfq::tc;  // the tc model: specs, setups, show

namespace {

struct SimOptions {
  std::string preset = "bufferbloat";
  std::string scenario_file;
  std::vector<std::string> qdiscs;
  std::vector<std::string> setups;
  std::string dev;
  std::string compare;
  uint64_t seed = 0;
  double duration_s = 0;
  std::string pcap;  // capture of the bottleneck's output
  std::string plot;  // SVG of the time series
  bool ipv6 = false;
  bool allow_faults = false;
  bool unverified = false;
};

// With several runs each writes its own capture: out.pcap -> out.1.pcap, out.2.pcap, ...
std::string capture_path(const std::string& path, size_t index, size_t runs) {
  if (runs == 1) return path;
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const std::string n = "." + std::to_string(index + 1);
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + n;
  return path.substr(0, dot) + n + path.substr(dot);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

bool is_setup_file(const std::string& name) { return name.size() > 3 && name.ends_with(".tc"); }

// One column of the comparison: a qdisc in tc syntax (-q), or a setup file (--setup) whose
// bottleneck device's root qdisc (with its classes and filters) goes on the bottleneck.
struct SimEntry {
  std::string name;
  std::unique_ptr<SetupPlan> plan;
  std::string dev;
  bool is_setup = false;
  uint64_t rate_bps = 0;  // the setup's `link add dev D rate R`: the bottleneck's rate; 0: the scenario's
};

// -q SPEC: a device eth0 with the qdisc as its root.
SimEntry qdisc_entry(const std::string& text, runtime::Verification verification) {
  SimEntry e{text, std::make_unique<SetupPlan>(), "eth0", false};
  e.plan->set_verification(verification);
  e.plan->add_root(e.dev, parse_qdisc_spec(text));
  return e;
}

struct SimResult {
  io::sim::Report report;
  std::optional<SetupSnapshot> setup;  // the setup's qdiscs and classes at the last sample
  std::string dev;
  RunHealth health;
  bool is_setup = false;  // --setup FILE (else -q SPEC)
};

// Reads and checks the setup; picks the device (--dev, or the only one) and checks its root.
SimEntry load_setup_entry(const std::string& path, const std::string& dev, uint32_t mtu,
                          runtime::Verification verification) {
  SimEntry e{path, std::make_unique<SetupPlan>(), dev, true};
  e.plan->set_verification(verification);
  for (TcLine& line : read_batch_file(path)) e.plan->apply(line);  // show lines print nothing here
  const std::string names = e.plan->link_names();
  if (e.dev.empty()) {
    if (e.plan->links().size() != 1)
      throw Error(e.plan->links().empty() ? "the setup has no device" : "the setup has devices " + names, path,
                  "pick the bottleneck device with --dev NAME");
    e.dev = e.plan->links().front().name;
  }
  const LinkNode* link = e.plan->find_link(e.dev);
  if (!link) throw Error("no device " + e.dev + " in the setup", path, names.empty() ? "add a qdisc to it" : "its devices: " + names);
  if (link->mtu_set && link->params.mtu != mtu)
    throw Error("device " + e.dev + " has mtu " + std::to_string(link->params.mtu) + " (" + link->where +
                    ") but the scenario's link has mtu " + std::to_string(mtu),
                path, "drop `mtu` from the link line or change the scenario");
  e.rate_bps = link->rate_bps;
  if (!e.plan->child_of(e.dev, sched::Handle::root())) throw Error("device " + e.dev + " has no root qdisc", path, "qdisc add dev " + e.dev + " root ...");
  return e;
}

SimResult run_entry(const SimEntry& e, const io::sim::Scenario& scenario, const io::sim::ProgressCallback& progress) {
  io::sim::Simulation sim(scenario);  // before the setup: its qdiscs hold the pool's packets
  BuiltSetup built(*e.plan, sim.clock(), sim.pool(), e.dev, scenario.mtu, scenario.seed);
  SimResult r{{}, built.snapshot(), e.dev, {}, e.is_setup};
  // The simulator drains the qdiscs after the run; keep what they held at the last sample.
  sim.set_progress([&](const io::sim::Progress& p) {
    r.setup = built.snapshot();
    if (progress) progress(p);
  });
  r.report = sim.run(built.device(e.dev));  // its clsact egress program runs before the root
  r.health = run_health(built.snapshot(), r.report.pool_exhausted);
  return r;
}

// The latency a user feels: the ping probes' RTT if there are any, else the flows' RTT.
const io::sim::DelaySummary* probe_rtt(const io::sim::Report& r) {
  for (const io::sim::FlowReport& f : r.flows)
    if (f.kind == "ping") return &f.rtt;
  return r.flows.empty() ? nullptr : &r.flows.front().rtt;
}

// Queueing delay over every flow's packets: the worst p50/p99 among flows.
std::pair<uint64_t, uint64_t> queue_delay(const io::sim::Report& r) {
  uint64_t p50 = 0, p99 = 0;
  for (const io::sim::FlowReport& f : r.flows) {
    p50 = std::max(p50, f.queue_delay.p50_ns);
    p99 = std::max(p99, f.queue_delay.p99_ns);
  }
  return {p50, p99};
}

double tcp_goodput_mbps(const io::sim::Report& r) {
  double bps = 0;
  for (const io::sim::FlowReport& f : r.flows)
    if (f.kind == "tcp") bps += f.goodput_bps;
  return bps / 1e6;
}

// The table's short form of a qdisc: "bpf obj build/progs/fq_codel.bpf.o target 5ms" reads as
// "fq_codel.bpf.o target 5ms" (the full text heads the tc blocks below the table).
std::string table_name(const std::string& name) {
  std::string s = name.starts_with("bpf obj ") ? name.substr(8) : name;
  const size_t end = s.find(' ');
  const size_t slash = s.rfind('/', end);
  if (slash != std::string::npos) s = s.substr(slash + 1);
  return s.substr(0, 34);
}

void print_table(const io::sim::Scenario& scenario, const std::vector<std::string>& names,
                 const std::vector<SimResult>& results) {
  fmt::print("scenario {}: {} Mbit/s, {} ms base RTT, {} s, seed {}\n\n", scenario.name,
             scenario.rate_bps / 1e6, ms(scenario.rtt_ns), scenario.duration_ns / 1e9, scenario.seed);
  fmt::print("{:<34} {:>10} {:>6} {:>6} {:>11} {:>11} {:>11} {:>11} {:>8} {:>8}\n", "qdisc", "tcp Mbit/s",
             "util", "Jain", "RTT p50 ms", "RTT p99 ms", "qdelay p50", "qdelay p99", "drops", "marks");
  for (size_t i = 0; i < results.size(); ++i) {
    const io::sim::Report& r = results[i].report;
    const io::sim::DelaySummary* rtt = probe_rtt(r);
    const auto [q50, q99] = queue_delay(r);
    uint64_t marks = 0;
    for (const io::sim::FlowReport& f : r.flows) marks += f.ecn_marks;
    fmt::print("{:<34} {:>10.2f} {:>5.1f}% {:>6.3f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>8} {:>8}\n",
               table_name(names[i]), tcp_goodput_mbps(r), 100 * r.link.utilisation, r.jain_fairness,
               rtt ? ms(rtt->p50_ns) : 0.0, rtt ? ms(rtt->p99_ns) : 0.0, ms(q50), ms(q99),
               r.qdisc.stats.tc_dropped(), marks);
  }
  fmt::print("\n");
  bool any_short = false;
  for (size_t i = 0; i < results.size(); ++i) {
    for (const io::sim::ShortFlowsReport& g : results[i].report.short_flows) {
      if (!any_short)
        fmt::print("{:<34} {:<12} {:>8} {:>9} {:>11} {:>11} {:>11}\n", "short flows", "group", "started",
                   "completed", "FCT p50 ms", "FCT p99 ms", "FCT max ms");
      any_short = true;
      fmt::print("{:<34} {:<12} {:>8} {:>9} {:>11.1f} {:>11.1f} {:>11.1f}\n", table_name(names[i]), g.name.substr(0, 12),
                 g.started, g.completed, ms(g.fct.p50_ns), ms(g.fct.p99_ns), ms(g.fct.max_ns));
    }
  }
  if (any_short) fmt::print("\n");
  bool any_problem = false;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].health.clean()) continue;
    if (!any_problem) fmt::print("problems:\n");
    any_problem = true;
    fmt::print("  {}: {}\n", names[i], health_text(results[i].health));
  }
  if (any_problem) fmt::print("\n");
  for (size_t i = 0; i < results.size(); ++i) {
    if (const auto& setup = results[i].setup; setup && results[i].is_setup) {
      // The whole tree, as `bpfq -s qdisc show dev D` and `class show` print it.
      fmt::print("setup {} (dev {}, {} Mbit/s, at {:.3f} s):\n{}{}\n", names[i], results[i].dev,
                 results[i].report.link.rate_bps / 1e6, setup->at_ns / 1e9,
                 show_text(*setup, ShowCommand{ShowCommand::What::Qdisc, results[i].dev}, true),
                 show_text(*setup, ShowCommand{ShowCommand::What::Class, results[i].dev}, true));
    } else {
      fmt::print("qdisc {}:\n{}\n", names[i], results[i].report.qdisc.tc);
    }
  }
}

void run_sim(const SimOptions& o, const GlobalFlags& flags) {
  io::sim::Scenario scenario =
      o.scenario_file.empty() ? io::sim::preset(o.preset) : io::sim::load_scenario_file(o.scenario_file);
  if (o.seed != 0) scenario.seed = o.seed;
  if (o.duration_s != 0) {
    // Checked before the cast: a double beyond 2^64 ns has no integer value.
    if (!(o.duration_s > 0 && o.duration_s <= 86400))
      throw Error(fmt::format("--duration {} is out of range", o.duration_s), "sim", "at most 86400 seconds, more than 0");
    scenario.duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
  }
  if (o.ipv6) scenario.set_ip_version(6);
  if (!o.plot.empty() && !std::ofstream(o.plot))  // before the runs, not after them
    throw Error("cannot write the plot", o.plot, "check that the folder exists and is writable");

  std::vector<std::string> items = o.qdiscs;
  for (const std::string& f : o.setups) items.push_back(f);
  for (const std::string& c : split_commas(o.compare)) items.push_back(c);
  if (items.empty()) items.push_back("pfifo");
  std::vector<SimEntry> entries;  // all errors before any run
  const runtime::Verification verification =
      o.unverified ? runtime::Verification::RunUnverifiedChecked : runtime::Verification::Enforce;
  for (const std::string& item : items) {
    if (is_setup_file(item))
      entries.push_back(load_setup_entry(item, o.dev, scenario.mtu, verification));
    else
      entries.push_back(qdisc_entry(item, verification));
  }
  std::vector<std::string> names;
  for (const SimEntry& e : entries) names.push_back(e.name);

  const bool tty = isatty(STDERR_FILENO) != 0 && !flags.json;
  std::vector<SimResult> results;
  for (size_t i = 0; i < entries.size(); ++i) {
    io::sim::ProgressCallback progress;
    if (tty) {
      progress = [&, i](const io::sim::Progress& p) {
        const int width = 30;
        const int done = p.duration_ns ? static_cast<int>(width * p.now_ns / p.duration_ns) : width;
        fmt::print(stderr, "\r{:<34} [{:<{}}] {:3}%", names[i].substr(0, 34), std::string(done, '#'), width,
                   p.duration_ns ? 100 * p.now_ns / p.duration_ns : 100);
      };
    }
    io::sim::Scenario run_scenario = scenario;
    if (!o.pcap.empty()) run_scenario.pcap_output = capture_path(o.pcap, i, entries.size());
    if (entries[i].rate_bps) run_scenario.rate_bps = entries[i].rate_bps;
    results.push_back(run_entry(entries[i], run_scenario, progress));
    if (tty) fmt::print(stderr, "\r{:<80}\r", "");
  }

  if (!o.plot.empty()) {
    std::vector<io::sim::PlotRun> runs;
    for (size_t i = 0; i < results.size(); ++i) runs.push_back({names[i], &results[i].report});
    io::sim::write_plot(o.plot, runs);
  }

  if (flags.json) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < results.size(); ++i) {
      nlohmann::json entry{{"qdisc", names[i]},
                           {"health", health_json(results[i].health)},
                           {"report", nlohmann::json::parse(io::sim::report_to_json(results[i].report, 2, false))}};
      if (const auto& setup = results[i].setup; setup && results[i].is_setup) {
        const ShowCommand qdiscs{ShowCommand::What::Qdisc, results[i].dev};
        const ShowCommand classes{ShowCommand::What::Class, results[i].dev};
        entry["setup"] = {{"dev", results[i].dev}, {"at_ns", setup->at_ns},
                          {"qdiscs", show_json(*setup, qdiscs, true)}, {"classes", show_json(*setup, classes, true)}};
      }
      j.push_back(std::move(entry));
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    print_table(scenario, names, results);
  }
  size_t unhealthy = 0;
  for (const SimResult& r : results) unhealthy += r.health.programs_clean() ? 0 : 1;
  if (unhealthy && !o.allow_faults)
    throw Error(fmt::format("{} of {} runs did not run cleanly (program faults, leaks or bad verdicts; see {})", unhealthy,
                            results.size(), flags.json ? "\"health\"" : "the problems above"),
                "sim", "fix the program, or pass --allow-faults to accept such runs (exit status 0)");
}

}  // namespace

void add_sim_command(CLI::App& app, const GlobalFlags& flags) {
  static SimOptions o;
  CLI::App* sim = app.add_subcommand("sim", "run a scenario on a simulated bottleneck (deterministic)");
  sim->add_option("--preset", o.preset, "built-in scenario: bufferbloat, mixed, incast")->capture_default_str();
  sim->add_option("--scenario", o.scenario_file, "scenario file (TOML, docs/simulator.md)");
  sim->add_option("--qdisc,-q", o.qdiscs, "qdisc in tc syntax, e.g. 'pfifo limit 100' or 'bpf obj progs/fifo.bpf.o limit 50' (repeatable)");
  sim->add_option("--setup", o.setups, "tc setup file (bpfq -b syntax): its device's root qdisc, classes and filters go on the bottleneck (repeatable)");
  sim->add_option("--dev", o.dev, "the setup's device to put on the bottleneck (default: its only device)");
  sim->add_option("--compare", o.compare, "comma-separated qdiscs (or FILE.tc setups) run on the same scenario, side by side");
  sim->add_option("--seed", o.seed, "random seed (default: the scenario's)");
  sim->add_option("--duration", o.duration_s, "simulated seconds (default: the scenario's)");
  sim->add_option("--pcap", o.pcap, "write the frames the bottleneck sends to this pcap (several runs: FILE.1.pcap, FILE.2.pcap, ...)");
  sim->add_option("--plot", o.plot, "draw queueing delay and per-flow goodput over time into this SVG");
  sim->add_flag("--ipv6", o.ipv6, "make every flow of the scenario IPv6");
  sim->add_flag("--allow-faults", o.allow_faults,
                "exit 0 even if a program faulted, leaked references or returned bad verdicts");
  sim->add_flag("--unverified", o.unverified,
                "run programs the verifier refuses anyway, checked at run time (every access bounds-checked): for "
                "debugging; the reasons show in the qdisc's stats");
  sim->callback([&flags] { run_sim(o, flags); });
}

}  // namespace bpfq::cli
