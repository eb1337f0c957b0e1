#pragma once
// A network to try bpfq live on, inside this host: three namespaces A ⇄ R ⇄ B joined by veth
// pairs (a0–ra, rb–b0), addresses 10.77.0.1 (A) and 10.77.0.2 (B) on one subnet and none in R,
// so that `bpfq live ra rb` in R carries every frame between A and B (ARP too). Namespace names
// start with "bpfq-" and carry a tag and the process id; the destructor kills the processes it
// started and deletes the namespaces (their veths go with them), also after a failure. Used by
// `bpfq rrul` and by the live tests.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bpfq::io::live {

// Why a testbed cannot be built here, if it cannot: not root, or a tool missing.
std::optional<std::string> testbed_unavailable(const std::vector<std::string>& tools = {"ip", "iperf3", "ping"});

// A command run in a namespace, its output (stdout and stderr) in a file; killed and reaped when
// destroyed.
class NetnsProcess {
 public:
  NetnsProcess(const std::string& netns, std::vector<std::string> argv, std::string out_path);
  ~NetnsProcess();
  NetnsProcess(const NetnsProcess&) = delete;
  NetnsProcess& operator=(const NetnsProcess&) = delete;

  void signal(int sig) const;
  // The exit code (128 + signal if killed), waiting at most `timeout`; -1 if it has not ended.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running();
  std::string output() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_;
};

class Testbed {
 public:
  // tag: part of the namespace names ("bpfq-TAG-PID-a"); empty for "bpfq-PID-a".
  explicit Testbed(const std::string& tag = "");
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // the command that failed, if one did

  std::string ns(const std::string& which) const { return prefix_ + which; }  // "a", "r" or "b"
  std::string file(const std::string& name) const { return "/tmp/" + prefix_ + name; }
  static constexpr const char* kAddressA = "10.77.0.1";
  static constexpr const char* kAddressB = "10.77.0.2";

  NetnsProcess& start(const std::string& which, std::vector<std::string> argv, const std::string& out_name);
  // A shell command in namespace `which`; true if it exited 0.
  bool run(const std::string& which, const std::string& cmd) const;
  // For AF_XDP ports, which carry plain frames: A and B compute their own checksums (veth
  // leaves them to offload, and a partial checksum would reach the other side as it is).
  bool checksum_offload_off() const;
  // B answers A's ping within `tries` one-second attempts: frames cross R (and ARP resolved).
  bool b_reachable(int tries) const;

 private:
  void remove() const;

  std::string prefix_;
  std::string error_;
  std::vector<std::unique_ptr<NetnsProcess>> processes_;
};

}  // namespace bpfq::io::live
