#include "live_command.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmath>

#include <fmt/core.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/live/bridge.hpp>
#include <bpfq/io/live/control_socket.hpp>
#include <bpfq/io/live/port.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_show.hpp>

#include "live_setup.hpp"
#include "run_health.hpp"

namespace bpfq::cli {

using namespace bpfq::tc;

namespace {

struct LiveOptions {
  std::string ifname[2];
  std::string port = "auto";
  double duration_s = 0;    // 0: until SIGINT/SIGTERM
  double grace_s = 1;       // at the end, how long queued packets may still leave
  uint32_t pool_packets = 4096;
  uint64_t seed = 0;
  bool unverified = false;
};

// A file descriptor closed when it goes out of scope.
struct OwnedFd {
  int fd = -1;
  ~OwnedFd() {
    if (fd >= 0) close(fd);
  }
};

// One direction's end-of-run accounting: what was received on one side either left the other,
// was dropped (by its device or its tree, which say why), or is still queued. devices: every
// tree the direction used, oldest first (a control line replaced the others; their packets were
// released and counted as their drops).
struct DirectionReport {
  std::string from, to;
  io::live::DirectionStats stats;
  uint64_t device_drops = 0, qdisc_drops = 0, queued = 0;
  uint64_t trees = 0;  // trees used: 1 + the replacements
  bool conserved = false;
};

DirectionReport direction_report(const std::string& from, const std::string& to, const io::live::DirectionStats& s,
                                 const std::vector<sched::Device*>& devices) {
  DirectionReport r{from, to, s};
  r.trees = devices.size();
  uint64_t stolen = 0, root_offered = 0, root_sent = 0;
  bool roots_conserved = true;
  for (const sched::Device* dev : devices) {
    const sched::DeviceStats& d = dev->stats();
    r.device_drops += d.egress_shot + d.egress_redirect + d.egress_faults + d.down_drops + d.no_root_drops;
    stolen += d.egress_stolen;
    if (const sched::Qdisc* root = dev->root()) {
      root_offered += root->stats().enqueued_packets;
      root_sent += root->stats().sent_packets;
      r.qdisc_drops += root->stats().dropped;
      r.queued += root->qlen();
      roots_conserved &= root->stats().conserved();
    }
  }
  // The devices hand every packet they do not drop or consume to their roots; the roots' sent
  // packets are exactly those the port took or that could not be sent at exit.
  r.conserved = s.offered == r.device_drops + stolen + root_offered &&
                root_offered == root_sent + r.qdisc_drops + r.queued && root_sent == s.sent + s.unsent_at_exit &&
                roots_conserved;
  return r;
}

nlohmann::json port_json(const io::live::Port& p) {
  const io::live::PortStats& s = p.stats();
  nlohmann::json j = {{"interface", p.ifname()},       {"type", io::live::port_kind_name(p.kind())},
                      {"rx_packets", s.rx_packets},    {"rx_bytes", s.rx_bytes},
                      {"rx_no_buffer", s.rx_no_buffer}, {"rx_truncated", s.rx_truncated},
                      {"rx_kernel_drops", s.rx_kernel_drops}, {"tx_packets", s.tx_packets},
                      {"tx_bytes", s.tx_bytes},        {"tx_errors", s.tx_errors}};
  if (!s.rx_queue_packets.empty()) j["rx_queue_packets"] = s.rx_queue_packets;
  return j;
}

// One request on the control socket: {"words": [tc line], "json": bool, "stats": bool}; the answer
// is {"output": text} or {"error": message}.
std::string answer(const std::string& request, LiveSetup& setup, io::live::Bridge& bridge) {
  const nlohmann::json req = nlohmann::json::parse(request, nullptr, false);
  if (!req.is_object() || !req.contains("words") || !req["words"].is_array())
    return nlohmann::json{{"error", "a request is {\"words\": [...], \"json\": bool, \"stats\": bool}"}}.dump();
  try {
    std::vector<std::string> words;
    for (const auto& w : req["words"]) words.push_back(w.is_string() ? w.get<std::string>() : w.dump());
    const std::string out = setup.apply(words, req.value("json", false), req.value("stats", false),
                                        [&](int side, sched::Device& device) { bridge.switch_device(side, device); });
    return nlohmann::json{{"output", out}}.dump();
  } catch (const Error& e) {
    return nlohmann::json{{"error", e.what()}}.dump();
  } catch (const std::exception& e) {  // a bad_alloc of a huge program, a JSON type error
    return nlohmann::json{{"error", std::string("the line could not be applied: ") + e.what()}}.dump();
  }
}

void run_live(const LiveOptions& o, const GlobalFlags& flags) {
  if (o.ifname[0] == o.ifname[1]) throw Error("the two interfaces are the same (" + o.ifname[0] + ")", "bpfq live", "bridge two different interfaces");
  if (!(o.duration_s >= 0) || !(o.grace_s >= 0) || o.duration_s > 1e7 || o.grace_s > 3600)
    throw Error("--duration and --grace take seconds from 0 (duration) up to 10^7 (grace: 3600)", "bpfq live", "e.g. --duration 15");
  const io::live::PortKind kind = io::live::parse_port_kind(o.port);
  // The setup is checked and built before any interface is touched.
  runtime::LiveClock clock;
  sched::PacketPool pool(sched::PacketPoolConfig{o.pool_packets, io::live::kMaxFrameBytes});
  LiveSetup setup(flags.batch, {o.ifname[0], o.ifname[1]},
                  o.unverified ? runtime::Verification::RunUnverifiedChecked : runtime::Verification::Enforce, clock, pool,
                  o.seed);

  // Signals become a readable fd: the loop stops cleanly, drains and reports.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  OwnedFd signal_fd{signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK)};
  if (signal_fd.fd < 0) throw Error("signalfd failed", "bpfq live");

  io::live::PortOptions port_options;
  port_options.kind = kind;
  std::unique_ptr<io::live::Port> ports[2] = {io::live::open_port(o.ifname[0], port_options),
                                              io::live::open_port(o.ifname[1], port_options)};
  std::array<io::live::Bridge::Side, 2> sides;
  for (int i = 0; i < 2; ++i) {
    const LinkNode* link = setup.plan().find_link(o.ifname[i]);
    const uint64_t rate = link ? link->rate_bps : 0;
    // A link with a rate is a wire of that rate: it carries frames, not 64 KB GSO bundles.
    const bool cut_gso = link && link->gso ? !*link->gso : rate != 0;
    sides[i] = {ports[i].get(), &setup.device(i), rate, cut_gso};
  }
  io::live::Bridge bridge(pool, clock, sides);
  bridge.watch(signal_fd.fd, [fd = signal_fd.fd] {
    signalfd_siginfo info;  // consumed: unblocking at the end must not deliver it again
    return read(fd, &info, sizeof info) == sizeof info;
  });
  // tc lines while forwarding: `bpfq -s qdisc show dev IF`, `bpfq qdisc replace dev IF root ...`.
  std::vector<std::unique_ptr<io::live::ControlSocket>> control;
  for (const std::string& name : o.ifname) {
    control.push_back(std::make_unique<io::live::ControlSocket>(io::live::control_path(name)));
    bridge.watch(control.back()->fd(), [&setup, &bridge, sock = control.back().get()] {
      sock->serve_one([&](const std::string& request) { return answer(request, setup, bridge); });
      return false;
    });
  }
  OwnedFd duration_fd;
  if (o.duration_s > 0) {
    duration_fd.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    itimerspec spec{};
    const double whole = std::floor(o.duration_s);
    spec.it_value.tv_sec = static_cast<time_t>(whole);
    spec.it_value.tv_nsec = static_cast<long>((o.duration_s - whole) * 1e9);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    timerfd_settime(duration_fd.fd, 0, &spec, nullptr);
    bridge.watch(duration_fd.fd, [] { return true; });
  }
  auto side_text = [&](int i) {
    const io::live::Bridge::Side& s = sides[i];
    return fmt::format("{} ({}, {}, GSO {})", o.ifname[i], io::live::port_kind_name(ports[i]->kind()),
                       s.rate_bps ? fmt::format("{} Mbit/s", s.rate_bps / 1e6) : std::string("no rate"),
                       s.cut_gso ? "cut into frames" : "bundles whole");
  };
  fmt::print(stderr, "bpfq live: {} <-> {}{}\n", side_text(0), side_text(1),
             o.duration_s > 0 ? fmt::format(" for {} s", o.duration_s) : std::string(", Ctrl-C to stop"));
  const uint64_t start = clock.now_ns();
  bridge.run();
  const double elapsed_s = static_cast<double>(clock.now_ns() - start) / 1e9;
  bridge.finish(static_cast<uint64_t>(o.grace_s * 1e9));
  sigprocmask(SIG_UNBLOCK, &signals, nullptr);

  const SetupSnapshot snapshot = setup.serving_snapshot();
  // Pool exhaustion: frames the ports could not take, and segments of cut bundles never made.
  const RunHealth health = run_health(setup.snapshot(), ports[0]->stats().rx_no_buffer + ports[1]->stats().rx_no_buffer +
                                                    bridge.stats(0).cut_no_buffer + bridge.stats(1).cut_no_buffer);
  // Direction i leaves through side i: received on side 1 - i.
  DirectionReport dirs[2];
  for (int i = 0; i < 2; ++i)
    dirs[i] = direction_report(o.ifname[1 - i], o.ifname[i], bridge.stats(i), setup.served(i));
  const bool conserved = dirs[0].conserved && dirs[1].conserved;

  if (flags.json) {
    nlohmann::json j = {{"elapsed_s", elapsed_s}, {"health", health_json(health)}, {"conserved", conserved}};
    for (int i = 0; i < 2; ++i) {
      const DirectionReport& d = dirs[i];
      j["ports"].push_back(port_json(*ports[i]));
      j["directions"].push_back({{"from", d.from}, {"to", d.to}, {"offered", d.stats.offered}, {"sent", d.stats.sent},
                                 {"sent_bytes", d.stats.sent_bytes}, {"device_drops", d.device_drops},
                                 {"qdisc_drops", d.qdisc_drops}, {"unsent_at_exit", d.stats.unsent_at_exit},
                                 {"queued", d.queued}, {"gso_bundles_cut", d.stats.bundles_cut},
                                 {"cut_no_buffer", d.stats.cut_no_buffer}, {"trees", d.trees},
                                 {"conserved", d.conserved}});
      j["qdiscs"][o.ifname[i]] = show_json(snapshot, ShowCommand{ShowCommand::What::Qdisc, o.ifname[i]}, true);
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("bpfq live: ran {:.1f} s\n", elapsed_s);
    for (const DirectionReport& d : dirs)
      fmt::print("{} -> {}: received {}, sent {} ({:.2f} Mbit/s), dropped {} (qdisc {}, device {}), unsent at exit {}, "
                 "queued {}: {}\n",
                 d.from, d.to, d.stats.offered, d.stats.sent, elapsed_s > 0 ? d.stats.sent_bytes * 8 / elapsed_s / 1e6 : 0.0,
                 d.qdisc_drops + d.device_drops, d.qdisc_drops, d.device_drops, d.stats.unsent_at_exit, d.queued,
                 d.conserved ? "conserved" : "NOT CONSERVED");
    for (const DirectionReport& d : dirs)
      if (d.trees > 1)
        fmt::print("{} -> {}: the tree was replaced {} times while forwarding (the counts above add up every tree)\n",
                   d.from, d.to, d.trees - 1);
    for (const DirectionReport& d : dirs)
      if (d.stats.bundles_cut)
        fmt::print("{} -> {}: {} GSO bundles cut into frames ({} segments lost: pool exhausted)\n", d.from, d.to,
                   d.stats.bundles_cut, d.stats.cut_no_buffer);
    for (const auto& p : ports) {
      const io::live::PortStats& s = p->stats();
      fmt::print("port {} ({}): rx {} frames", p->ifname(), io::live::port_kind_name(p->kind()), s.rx_packets);
      if (s.rx_queue_packets.size() > 1) fmt::print(" ({} by RX queue)", fmt::join(s.rx_queue_packets, " + "));
      fmt::print(", tx {} frames", s.tx_packets);
      if (s.rx_no_buffer + s.rx_truncated + s.rx_kernel_drops + s.tx_errors)
        fmt::print(", lost: {} pool exhausted, {} too large, {} in the kernel (RX ring or queue full), {} TX errors", s.rx_no_buffer,
                   s.rx_truncated, s.rx_kernel_drops, s.tx_errors);
      fmt::print("\n");
    }
    if (!health.clean()) fmt::print("problems: {}\n", health_text(health));
    fmt::print("\n");
    for (const std::string& name : o.ifname)
      fmt::print("{}", show_text(snapshot, ShowCommand{ShowCommand::What::Qdisc, name}, true));
  }
  if (!conserved) throw Error("packets were not conserved (see the directions above)", "bpfq live", "this is a bug in bpfq: please report it");
}

}  // namespace

void add_live_command(CLI::App& app, const GlobalFlags& flags) {
  static LiveOptions o;
  CLI::App* live = app.add_subcommand("live", "run qdisc trees on two real interfaces: a bump in the wire (docs/live.md)");
  live->add_option("IF1", o.ifname[0], "an interface")->required();
  live->add_option("IF2", o.ifname[1], "the other interface")->required();
  live->add_option("--port", o.port, "port type: packet (AF_PACKET with GSO), xdp (AF_XDP, copy mode) or auto (packet)")->capture_default_str();
  live->add_option("--duration", o.duration_s, "stop after SECONDS (default: at SIGINT/SIGTERM)");
  live->add_option("--grace", o.grace_s, "at the end, SECONDS queued packets may still leave")->capture_default_str();
  live->add_option("--pool", o.pool_packets, "packets in the pool (each holds a 64 KB GSO frame)")->capture_default_str()
      ->check(CLI::Range(64u, 65536u));
  live->add_option("--seed", o.seed, "seed of the programs' random numbers")->capture_default_str();
  live->add_flag("--unverified", o.unverified, "run programs the verifier refuses, checked");
  live->footer("The setup file (-b FILE) names the interfaces as devices: `link add dev IF1 rate 100mbit`,\n"
               "`qdisc add dev IF1 root fq_codel`. Frames received on IF1 leave on IF2 through IF2's tree.");
  live->callback([&flags] { run_live(o, flags); });
}

}  // namespace bpfq::cli
