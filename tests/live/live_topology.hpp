#pragma once
// The live tests' network is the library's testbed (bpfq/io/live/testbed.hpp): A ⇄ R ⇄ B with
// `bpfq live ra rb` in R. What only the tests need is here.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/io/live/rrul.hpp>
#include <bpfq/io/live/testbed.hpp>

namespace bpfq::test {

using io::live::NetnsProcess;
using io::live::Testbed;

inline std::optional<std::string> live_unavailable() { return io::live::testbed_unavailable(); }

// Why an AF_XDP port cannot be tried here, if it cannot (after live_unavailable()).
inline std::optional<std::string> xdp_unavailable() {
  const int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return "AF_XDP sockets are unavailable here (kernel without CONFIG_XDP_SOCKETS, or no permission)";
  close(fd);
  if (std::system("command -v ethtool >/dev/null 2>&1") != 0) return "ethtool is not installed (scripts/setup.sh installs it)";
  return std::nullopt;
}

// The RTTs (ms) of `ping -D`'s replies, in order.
inline std::vector<double> ping_rtts(const std::string& output) {
  std::vector<double> rtts;
  for (const io::live::PingReply& p : io::live::ping_replies(output)) rtts.push_back(p.rtt_ms);
  return rtts;
}

inline double percentile(const std::vector<double>& v, double p) {
  const io::live::RttSummary s = io::live::summarize_rtts(v);
  return p == 50 ? s.p50_ms : p == 90 ? s.p90_ms : p == 99 ? s.p99_ms : s.max_ms;
}

}  // namespace bpfq::test
