#include "sim_command.hpp"

#include <unistd.h>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/sim/scenario_file.hpp>
#include <bpfq/io/sim/simulation.hpp>

#include "qdisc_spec.hpp"

namespace bpfq::cli {

namespace {

struct SimOptions {
  std::string preset = "bufferbloat";
  std::string scenario_file;
  std::vector<std::string> qdiscs;
  std::string compare;
  uint64_t seed = 0;
  double duration_s = 0;
};

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

void print_table(const io::sim::Scenario& scenario, const std::vector<std::string>& names,
                 const std::vector<io::sim::Report>& reports) {
  fmt::print("scenario {}: {} Mbit/s, {} ms base RTT, {} s, seed {}\n\n", scenario.name,
             scenario.rate_bps / 1e6, ms(scenario.rtt_ns), scenario.duration_ns / 1e9, scenario.seed);
  fmt::print("{:<34} {:>10} {:>6} {:>6} {:>11} {:>11} {:>11} {:>11} {:>8} {:>8}\n", "qdisc", "tcp Mbit/s",
             "util", "Jain", "RTT p50 ms", "RTT p99 ms", "qdelay p50", "qdelay p99", "drops", "marks");
  for (size_t i = 0; i < reports.size(); ++i) {
    const io::sim::Report& r = reports[i];
    const io::sim::DelaySummary* rtt = probe_rtt(r);
    const auto [q50, q99] = queue_delay(r);
    uint64_t marks = 0;
    for (const io::sim::FlowReport& f : r.flows) marks += f.ecn_marks;
    fmt::print("{:<34} {:>10.2f} {:>5.1f}% {:>6.3f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>8} {:>8}\n",
               names[i].substr(0, 34), tcp_goodput_mbps(r), 100 * r.link.utilisation, r.jain_fairness,
               rtt ? ms(rtt->p50_ns) : 0.0, rtt ? ms(rtt->p99_ns) : 0.0, ms(q50), ms(q99),
               r.qdisc.stats.tc_dropped(), marks);
  }
  fmt::print("\n");
  for (size_t i = 0; i < reports.size(); ++i)
    fmt::print("qdisc {}:\n{}\n", names[i], reports[i].qdisc.tc);
}

void run_sim(const SimOptions& o, const GlobalFlags& flags) {
  io::sim::Scenario scenario =
      o.scenario_file.empty() ? io::sim::preset(o.preset) : io::sim::load_scenario_file(o.scenario_file);
  if (o.seed != 0) scenario.seed = o.seed;
  if (o.duration_s > 0) scenario.duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);

  std::vector<std::string> names = o.qdiscs;
  for (const std::string& c : split_commas(o.compare)) names.push_back(c);
  if (names.empty()) names.push_back("pfifo");
  std::vector<QdiscSpec> specs;
  for (const std::string& n : names) specs.push_back(parse_qdisc_spec(n));  // all errors before any run

  const bool tty = isatty(STDERR_FILENO) != 0 && !flags.json;
  std::vector<io::sim::Report> reports;
  for (size_t i = 0; i < specs.size(); ++i) {
    io::sim::ProgressCallback progress;
    if (tty) {
      progress = [&, i](const io::sim::Progress& p) {
        const int width = 30;
        const int done = p.duration_ns ? static_cast<int>(width * p.now_ns / p.duration_ns) : width;
        fmt::print(stderr, "\r{:<34} [{:<{}}] {:3}%", names[i].substr(0, 34), std::string(done, '#'), width,
                   p.duration_ns ? 100 * p.now_ns / p.duration_ns : 100);
      };
    }
    reports.push_back(io::sim::simulate(
        scenario,
        [&](const io::sim::SimContext& ctx) {
          return make_qdisc(specs[i], QdiscSite{ctx.clock, ctx.pool, ctx.device});
        },
        progress));
    if (tty) fmt::print(stderr, "\r{:<80}\r", "");
  }

  if (flags.json) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < reports.size(); ++i)
      j.push_back({{"qdisc", names[i]}, {"report", nlohmann::json::parse(io::sim::report_to_json(reports[i], 2, false))}});
    fmt::print("{}\n", j.dump(2));
    return;
  }
  print_table(scenario, names, reports);
}

}  // namespace

void add_sim_command(CLI::App& app, const GlobalFlags& flags) {
  static SimOptions o;
  CLI::App* sim = app.add_subcommand("sim", "run a scenario on a simulated bottleneck (deterministic)");
  sim->add_option("--preset", o.preset, "built-in scenario: bufferbloat, mixed, incast")->capture_default_str();
  sim->add_option("--scenario", o.scenario_file, "scenario file (TOML, docs/simulator.md)");
  sim->add_option("--qdisc,-q", o.qdiscs, "qdisc in tc syntax, e.g. 'pfifo limit 100' or 'bpf obj progs/fifo.bpf.o limit 50' (repeatable)");
  sim->add_option("--compare", o.compare, "comma-separated qdiscs run on the same scenario, side by side");
  sim->add_option("--seed", o.seed, "random seed (default: the scenario's)");
  sim->add_option("--duration", o.duration_s, "simulated seconds (default: the scenario's)");
  sim->callback([&flags] { run_sim(o, flags); });
}

}  // namespace bpfq::cli
