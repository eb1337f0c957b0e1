#pragma once
// The live tests' network: three namespaces A ⇄ R ⇄ B joined by veth pairs (a0–ra, rb–b0),
// `bpfq live ra rb` in R, addresses 10.77.0.1 (A) and 10.77.0.2 (B) on one subnet, so ARP and
// every frame cross bpfq. Names start with "bpfq-" and carry the test process's pid; the
// destructor kills what it started and deletes the namespaces (their veths go with them), also
// after a failed assertion.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bpfq::test {

// Why the live tests cannot run here, if they cannot.
inline std::optional<std::string> live_unavailable() {
  if (geteuid() != 0) return "live tests need root (network namespaces, AF_PACKET)";
  for (const char* tool : {"ip", "iperf3", "ping"})
    if (std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) != 0)
      return std::string(tool) + " is not installed (scripts/setup.sh installs it)";
  return std::nullopt;
}

// Why an AF_XDP port cannot be tried here, if it cannot (after live_unavailable()).
inline std::optional<std::string> xdp_unavailable() {
  const int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return "AF_XDP sockets are unavailable here (kernel without CONFIG_XDP_SOCKETS, or no permission)";
  close(fd);
  if (std::system("command -v ethtool >/dev/null 2>&1") != 0) return "ethtool is not installed (scripts/setup.sh installs it)";
  return std::nullopt;
}

// A process started in a namespace, its output in a file; killed and reaped when destroyed.
class Child {
 public:
  Child(const std::string& netns, std::vector<std::string> argv, const std::string& out_path) : out_(out_path) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp("ip", args.data());  // `ip netns exec` execs the command: pid_ is the command's
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void signal(int sig) const { kill(pid_, sig); }
  // The exit code (128 + signal if killed), waiting at most timeout; -1 if it did not end.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return *status_;
  }
  std::string output() const {
    std::ifstream in(out_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_;
};

class LiveTopology {
 public:
  LiveTopology() : prefix_("bpfq-" + std::to_string(getpid()) + "-") {
    remove();
    const std::string a = ns("a"), r = ns("r"), b = ns("b");
    ok_ = sh("ip netns add " + a) && sh("ip netns add " + r) && sh("ip netns add " + b) &&
          sh("ip link add a0 netns " + a + " type veth peer name ra netns " + r) &&
          sh("ip link add b0 netns " + b + " type veth peer name rb netns " + r) &&
          sh("ip -n " + a + " addr add 10.77.0.1/24 dev a0") && sh("ip -n " + b + " addr add 10.77.0.2/24 dev b0") &&
          // R has no addresses and no IPv6: its own stack stays quiet, only bpfq forwards.
          sh("ip netns exec " + r + " sysctl -qw net.ipv6.conf.ra.disable_ipv6=1 net.ipv6.conf.rb.disable_ipv6=1") &&
          sh("ip -n " + a + " link set a0 up") && sh("ip -n " + b + " link set b0 up") &&
          sh("ip -n " + r + " link set ra up") && sh("ip -n " + r + " link set rb up") &&
          sh("ip -n " + a + " link set lo up") && sh("ip -n " + b + " link set lo up");
  }
  ~LiveTopology() {
    children_.clear();  // killed before their namespaces go
    remove();
  }
  LiveTopology(const LiveTopology&) = delete;
  LiveTopology& operator=(const LiveTopology&) = delete;

  bool ok() const { return ok_; }
  std::string ns(const std::string& which) const { return prefix_ + which; }
  std::string file(const std::string& name) const { return "/tmp/" + prefix_ + name; }

  Child& start(const std::string& which, std::vector<std::string> argv, const std::string& out_name) {
    children_.push_back(std::make_unique<Child>(ns(which), std::move(argv), file(out_name)));
    return *children_.back();
  }
  // For AF_XDP ports, which carry plain frames: A and B compute their own checksums (veth
  // leaves them to offload, and a partial checksum would reach the other side as it is).
  bool checksum_offload_off() const {
    return run("a", "ethtool -K a0 tx off") && run("b", "ethtool -K b0 tx off");
  }
  // A command in namespace `which`; true if it exited 0.
  bool run(const std::string& which, const std::string& cmd) const { return sh("ip netns exec " + ns(which) + " " + cmd); }
  // B answers A's ping within `tries` one-second attempts: frames cross R (and ARP resolved).
  bool b_reachable(int tries) const {
    for (int i = 0; i < tries; ++i)
      if (run("a", "ping -c 1 -W 1 10.77.0.2")) return true;
    return false;
  }

 private:
  static bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
  void remove() const {
    for (const char* n : {"a", "r", "b"}) sh("ip netns del " + ns(n));
    sh("rm -f /tmp/" + prefix_ + "*");
  }

  std::string prefix_;
  bool ok_ = false;
  std::vector<std::unique_ptr<Child>> children_;
};

// The RTTs (ms) in ping's output, in order.
inline std::vector<double> ping_rtts(const std::string& output) {
  std::vector<double> rtts;
  for (size_t at = output.find("time="); at != std::string::npos; at = output.find("time=", at + 5))
    rtts.push_back(std::strtod(output.c_str() + at + 5, nullptr));
  return rtts;
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace bpfq::test
