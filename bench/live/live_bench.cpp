// bpfq live on real veths in network namespaces (A ⇄ R ⇄ B, bpfq/io/live/testbed.hpp), each
// figure a ratio to a baseline measured in the same run (docs/live.md, "Performance"):
//   Live/pps64/*     64-byte frames per second A→B through the bump in the wire: the bridge with
//                    a native C++ FIFO (the bare path) against eBPF fifo (bpf_skb_queue_*), pfifo
//                    (the seed's rbtree map; JIT only) and fq_codel, verified
//                    on the JIT and on the interpreter. Time per iteration = 1 / frames per second;
//                    bpfq_cpu_ns_per_frame: bpfq's CPU time per frame delivered.
//   Live/pps64/xdp/* the same on AF_XDP ports (--port xdp), each against the bare path on its own
//                    port type and the xdp bare path against the AF_PACKET one.
//   Live/tcp1/*      one TCP stream (iperf3, 4 s) through bpfq against the kernel's own bridge and
//                    router in R. Time = 1 / Gbit/s; cpu_ms_per_GB: the machine's CPU per GB carried.
//   Live/idle_ping/* ping RTT at idle (200 pings, 10 ms apart) through bpfq (AF_PACKET and
//                    AF_XDP ports) against the kernel bridge. Time = the p50 RTT; the p99 is a counter.
// Needs root, ip, iperf3 and ping; skips (with the reason) otherwise. The machine is shared:
// run with --benchmark_repetitions=3 and read the medians. The frame generator is this binary,
// run in A as `bench_live --generate IF SECONDS`.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "live/live_topology.hpp"
#include "support/ratio_reporter.hpp"

namespace {

using bpfq::test::NetnsProcess;
using bpfq::test::Testbed;

const std::string kBpfq = std::string(BPFQ_BINARY_DIR) + "/bpfq";
constexpr double kGenerateSeconds = 3;

// The frame generator: 60-byte UDP frames (64 on the wire) on ifname for `seconds`, to a MAC
// address nobody has (B's stack counts and drops them early). Prints the frames sent.
int generate(const char* ifname, double seconds) {
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname));
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  if (fd < 0 || addr.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 1;
  uint8_t frame[60] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,  // MACs, IPv4
                       0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2,  // IPv4
                       0x30, 0x39, 0, 9, 0, 26, 0, 0};  // UDP 12345 → 9, no checksum
  constexpr int kBatch = 64;
  iovec iov[kBatch];
  mmsghdr msgs[kBatch] = {};
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {frame, sizeof frame};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t sent = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) sent += static_cast<uint64_t>(n);
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sent));
  return 0;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

// One topology for the whole run; nullptr (and why) where the live benchmarks cannot run.
Testbed* topology(benchmark::State& state) {
  static std::unique_ptr<Testbed> topo;
  if (auto why = bpfq::test::live_unavailable()) {
    state.SkipWithError(why->c_str());
    return nullptr;
  }
  if (!topo) topo = std::make_unique<Testbed>();
  if (!topo->ok()) {
    state.SkipWithError("could not build the namespaces");
    return nullptr;
  }
  return topo.get();
}

// CPU time (user + system, in ms) a process has used so far; 0 if it is gone.
double process_cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const size_t end = line.rfind(')');  // the command name may hold spaces
  if (end == std::string::npos) return 0;
  std::istringstream fields(line.substr(end + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt: fields 3 to 13
  uint64_t utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) * 10;  // USER_HZ: 100 ticks a second
}

uint64_t rx_packets(Testbed& topo) {
  NetnsProcess& c = topo.start("b", {"cat", "/sys/class/net/b0/statistics/rx_packets"}, "rx.out");
  c.wait();
  return std::strtoull(c.output().c_str(), nullptr, 10);
}

// bpfq live in R with the setup text until the returned NetnsProcess is signalled; false if the path
// does not forward.
NetnsProcess* start_bpfq(Testbed& topo, const std::string& setup, const std::string& backend,
                  const std::string& port = "packet") {
  const std::string path = topo.file("bench.tc");
  std::ofstream(path) << setup;
  NetnsProcess& live = topo.start("r", {kBpfq, "--backend", backend, "live", "ra", "rb", "--port", port, "-b", path}, "live.out");
  return topo.b_reachable(20) ? &live : nullptr;
}

void stop(NetnsProcess& live) {
  live.signal(SIGTERM);
  live.wait(std::chrono::seconds(20));
}

// The kernel forwarding between ra and rb, for the baselines, while it exists: its bridge, or
// its router (host routes and proxy ARP: A and B keep their one subnet).
struct KernelPath {
  Testbed& topo;
  bool router;
  KernelPath(Testbed& t, bool as_router) : topo(t), router(as_router) {
    if (router) {
      // R's own /32 addresses give its ARP requests a source.
      for (const char* cmd : {"sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv4.conf.ra.proxy_arp=1",
                              "sysctl -qw net.ipv4.conf.rb.proxy_arp=1", "ip addr add 192.0.2.1/32 dev ra",
                              "ip addr add 192.0.2.2/32 dev rb", "ip route add 10.77.0.1/32 dev ra",
                              "ip route add 10.77.0.2/32 dev rb"})
        topo.run("r", cmd);
    } else {
      for (const char* cmd : {"ip link add bpfq-br type bridge", "ip link set ra master bpfq-br",
                              "ip link set rb master bpfq-br", "ip link set bpfq-br up"})
        topo.run("r", cmd);
    }
    topo.b_reachable(40);  // a bridge learns, a router answers ARP: a baseline of 0 says if not
  }
  ~KernelPath() {
    if (router) {
      for (const char* cmd : {"ip route del 10.77.0.1/32 dev ra", "ip route del 10.77.0.2/32 dev rb",
                              "ip addr del 192.0.2.1/32 dev ra", "ip addr del 192.0.2.2/32 dev rb", "sysctl -qw net.ipv4.conf.ra.proxy_arp=0", "sysctl -qw net.ipv4.conf.rb.proxy_arp=0",
                              "sysctl -qw net.ipv4.ip_forward=0"})
        topo.run("r", cmd);
    } else {
      topo.run("r", "ip link del bpfq-br");
    }
    // A and B learnt R's MAC for each other (proxy ARP): bpfq forwards frames as they are.
    topo.run("a", "ip neigh flush all");
    topo.run("b", "ip neigh flush all");
  }
};

void BM_Pps64(benchmark::State& state, std::string setup, std::string backend, std::string port = "packet") {
  Testbed* topo = topology(state);
  if (!topo) return;
  for (auto _ : state) {
    NetnsProcess* live = start_bpfq(*topo, setup, backend, port);
    if (!live) {
      state.SkipWithError("bpfq live did not forward");
      return;
    }
    const uint64_t before = rx_packets(*topo);
    const double cpu_before = process_cpu_ms(live->pid());
    NetnsProcess& gen = topo->start("a", {self_exe(), "--generate", "a0", std::to_string(kGenerateSeconds)}, "gen.out");
    gen.wait(std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // what bpfq still held leaves
    const uint64_t received = rx_packets(*topo) - before;
    const double cpu_ms = process_cpu_ms(live->pid()) - cpu_before;
    stop(*live);
    const double offered = std::strtod(gen.output().c_str(), nullptr);
    const double pps = static_cast<double>(received) / kGenerateSeconds;
    state.SetIterationTime(pps > 0 ? 1 / pps : 1);
    state.counters["Mpps"] = pps / 1e6;
    state.counters["offered_Mpps"] = offered / kGenerateSeconds / 1e6;
    // bpfq's own CPU per frame delivered (its system calls included): what a frame costs it
    // whether or not the generator kept it busy.
    state.counters["bpfq_cpu_ns_per_frame"] = received ? cpu_ms * 1e6 / static_cast<double>(received) : 0;
  }
}

// CPU time the whole machine has spent (user, system, interrupts; not idle or steal) since boot,
// in ms (/proc/stat counts in USER_HZ ticks, 100 a second).
double machine_busy_ms() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  return static_cast<double>(user + nice + system + irq + softirq) * 10;
}

struct TcpRun {
  double gbps = 0;
  double cpu_ms_per_gb = 0;  // of the whole machine: sender, receiver and the path between
};

TcpRun iperf_run(Testbed& topo) {
  NetnsProcess& server = topo.start("b", {"iperf3", "-s", "-1"}, "server.out");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double busy_before = machine_busy_ms();
  NetnsProcess& client = topo.start("a", {"iperf3", "-c", "10.77.0.2", "-t", "4", "-J"}, "client.out");
  client.wait(std::chrono::seconds(30));
  const double busy = machine_busy_ms() - busy_before;
  server.wait(std::chrono::seconds(5));
  const nlohmann::json j = nlohmann::json::parse(client.output(), nullptr, false);
  const nlohmann::json::json_pointer bits("/end/sum_received/bits_per_second"), bytes("/end/sum_received/bytes");
  TcpRun r;
  if (!j.is_object() || !j.contains(bits) || !j[bits].is_number() || !j.contains(bytes) || !j[bytes].is_number()) return r;
  r.gbps = j[bits].get<double>() / 1e9;
  const double gb = j[bytes].get<double>() / 1e9;
  r.cpu_ms_per_gb = gb > 0 ? busy / gb : 0;
  return r;
}

enum class Path { Bpfq, KernelBridge, KernelRouter };

void BM_Tcp1(benchmark::State& state, Path path) {
  Testbed* topo = topology(state);
  if (!topo) return;
  for (auto _ : state) {
    TcpRun run;
    if (path != Path::Bpfq) {
      KernelPath kernel(*topo, path == Path::KernelRouter);
      run = iperf_run(*topo);
    } else {
      NetnsProcess* live = start_bpfq(*topo, "", "jit");
      if (!live) return state.SkipWithError("bpfq live did not forward");
      run = iperf_run(*topo);
      stop(*live);
    }
    state.SetIterationTime(run.gbps > 0 ? 1 / run.gbps : 1);
    state.counters["Gbit/s"] = run.gbps;
    state.counters["cpu_ms_per_GB"] = run.cpu_ms_per_gb;
  }
}

void BM_IdlePing(benchmark::State& state, bool kernel, std::string port = "packet") {
  Testbed* topo = topology(state);
  if (!topo) return;
  for (auto _ : state) {
    std::unique_ptr<KernelPath> bridge;
    NetnsProcess* live = nullptr;
    if (kernel) {
      bridge = std::make_unique<KernelPath>(*topo, false);
    } else if (!(live = start_bpfq(*topo, "", "jit", port))) {
      return state.SkipWithError("bpfq live did not forward");
    }
    NetnsProcess& ping = topo->start("a", {"ping", "-D", "-c", "200", "-i", "0.01", "10.77.0.2"}, "ping.out");
    ping.wait(std::chrono::seconds(30));
    if (live) stop(*live);
    std::vector<double> rtts = bpfq::test::ping_rtts(ping.output());
    const double p50 = bpfq::test::percentile(rtts, 50), p99 = bpfq::test::percentile(rtts, 99);
    state.SetIterationTime(p50 > 0 ? p50 / 1e3 : 1);
    state.counters["p50_us"] = p50 * 1e3;
    state.counters["p99_us"] = p99 * 1e3;
  }
}

const char* kFifo = "qdisc add dev rb root fifo limit 1000\n";    // bpf_skb_queue_*: a packet queue map
const char* kPfifo = "qdisc add dev rb root pfifo limit 1000\n";  // the seed's way: an rbtree map
const char* kFqCodel = "qdisc add dev rb root fq_codel\n";
const char* kNative = "qdisc add dev rb root native_pfifo limit 1000\n";

// One iteration per repetition: it takes seconds, and its manual time is far below the minimum.
#define LIVE_BENCH(...) BENCHMARK_CAPTURE(__VA_ARGS__)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond)
LIVE_BENCH(BM_Pps64, native, kNative, "jit")->Name("Live/pps64/native_fifo");
LIVE_BENCH(BM_Pps64, fifo_jit, kFifo, "jit")->Name("Live/pps64/fifo_jit");
LIVE_BENCH(BM_Pps64, pfifo_jit, kPfifo, "jit")->Name("Live/pps64/pfifo_jit");
LIVE_BENCH(BM_Pps64, fq_codel_jit, kFqCodel, "jit")->Name("Live/pps64/fq_codel_jit");
LIVE_BENCH(BM_Pps64, fifo_interp, kFifo, "interpreter")->Name("Live/pps64/fifo_interp");
LIVE_BENCH(BM_Pps64, fq_codel_interp, kFqCodel, "interpreter")->Name("Live/pps64/fq_codel_interp");
LIVE_BENCH(BM_Pps64, xdp_native, kNative, "jit", "xdp")->Name("Live/pps64/xdp/native_fifo");
LIVE_BENCH(BM_Pps64, xdp_fifo_jit, kFifo, "jit", "xdp")->Name("Live/pps64/xdp/fifo_jit");
LIVE_BENCH(BM_Pps64, xdp_fq_codel_jit, kFqCodel, "jit", "xdp")->Name("Live/pps64/xdp/fq_codel_jit");
LIVE_BENCH(BM_Tcp1, kernel_bridge, Path::KernelBridge)->Name("Live/tcp1/kernel_bridge");
LIVE_BENCH(BM_Tcp1, kernel_router, Path::KernelRouter)->Name("Live/tcp1/kernel_router");
LIVE_BENCH(BM_Tcp1, bpfq, Path::Bpfq)->Name("Live/tcp1/bpfq");
LIVE_BENCH(BM_IdlePing, kernel, true)->Name("Live/idle_ping/kernel_bridge");
LIVE_BENCH(BM_IdlePing, bpfq, false)->Name("Live/idle_ping/bpfq");
LIVE_BENCH(BM_IdlePing, bpfq_xdp, false, "xdp")->Name("Live/idle_ping/bpfq_xdp");

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--generate") return generate(argv[2], std::strtod(argv[3], nullptr));
  return bpfq::bench::run_with_ratios(argc, argv,
                                      {{"Live/pps64/fifo_jit/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/pfifo_jit/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/fq_codel_jit/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/fifo_interp/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/fq_codel_interp/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/xdp/native_fifo/iterations:1/manual_time", "Live/pps64/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/xdp/fifo_jit/iterations:1/manual_time", "Live/pps64/xdp/native_fifo/iterations:1/manual_time"},
                                       {"Live/pps64/xdp/fq_codel_jit/iterations:1/manual_time", "Live/pps64/xdp/native_fifo/iterations:1/manual_time"},
                                       {"Live/tcp1/bpfq/iterations:1/manual_time", "Live/tcp1/kernel_bridge/iterations:1/manual_time"},
                                       {"Live/tcp1/bpfq/iterations:1/manual_time", "Live/tcp1/kernel_router/iterations:1/manual_time"},
                                       {"Live/idle_ping/bpfq/iterations:1/manual_time", "Live/idle_ping/kernel_bridge/iterations:1/manual_time"},
                                       {"Live/idle_ping/bpfq_xdp/iterations:1/manual_time", "Live/idle_ping/kernel_bridge/iterations:1/manual_time"}});
}
