#include "kernel_runner.hpp"

#include "support/kernel_bpf.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace bpfq::test {
namespace {

using ebpf::Insn;
static_assert(sizeof(Insn) == sizeof(bpf_insn), "bpfq::ebpf::Insn has struct bpf_insn's layout");

// The verifier's reason for a rejection: the last log line other than its statistics.
std::string rejection_reason(const std::string& log) {
  std::istringstream lines(log);
  std::string line, reason;
  while (std::getline(lines, line))
    if (!line.empty() && !line.starts_with("processed ")) reason = line;
  return reason;
}

// Returns the program fd, or a negative errno with the verifier's reason in *reason.
int load(const std::vector<Insn>& insns, std::string* reason) {
  const auto* raw = reinterpret_cast<const bpf_insn*>(insns.data());
  int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bpfq_diff", "GPL", raw, insns.size(), nullptr);
  if (fd >= 0 || reason == nullptr) return fd;
  // Load again with a log to learn why; the first load stays log-free because logging is slow.
  std::string log(1 << 20, '\0');
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_level = 1;
  opts.log_size = static_cast<uint32_t>(log.size());
  opts.log_buf = log.data();
  const int again = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bpfq_diff", "GPL", raw, insns.size(), &opts);
  if (again >= 0) close(again);
  log.resize(std::strlen(log.c_str()));
  *reason = rejection_reason(log);
  if (reason->empty()) *reason = errno_text(-fd);
  return fd;
}

// BPF_PROG_TEST_RUN's retval: the low 32 bits of r0. Returns a negative errno on failure.
int64_t test_run(int fd) {
  // A socket filter's test run builds an skb from data_in, which must hold an Ethernet header.
  uint8_t packet[64] = {};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet;
  opts.data_size_in = sizeof(packet);
  opts.repeat = 1;
  const int err = bpf_prog_test_run_opts(fd, &opts);
  if (err < 0) return err;
  return opts.retval;
}

uint32_t run_low32(int fd) {
  const int64_t v = test_run(fd);
  if (v < 0) throw std::runtime_error("BPF_PROG_TEST_RUN failed: " + errno_text(static_cast<int>(-v)));
  return static_cast<uint32_t>(v);
}

const uint8_t kMov64Imm = ebpf::ALU64 | ebpf::MOV | ebpf::K;
const uint8_t kExit = ebpf::JMP | ebpf::EXIT;

}  // namespace

std::optional<std::string> kernel_bpf_unavailable() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    const std::vector<Insn> trivial = {Insn::make(kMov64Imm, 0, 0, 0, 7), Insn::make(kExit, 0, 0, 0, 0)};
    const int fd = load(trivial, nullptr);
    if (fd < 0) {
      const int err = -fd;
      if (err == EPERM || err == EACCES) return "bpf() not permitted: " + errno_text(err);
      return "bpf() cannot load a trivial socket filter: " + errno_text(err);
    }
    Fd prog(fd);
    const int64_t v = test_run(prog.get());
    if (v < 0) return "BPF_PROG_TEST_RUN not available: " + errno_text(static_cast<int>(-v));
    if (v != 7) return "BPF_PROG_TEST_RUN returned " + std::to_string(v) + " for a program returning 7";
    return std::nullopt;
  }();
  return why;
}

KernelResult run_in_kernel(std::span<const Insn> insns) {
  // r1 and r2 as bpfq's run(nullptr, 0) sets them.
  const Insn zero_args[] = {Insn::make(kMov64Imm, 1, 0, 0, 0), Insn::make(kMov64Imm, 2, 0, 0, 0)};

  std::vector<Insn> low(std::begin(zero_args), std::end(zero_args));
  low.insert(low.end(), insns.begin(), insns.end());

  std::vector<Insn> high(std::begin(zero_args), std::end(zero_args));
  high.push_back(Insn::make(ebpf::JMP | ebpf::CALL, 0, ebpf::CALL_LOCAL, 0, 2));  // to insns[0]
  high.push_back(Insn::make(ebpf::ALU64 | ebpf::RSH | ebpf::K, 0, 0, 0, 32));
  high.push_back(Insn::make(kExit, 0, 0, 0, 0));
  high.insert(high.end(), insns.begin(), insns.end());

  KernelResult result;
  const int low_fd = load(low, &result.reason);
  if (low_fd < 0) return result;
  Fd low_prog(low_fd);
  const int high_fd = load(high, &result.reason);
  if (high_fd < 0) {
    result.reason = "high-half variant rejected: " + result.reason;
    return result;
  }
  Fd high_prog(high_fd);
  result.accepted = true;
  result.r0 = (uint64_t{run_low32(high_prog.get())} << 32) | run_low32(low_prog.get());
  return result;
}

}  // namespace bpfq::test
