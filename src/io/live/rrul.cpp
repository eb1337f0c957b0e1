#include <bpfq/io/live/rrul.hpp>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <thread>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>
#include <bpfq/io/live/testbed.hpp>

namespace bpfq::io::live {

namespace {

constexpr const char* kWhat = "bpfq rrul";
constexpr int kUpPort = 5201, kDownPort = 5202;

double realtime_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The last lines of a process's output, for an error message.
std::string tail(const std::string& text, size_t lines = 6) {
  size_t at = text.size();
  while (at > 0 && (text[at - 1] == '\n' || text[at - 1] == ' ')) --at;
  const size_t end = at;
  for (size_t n = 0; at > 0 && n < lines; --at)
    if (text[at - 1] == '\n' && ++n == lines) break;
  return text.substr(at, end - at);
}

class Waiter {
 public:
  explicit Waiter(const RrulOptions& o) : o_(o) {}
  void check() const {
    if (o_.interrupted && o_.interrupted())
      throw Error("interrupted; the testbed was removed", kWhat);
  }
  void sleep(double seconds) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      check();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // The process's exit code; -1 if it is still running after `seconds`.
  int wait(NetnsProcess& p, double seconds) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      const int rc = p.wait(std::chrono::milliseconds(100));
      if (rc != -1 || std::chrono::steady_clock::now() >= end) return rc;
      check();
    }
  }

 private:
  const RrulOptions& o_;
};

void check_options(const RrulOptions& o) {
  auto bad = [](const std::string& what, const std::string& hint) { throw Error(what, kWhat, hint); };
  if (o.up < 0 || o.down < 0 || o.up + o.down == 0 || o.up > 64 || o.down > 64)
    bad("--up " + std::to_string(o.up) + " --down " + std::to_string(o.down) + ": no flows, or more than 64 one way",
        "run 1 to 64 flows each way (RRUL: 4 and 4)");
  if (!(o.load_s >= 2 && o.load_s <= 3600)) bad("--load " + number(o.load_s) + " s", "load the link for 2 to 3600 seconds");
  if (!(o.idle_s >= 0 && o.idle_s <= 60)) bad("--idle " + number(o.idle_s) + " s", "ping alone for 0 to 60 seconds first");
  if (!(o.interval_s >= 0.1 && o.interval_s <= o.load_s))
    bad("--interval " + number(o.interval_s) + " s", "sample goodput every 0.1 s or more, within the load");
  if (!(o.ping_interval_s >= 0.01 && o.ping_interval_s <= 10))
    bad("a ping interval of " + number(o.ping_interval_s) + " s", "ping every 0.01 to 10 seconds");
  if (o.bpfq.empty()) bad("no bpfq binary to run `live` with", "pass the path of bpfq");
}

// The receiver side's intervals of one direction: a problem there is iperf3's, named as such.
IperfIntervals receiver_intervals(const std::string& json, const char* direction) {
  try {
    return iperf_intervals(json);
  } catch (const Error& e) {
    throw Error(std::string("iperf3 (") + direction + "): " + e.what(), kWhat);
  }
}

}  // namespace

std::vector<PingReply> ping_replies(const std::string& out) {
  std::vector<PingReply> replies;
  size_t begin = 0;
  while (begin < out.size()) {
    size_t end = out.find('\n', begin);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(begin, end - begin);
    begin = end + 1;
    const size_t time = line.find(" time=");
    if (line.empty() || line[0] != '[' || time == std::string::npos) continue;
    char* stop = nullptr;
    const double at = std::strtod(line.c_str() + 1, &stop);
    if (stop == line.c_str() + 1 || *stop != ']') continue;
    const double rtt = std::strtod(line.c_str() + time + 6, &stop);
    if (stop == line.c_str() + time + 6) continue;
    replies.push_back({at, rtt});
  }
  return replies;
}

IperfIntervals iperf_intervals(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw Error("its output is not iperf3's JSON: " + tail(text, 3));
  if (j.contains("error")) throw Error(j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump());
  IperfIntervals r;
  if (!j.contains("intervals") || !j["intervals"].is_array()) throw Error("iperf3's JSON has no intervals");
  for (const nlohmann::json& in : j["intervals"]) {
    const nlohmann::json& sum = in.at("sum");
    if (sum.value("omitted", false)) continue;
    const nlohmann::json& streams = in.at("streams");
    if (r.end_s.empty()) r.stream_bps.resize(streams.size());
    if (streams.size() != r.stream_bps.size()) throw Error("iperf3's intervals differ in their number of streams");
    r.end_s.push_back(sum.at("end").get<double>());
    for (size_t k = 0; k < streams.size(); ++k) r.stream_bps[k].push_back(streams[k].at("bits_per_second").get<double>());
  }
  return r;
}

RttSummary summarize_rtts(std::vector<double> rtts) {
  RttSummary s;
  s.replies = rtts.size();
  if (rtts.empty()) return s;
  std::sort(rtts.begin(), rtts.end());
  // Nearest rank: the smallest value with at least p % of the replies at or below it.
  auto pct = [&](double p) {
    const size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(rtts.size())));
    return rtts[std::clamp<size_t>(rank, 1, rtts.size()) - 1];
  };
  s.p50_ms = pct(50);
  s.p90_ms = pct(90);
  s.p99_ms = pct(99);
  s.max_ms = rtts.back();
  return s;
}

RrulReport run_rrul(const RrulOptions& o) {
  check_options(o);
  if (auto why = testbed_unavailable()) throw Error(*why, kWhat);
  const Waiter waiter(o);
  Testbed bed("rrul");
  if (!bed.ok()) throw Error("cannot build the testbed: `" + bed.error() + "` failed", kWhat);
  const std::string setup_path = bed.file("setup.tc");
  std::ofstream(setup_path) << o.setup;

  NetnsProcess& live = bed.start("r", {o.bpfq, "live", "ra", "rb", "--port", o.port, "-b", setup_path, "-j"}, "live.out");
  // Forwarding works (and ARP is resolved) before anything is measured.
  bool reachable = false;
  for (int i = 0; i < 20 && !reachable; ++i) {
    waiter.check();
    if (!live.running()) throw Error("bpfq live ended before the test: " + tail(live.output()), kWhat, "check the setup");
    reachable = bed.b_reachable(1);
  }
  if (!reachable) throw Error("B does not answer A's ping through bpfq live", kWhat, "see bpfq live's output: " + tail(live.output()));

  const std::string b = Testbed::kAddressB;
  const std::string interval = number(o.interval_s);
  NetnsProcess* up_server = o.up ? &bed.start("b", {"iperf3", "-s", "-1", "-J", "-i", interval, "-p", std::to_string(kUpPort)}, "up_server.json") : nullptr;
  NetnsProcess* down_server = o.down ? &bed.start("b", {"iperf3", "-s", "-1", "-p", std::to_string(kDownPort)}, "down_server.out") : nullptr;
  waiter.sleep(0.5);  // the servers listen

  const double total_s = o.idle_s + o.load_s + 1;
  const double ping_start = realtime_s();
  NetnsProcess& ping = bed.start("a", {"ping", "-D", "-n", "-i", number(o.ping_interval_s), "-w", number(std::ceil(total_s)), b}, "ping.out");
  waiter.sleep(o.idle_s);

  const double load_start = realtime_s();
  auto client = [&](int flows, int port, bool reverse, const char* out) {
    std::vector<std::string> argv{"iperf3", "-c", b, "-p", std::to_string(port), "-P", std::to_string(flows), "-t",
                                  number(o.load_s), "-C", o.congestion_control, "-J", "-i", interval};
    if (reverse) argv.push_back("-R");
    return &bed.start("a", argv, out);
  };
  NetnsProcess* up_client = o.up ? client(o.up, kUpPort, false, "up_client.json") : nullptr;
  NetnsProcess* down_client = o.down ? client(o.down, kDownPort, true, "down_client.json") : nullptr;
  for (NetnsProcess* c : {up_client, down_client}) {
    if (!c) continue;
    if (waiter.wait(*c, o.load_s + 30) != 0) {
      std::string why = tail(c->output(), 3);
      try {
        iperf_intervals(c->output());
      } catch (const Error& e) {
        why = e.what();
      }
      throw Error("iperf3 failed: " + why, kWhat, "is the setup letting TCP through? see docs/live.md");
    }
  }
  waiter.wait(ping, total_s - (realtime_s() - ping_start) + 5);
  for (NetnsProcess* s : {up_server, down_server})
    if (s) waiter.wait(*s, 5);
  live.signal(SIGTERM);
  waiter.wait(live, 30);

  RrulReport r;
  r.options = o;
  r.duration_s = total_s;
  const double load_at = load_start - ping_start;  // seconds into the run
  const IperfIntervals up = o.up ? receiver_intervals(up_server->output(), "up") : IperfIntervals{};
  const IperfIntervals down = o.down ? receiver_intervals(down_client->output(), "down") : IperfIntervals{};
  const IperfIntervals& clock = o.up ? up : down;
  size_t samples = clock.end_s.size();
  if (o.up && o.down) samples = std::min(up.end_s.size(), down.end_s.size());
  for (size_t i = 0; i < samples; ++i) r.time_s.push_back(load_at + clock.end_s[i]);
  auto add_flows = [&](const IperfIntervals& in, const char* name) {
    for (size_t k = 0; k < in.stream_bps.size(); ++k) {
      RrulFlow f;
      f.name = std::string(name) + " " + std::to_string(k + 1);
      for (size_t i = 0; i < samples; ++i) f.mbps.push_back(in.stream_bps[k][i] / 1e6);
      if (!f.mbps.empty()) f.mean_mbps = std::accumulate(f.mbps.begin(), f.mbps.end(), 0.0) / static_cast<double>(f.mbps.size());
      (std::string(name) == "up" ? r.up_mbps : r.down_mbps) += f.mean_mbps;
      r.flows.push_back(std::move(f));
    }
  };
  add_flows(up, "up");
  add_flows(down, "down");

  const std::string ping_out = ping.output();
  std::vector<double> idle, loaded;
  for (PingReply p : ping_replies(ping_out)) {
    p.at_s -= ping_start;
    r.pings.push_back(p);
    if (p.at_s < load_at) idle.push_back(p.rtt_ms);
    else if (p.at_s >= load_at + 1 && p.at_s <= load_at + o.load_s) loaded.push_back(p.rtt_ms);
  }
  r.idle = summarize_rtts(idle);
  r.loaded = summarize_rtts(loaded);
  const size_t sent_at = ping_out.find(" packets transmitted");
  if (sent_at != std::string::npos) {
    size_t digits = sent_at;
    while (digits > 0 && std::isdigit(static_cast<unsigned char>(ping_out[digits - 1]))) --digits;
    r.pings_sent = static_cast<uint32_t>(std::strtoul(ping_out.c_str() + digits, nullptr, 10));
  }

  const std::string live_out = live.output();
  const size_t json_at = live_out.find("\n{");
  const nlohmann::json lj =
      json_at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(live_out.substr(json_at + 1), nullptr, false);
  if (!lj.is_object()) throw Error("bpfq live gave no report: " + tail(live_out), kWhat);
  r.live_json = lj.dump();
  r.live_conserved = lj.value("conserved", false);
  if (lj.contains("health") && !lj["health"].value("clean", true)) {
    const nlohmann::json& h = lj["health"];
    for (const char* k : {"program_faults", "leaked_refs", "leaked_objects", "bad_verdicts", "bad_dequeues", "pool_exhausted",
                          "unverified_programs"})
      if (h.value(k, 0) != 0) r.live_problems += (r.live_problems.empty() ? "" : ", ") + std::string(k) + " " + std::to_string(h.value(k, 0));
    if (!h.value("last_fault", std::string()).empty()) r.live_problems += "; last fault: " + h["last_fault"].get<std::string>();
    if (r.live_problems.empty()) r.live_problems = "not clean";
  }
  return r;
}

std::string rrul_text(const RrulReport& r) {
  const RrulOptions& o = r.options;
  std::string t = "rrul: " + o.setup_name + ": " + std::to_string(o.up) + " up + " + std::to_string(o.down) +
                  " down TCP flows (" + o.congestion_control + "), " + number(o.load_s) + " s of load after " +
                  number(o.idle_s) + " s idle, port " + o.port + "\n";
  auto flows = [&](const char* dir, double sum) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %.1f Mbit/s (", dir, sum);
    std::string s = buf;
    bool first = true;
    for (const RrulFlow& f : r.flows)
      if (f.name.rfind(dir, 0) == 0) {
        std::snprintf(buf, sizeof buf, "%s%.1f", first ? "" : " ", f.mean_mbps);
        s += buf;
        first = false;
      }
    return s + ")";
  };
  t += "goodput: ";
  if (o.up) t += flows("up", r.up_mbps);
  if (o.up && o.down) t += ", ";
  if (o.down) t += flows("down", r.down_mbps);
  t += "\n";
  auto rtt = [&](const char* what, const RttSummary& s) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "ping RTT %-10s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu replies)\n", what,
                  s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.replies);
    return std::string(buf);
  };
  t += rtt("idle:", r.idle);
  t += rtt("loaded:", r.loaded);
  t += "ping: " + std::to_string(r.pings.size()) + " of " + std::to_string(r.pings_sent) + " answered\n";
  t += std::string("bpfq live: ") + (r.live_conserved ? "every packet accounted for" : "PACKETS NOT CONSERVED") + "; " +
       (r.live_problems.empty() ? "no problems" : "problems: " + r.live_problems) + "\n";
  return t;
}

std::string rrul_json(const RrulReport& r) {
  const RrulOptions& o = r.options;
  auto summary = [](const RttSummary& s) {
    return nlohmann::json{{"replies", s.replies}, {"p50_ms", s.p50_ms}, {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}};
  };
  nlohmann::json flows = nlohmann::json::array();
  for (const RrulFlow& f : r.flows) flows.push_back({{"name", f.name}, {"mean_mbps", f.mean_mbps}, {"mbps", f.mbps}});
  nlohmann::json replies = nlohmann::json::array();
  for (const PingReply& p : r.pings) replies.push_back({p.at_s, p.rtt_ms});
  nlohmann::json j{{"setup", o.setup_name},
                   {"port", o.port},
                   {"up", o.up},
                   {"down", o.down},
                   {"congestion_control", o.congestion_control},
                   {"idle_s", o.idle_s},
                   {"load_s", o.load_s},
                   {"interval_s", o.interval_s},
                   {"duration_s", r.duration_s},
                   {"goodput_mbps", {{"up", r.up_mbps}, {"down", r.down_mbps}}},
                   {"time_s", r.time_s},
                   {"flows", flows},
                   {"ping", {{"sent", r.pings_sent}, {"replies", replies}, {"idle", summary(r.idle)}, {"loaded", summary(r.loaded)}}},
                   {"live", nlohmann::json::parse(r.live_json.empty() ? "null" : r.live_json, nullptr, false)}};
  return j.dump(2);
}

Chart rrul_chart(const RrulReport& r) {
  Chart c;
  c.title = "rrul: " + r.options.setup_name;
  c.x_max_s = r.duration_s;
  c.top = {"rtt", "ping RTT (ms)", {}, {}, 0};
  ChartLine ping{"ping", {}, {}, 0, 0};
  for (const PingReply& p : r.pings) {
    ping.x_s.push_back(p.at_s);
    ping.y.push_back(p.rtt_ms);
  }
  c.top.lines.push_back(std::move(ping));
  c.top.legend.push_back({"ping", 0, 0, false});
  // Colour: the flow's number; dash: its direction.
  c.bottom = {"goodput", "goodput (Mbit/s)", {}, {}, 0};
  size_t most = 0;
  for (const RrulFlow& f : r.flows) {
    const bool down = f.name.rfind("down", 0) == 0;
    const size_t k = static_cast<size_t>(std::stoul(f.name.substr(f.name.find(' ') + 1))) - 1;
    c.bottom.lines.push_back({f.name, r.time_s, f.mbps, k, down ? 1u : 0u});
    most = std::max(most, k + 1);
  }
  for (size_t k = 0; k < most; ++k) c.bottom.legend.push_back({"flow " + std::to_string(k + 1), k, 0, false});
  if (r.options.up) c.bottom.legend.push_back({"up (A→B)", 0, 0, true});
  if (r.options.down) c.bottom.legend.push_back({"down (B→A)", 0, 1, true});
  return c;
}

}  // namespace bpfq::io::live
