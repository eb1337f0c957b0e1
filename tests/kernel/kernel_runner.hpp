#pragma once
// Runs an eBPF program in the running Linux kernel (bpf(BPF_PROG_LOAD) as a socket filter,
// then BPF_PROG_TEST_RUN) and returns all 64 bits of r0, so that tests can compare bpfq's
// interpreter with the kernel's verifier + JIT on the same program.
//
// The program sees r1 = 0 and r2 = 0, like bpfq's Program::run(nullptr, 0): any dereference
// of r1 is then rejected by the verifier instead of reading the kernel's __sk_buff.
//
// BPF_PROG_TEST_RUN reports only the low 32 bits of r0. The high half comes from a second
// load of the same program wrapped as a sub-program:
//     mov r1, 0; mov r2, 0; call local <program>; rsh r0, 32; exit; <program>
// Jumps and calls are relative, so the program's own offsets stay valid when it is moved
// behind the wrapper, and its exits return to the wrapper.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::test {

struct KernelResult {
  bool accepted = false;
  uint64_t r0 = 0;     // when accepted
  std::string reason;  // when rejected: the verifier's last log line (or errno text)
};

// Why the kernel's eBPF cannot be used here, e.g. "bpf() not permitted: EPERM (Operation not
// permitted)"; nullopt when a trivial program loads and test-runs. Probed once per process.
std::optional<std::string> kernel_bpf_unavailable();

// Loads and runs insns in the kernel. A rejection of either variant is reported as rejected
// (with the variant named in reason); a failing BPF_PROG_TEST_RUN throws std::runtime_error.
KernelResult run_in_kernel(std::span<const ebpf::Insn> insns);

}  // namespace bpfq::test
