#include <bpfq/io/live/testbed.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace bpfq::io::live {

namespace {

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

}  // namespace

std::optional<std::string> testbed_unavailable(const std::vector<std::string>& tools) {
  if (geteuid() != 0) return "a testbed needs root (network namespaces, AF_PACKET)";
  for (const std::string& tool : tools)
    if (!sh("command -v " + tool)) return tool + " is not installed (scripts/setup.sh installs it)";
  return std::nullopt;
}

NetnsProcess::NetnsProcess(const std::string& netns, std::vector<std::string> argv, std::string out_path)
    : out_(std::move(out_path)) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp("ip", args.data());  // `ip netns exec` execs the command: pid_ is the command's
    _exit(127);
  }
  if (pid_ < 0) status_ = 127;
}

NetnsProcess::~NetnsProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void NetnsProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) kill(pid_, sig);
}

bool NetnsProcess::running() { return wait(std::chrono::milliseconds(0)) == -1; }

int NetnsProcess::wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return *status_;
}

std::string NetnsProcess::output() const {
  std::ifstream in(out_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Testbed::Testbed(const std::string& tag)
    : prefix_("bpfq-" + (tag.empty() ? std::string() : tag + "-") + std::to_string(getpid()) + "-") {
  remove();
  const std::string a = ns("a"), r = ns("r"), b = ns("b");
  const std::vector<std::string> steps{
      "ip netns add " + a, "ip netns add " + r, "ip netns add " + b,
      "ip link add a0 netns " + a + " type veth peer name ra netns " + r,
      "ip link add b0 netns " + b + " type veth peer name rb netns " + r,
      "ip -n " + a + " addr add " + kAddressA + "/24 dev a0", "ip -n " + b + " addr add " + kAddressB + "/24 dev b0",
      // R has no addresses and no IPv6: its own stack stays quiet, only bpfq forwards.
      "ip netns exec " + r + " sysctl -qw net.ipv6.conf.ra.disable_ipv6=1 net.ipv6.conf.rb.disable_ipv6=1",
      "ip -n " + a + " link set a0 up", "ip -n " + b + " link set b0 up", "ip -n " + r + " link set ra up",
      "ip -n " + r + " link set rb up", "ip -n " + a + " link set lo up", "ip -n " + b + " link set lo up"};
  for (const std::string& step : steps)
    if (!sh(step)) {
      error_ = step;
      break;
    }
}

Testbed::~Testbed() {
  processes_.clear();  // killed before their namespaces go
  remove();
}

NetnsProcess& Testbed::start(const std::string& which, std::vector<std::string> argv, const std::string& out_name) {
  processes_.push_back(std::make_unique<NetnsProcess>(ns(which), std::move(argv), file(out_name)));
  return *processes_.back();
}

bool Testbed::run(const std::string& which, const std::string& cmd) const { return sh("ip netns exec " + ns(which) + " " + cmd); }

bool Testbed::checksum_offload_off() const { return run("a", "ethtool -K a0 tx off") && run("b", "ethtool -K b0 tx off"); }

bool Testbed::b_reachable(int tries) const {
  for (int i = 0; i < tries; ++i)
    if (run("a", std::string("ping -c 1 -W 1 ") + kAddressB)) return true;
  return false;
}

void Testbed::remove() const {
  for (const char* n : {"a", "r", "b"}) sh("ip netns del " + ns(n) + " 2>/dev/null");
  sh("rm -f /tmp/" + prefix_ + "*");
}

}  // namespace bpfq::io::live
