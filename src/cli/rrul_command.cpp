#include "rrul_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/io/chart.hpp>
#include <bpfq/io/live/rrul.hpp>

namespace bpfq::cli {

namespace {

struct RrulCommand {
  io::live::RrulOptions run;
  std::string qdisc;  // without -b: this qdisc on both sides,
  std::string rate;   // at this line rate
  std::string plot;
};

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted = true; }

std::string self_path() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("cannot find the bpfq binary (/proc/self/exe)", "bpfq rrul");
  return std::string(buf, static_cast<size_t>(n));
}

void run_rrul_command(RrulCommand& c, const GlobalFlags& flags) {
  io::live::RrulOptions& o = c.run;
  if (!flags.batch.empty()) {
    if (!c.qdisc.empty() || !c.rate.empty())
      throw Error("-b FILE and --qdisc/--rate both given", "bpfq rrul", "the setup file already names the qdiscs and rates");
    std::ifstream in(flags.batch);
    if (!in) throw Error("cannot read the setup file", flags.batch);
    std::stringstream text;
    text << in.rdbuf();
    o.setup = text.str();
    o.setup_name = flags.batch;
  } else {
    const std::string qdisc = c.qdisc.empty() ? "fq_codel" : c.qdisc;
    const std::string rate = c.rate.empty() ? "100mbit" : c.rate;
    for (const char* dev : {"ra", "rb"}) o.setup += fmt::format("link add dev {} rate {}\n", dev, rate);
    for (const char* dev : {"ra", "rb"}) o.setup += fmt::format("qdisc add dev {} root {}\n", dev, qdisc);
    o.setup_name = qdisc + " at " + rate;
  }
  if (!c.plot.empty() && !std::ofstream(c.plot))  // before the run, not after it
    throw Error("cannot write the plot", c.plot, "check that the folder exists and is writable");
  o.bpfq = self_path();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  o.interrupted = [] { return g_interrupted.load(); };
  const io::live::RrulReport report = io::live::run_rrul(o);
  if (!c.plot.empty()) io::write_chart(c.plot, io::live::rrul_chart(report));
  fmt::print("{}\n", flags.json ? io::live::rrul_json(report) : io::live::rrul_text(report));
  if (!report.live_conserved)
    throw Error("bpfq live did not account for every packet (see its report)", "bpfq rrul", "this is a bug in bpfq: please report it");
}

}  // namespace

void add_rrul_command(CLI::App& app, const GlobalFlags& flags) {
  static RrulCommand c;
  CLI::App* rrul = app.add_subcommand(
      "rrul", "latency under load (flent's RRUL style) through bpfq live, on namespaces and veths it builds (docs/live.md)");
  rrul->add_option("--qdisc", c.qdisc, "the qdisc on both sides, as after `root` (default fq_codel; or -b FILE)");
  rrul->add_option("--rate", c.rate, "the line rate of both sides (default 100mbit)");
  rrul->add_option("--up", c.run.up, "TCP flows A→B")->capture_default_str();
  rrul->add_option("--down", c.run.down, "TCP flows B→A")->capture_default_str();
  rrul->add_option("--load", c.run.load_s, "SECONDS of load")->capture_default_str();
  rrul->add_option("--idle", c.run.idle_s, "SECONDS of ping alone before the load")->capture_default_str();
  rrul->add_option("--interval", c.run.interval_s, "goodput sample interval, SECONDS")->capture_default_str();
  rrul->add_option("--cc", c.run.congestion_control, "TCP congestion control")->capture_default_str();
  rrul->add_option("--port", c.run.port, "port type of bpfq live: packet, xdp or auto")->capture_default_str();
  rrul->add_option("--plot", c.plot, "draw ping RTT and per-flow goodput over time into this SVG");
  rrul->footer("With -b FILE, the setup names the testbed's interfaces: rb carries A→B (up), ra carries B→A (down),\n"
               "e.g. `link add dev rb rate 100mbit` and `qdisc add dev rb root fq_codel`. Needs root, iperf3 and ping.");
  rrul->callback([&flags] { run_rrul_command(c, flags); });
}

}  // namespace bpfq::cli
