// Agreement between bpfq's verifier and the running kernel's verifier, on the bpf_conformance
// programs (in ../shared; skipped without it) and on hand-written edge cases. Both tests skip
// themselves where bpf() is not permitted (not root) or cannot load a trivial XDP program.
//
// bpfq verifies each program as soundness_test.cpp does: a raw program whose r1 points to N
// bytes of memory (a conformance case's c.mem.size()) and whose r2 holds N. The kernel has no
// such program type, so each program is loaded as BPF_PROG_TYPE_XDP behind a prologue that gives
// r1 and r2 the same meaning:
//
//     r2 = xdp_md->data; r3 = xdp_md->data_end
//     r4 = r2 + N; if r4 <= r3 goto +2; r0 = 0; exit     (proves N bytes of packet to the kernel)
//     r1 = r2; r2 = N
//     <the program>
//
// so the kernel sees r1 as a packet pointer with N readable and writable bytes and r2 as the
// constant N. Each program falls in one class: both accept / both refuse / bpfq accepts but the
// kernel refuses / the kernel accepts but bpfq refuses / not compared (it calls a helper or
// uses a pseudo lddw: the ids are bpf_conformance's helpers, not the kernel's; or bpfq's
// assembler cannot read it). The kernel's reason is the first error line of its log (level 1).
//
// Asserts:
//  (a) no program the kernel refuses is accepted by bpfq unless an allow-list entry explains why
//      that refusal is not about safety for bpfq; the entry's message must still match, and a
//      packet-pointer explanation is checked by loading the program with r1 = a map value of N
//      bytes (the kernel must accept it there). Explanations of the other direction (kernel
//      accepts, bpfq refuses) are checked likewise: a privileged-only relaxation must be refused
//      by the kernel once the loading thread drops CAP_PERFMON;
//  (b) at least the measured number of programs agree;
//  (c) for programs both accept, the kernel's r0 (BPF_PROG_TEST_RUN on the memory, padded to an
//      Ethernet header; the high 32 bits from a second load that calls the program as a
//      sub-program and shifts r0 right by 32) lies inside bpfq's verified r0 range, and equals
//      the conformance file's expected result.
//
// Measured on kernel 6.18 (Debian 12, root, x86-64):
//   conformance (313 files): 299 both accept, 12 both refuse (invalid shift by a constant),
//     0 bpfq-only, 0 kernel-only, 2 not compared (call_unwind_fail: helper 5; callx: both
//     refuse); the kernel's r0 of all 299 inside bpfq's range and equal to the expected result.
//   edge cases (71): 20 both accept (r0 inside bpfq's range), 40 both refuse, 6 bpfq-only
//     (packet-pointer rules), 5 kernel-only (CAP_PERFMON only).
//   ~0.5 s and ~4 s in the ASan build.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/insn.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

#include "raw_verify.hpp"
#include "support/conformance_file.hpp"
#include "support/kernel_bpf.hpp"

namespace bpfq {
namespace {

namespace e = bpfq::ebpf;
using e::Insn;
using test::errno_text;
using test::Fd;
using test::r0_in_range;
using test::range_text;
using test::verify_raw;

static_assert(sizeof(Insn) == sizeof(bpf_insn), "bpfq::ebpf::Insn has struct bpf_insn's layout");

const std::filesystem::path kCorpus = BPFQ_SHARED_DIR "/conformance/bpf_conformance/tests";

// Explained differences, by program name: the refusing side's message (a substring of the
// kernel's first error line, or of bpfq's message) and why the difference is not about safety.
// Each entry is checked when its program is met: the refusal must still carry that message, and
//  - PacketRule (bpfq accepts, kernel refuses): the kernel accepts the program when r1 is a map
//    value of N bytes instead of a packet pointer (kernel_load_on_map_value): the refusal was
//    about the kernel's packet pointers, not about the program's safety on N bytes of memory;
//  - Privileged (kernel accepts, bpfq refuses): the kernel refuses the program too once the
//    loading thread drops CAP_PERFMON and CAP_SYS_ADMIN (kernel_load_without_perfmon): the
//    kernel accepted it only under its privileged-user relaxations, which bpfq never applies.
enum class Why {
  PacketRule,  // a rule of the kernel's packet pointers; bpfq's buffer is plain memory
  Privileged,  // allowed by the kernel only to CAP_PERFMON (pointer leaks, uninitialised stack)
};
struct Explained {
  Why kind;
  const char* message;
  const char* why;
};
const std::map<std::string, Explained>& explained_bpfq_only() {
  static const std::map<std::string, Explained> m = {
      // None on kernel 6.18: every conformance program the kernel refuses, bpfq refuses too.
  };
  return m;
}

// Programs the kernel accepts and bpfq refuses: bpfq is stricter (or less precise) there; no
// safety question, but every one is explained (an unexplained one is printed, not failed: the
// agreement floor catches regressions).
const std::map<std::string, Explained>& explained_kernel_only() {
  static const std::map<std::string, Explained> m = {
      // None on kernel 6.18.
  };
  return m;
}

// Agreements measured on kernel 6.18 (see the header): 299 both accept + 12 both refuse. The
// floor is the measured number, so that any new disagreement shows.
constexpr int kMinAgreements = 311;

// The same for the hand-written edge cases (EdgeCasesAgreeWithTheKernelsVerifier).
const std::map<std::string, Explained>& explained_edge_bpfq_only() {
  static const std::map<std::string, Explained> m = {
      // Adding a variable to a packet pointer gives the result a new id with no proven range
      // (r=0): the kernel wants data_end compared again. bpfq bounds the variable offset
      // against the buffer's fixed size, as the kernel does for map values.
      {"var_offset_masked", {Why::PacketRule, "invalid access to packet", "a variable offset drops the packet range; bounded against the buffer's size in bpfq"}},
      {"var_offset_checked", {Why::PacketRule, "invalid access to packet", "a variable offset drops the packet range; bounded against the buffer's size in bpfq"}},
      {"var_offset_checked_against_r2", {Why::PacketRule, "invalid access to packet", "a variable offset drops the packet range; bounded against the buffer's size in bpfq"}},
      {"var_offset_signed_check", {Why::PacketRule, "invalid access to packet", "a variable offset drops the packet range; bounded against the buffer's size in bpfq"}},
      // The kernel allows atomics on the stack, map values and some kernel pointers, never on
      // packet data; bpfq's buffer is plain memory, where an aligned in-bounds atomic is safe.
      {"atomic_on_memory", {Why::PacketRule, "BPF_ATOMIC stores into R1 pkt is not allowed", "no atomics on packet data in the kernel; bpfq's buffer is plain memory"}},
      {"atomic_fetch_on_memory", {Why::PacketRule, "BPF_ATOMIC stores into R1 pkt is not allowed", "no atomics on packet data in the kernel; bpfq's buffer is plain memory"}},
  };
  return m;
}
const std::map<std::string, Explained>& explained_edge_kernel_only() {
  static const std::map<std::string, Explained> m = {
      // The privileged kernel (CAP_PERFMON: allow_uninit_stack) lets programs read stack bytes
      // never written; bpfq refuses them always, as the kernel does without CAP_PERFMON.
      {"uninit_stack_read", {Why::Privileged, "invalid read from stack", "uninitialised stack read: allowed only to CAP_PERFMON"}},
      {"partly_init_stack_read", {Why::Privileged, "invalid read from stack", "uninitialised stack read: allowed only to CAP_PERFMON"}},
      {"atomic_uninit_stack", {Why::Privileged, "invalid read from stack", "atomic on uninitialised stack: allowed only to CAP_PERFMON"}},
      // The privileged kernel (allow_ptr_leaks) lets addresses escape: returned in r0, stored in
      // packet data. bpfq never lets an address out, as the kernel without CAP_PERFMON.
      {"return_pointer", {Why::Privileged, "R0 is not a known value", "a pointer returned in r0: allowed only to CAP_PERFMON"}},
      {"store_pointer_in_memory", {Why::Privileged, "leaks addr", "a pointer stored into memory: allowed only to CAP_PERFMON"}},
  };
  return m;
}
// Measured on kernel 6.18: 20 both accept + 40 both refuse.
constexpr int kMinEdgeAgreements = 60;

// ------------------------------------------------------------------ the kernel

constexpr uint8_t kMov64Imm = e::ALU64 | e::MOV | e::K;
constexpr uint8_t kMov64Reg = e::ALU64 | e::MOV | e::X;
constexpr uint8_t kExit = e::JMP | e::EXIT;
constexpr uint32_t kEthHeader = 14;  // BPF_PROG_TEST_RUN of XDP wants at least an Ethernet header

// The prologue that turns an XDP context into (r1 = N bytes of memory, r2 = N).
std::vector<Insn> prologue(uint32_t n) {
  const auto size = static_cast<int32_t>(n);
  return {
      Insn::make(e::LDX | e::MEM | e::W, 2, 1, 0, 0),    // r2 = xdp_md->data
      Insn::make(e::LDX | e::MEM | e::W, 3, 1, 4, 0),    // r3 = xdp_md->data_end
      Insn::make(kMov64Reg, 4, 2),                       // r4 = r2
      Insn::make(e::ALU64 | e::ADD | e::K, 4, 0, 0, size),  // r4 += N
      Insn::make(e::JMP | e::JLE | e::X, 4, 3, 2, 0),    // if r4 <= r3 goto +2
      Insn::make(kMov64Imm, 0, 0, 0, 0),                 // r0 = 0
      Insn::make(kExit),                                 // exit
      Insn::make(kMov64Reg, 1, 2),                       // r1 = r2
      Insn::make(kMov64Imm, 2, 0, 0, size),              // r2 = N
  };
}

// The program behind the prologue; high: called as a sub-program, r0 shifted right by 32.
std::vector<Insn> kernel_program(const std::vector<Insn>& insns, uint32_t n, bool high) {
  std::vector<Insn> p = prologue(n);
  if (high) {
    p.push_back(Insn::make(e::JMP | e::CALL, 0, e::CALL_LOCAL, 0, 2));  // call the program
    p.push_back(Insn::make(e::ALU64 | e::RSH | e::K, 0, 0, 0, 32));
    p.push_back(Insn::make(kExit));
  }
  p.insert(p.end(), insns.begin(), insns.end());
  return p;
}

int load_xdp(const std::vector<Insn>& p, bpf_prog_load_opts* opts) {
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bpfq_agree", "GPL", reinterpret_cast<const bpf_insn*>(p.data()),
                               p.size(), opts);
  return fd >= 0 ? fd : -errno;
}

// The first line of the kernel's refusal: the first line after the failing path's instruction
// trace ("N: (op) ..." lines and "from N to M:" lines) that is not a statistics line.
std::string first_error_line(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  auto is_trace = [](const std::string& l) {
    size_t i = 0;
    while (i < l.size() && std::isdigit(static_cast<unsigned char>(l[i]))) ++i;
    if (i > 0 && i < l.size() && l[i] == ':') return true;
    return l.starts_with("from ") || l.starts_with("; ") || l.starts_with("func#") || l.starts_with("Func#") ||
           l.starts_with("caller:") || l.starts_with("callee:") || l.starts_with(" frame") ||
           l.starts_with("returning from");
  };
  auto is_stats = [](const std::string& l) {
    return l.starts_with("processed ") || l.starts_with("verification time") || l.starts_with("stack depth");
  };
  size_t start = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    if (is_trace(lines[i])) start = i + 1;
  for (size_t i = start; i < lines.size(); ++i)
    if (!is_stats(lines[i])) return lines[i];
  for (const std::string& l : lines)
    if (!is_trace(l) && !is_stats(l)) return l;
  return {};
}

struct KernelLoad {
  Fd fd;
  int err = 0;         // errno when refused
  std::string reason;  // when refused: the first error line, or the errno text
};

KernelLoad kernel_load(const std::vector<Insn>& p) {
  KernelLoad k;
  // The verdict comes from a load without a log (a log that fills up is itself an error).
  const int fd = load_xdp(p, nullptr);
  if (fd >= 0) {
    k.fd = Fd(fd);
    return k;
  }
  k.err = -fd;
  std::string log(1 << 20, '\0');
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_level = 1;
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  const int again = load_xdp(p, &opts);
  if (again >= 0) close(again);
  log.resize(std::strlen(log.c_str()));
  k.reason = first_error_line(log);
  if (k.reason.empty()) k.reason = errno_text(k.err);
  return k;
}

// The second harness, for programs bpfq accepts and the kernel refuses behind the XDP prologue:
// r1 = the value of a one-entry array map of N bytes (what bpfq's raw buffer is modelled as,
// bounds-checked like a map value), r2 = N:
//
//     *(u32 *)(r10 - 4) = 0; r2 = r10 - 4; r1 = map; call bpf_map_lookup_elem
//     if r0 != 0 goto +2; r0 = 0; exit; r1 = r0; r2 = N; <the program>
//
// If the kernel accepts the program there, its refusal behind the prologue was about packet
// pointers (their rules), not about the program's safety on a buffer of N bytes. (The harness
// leaves r10-4..r10-1 initialised; it is used only on programs bpfq accepts, whose stack reads
// bpfq proved initialised anyway.) N = 0 has no such map (value_size must be positive): nullopt.
std::optional<KernelLoad> kernel_load_on_map_value(const std::vector<Insn>& insns, uint32_t n) {
  if (n == 0) return std::nullopt;
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bpfq_agree", 4, n, 1, nullptr);
  if (map < 0) return std::nullopt;
  Fd map_fd(map);
  const auto size = static_cast<int32_t>(n);
  std::vector<Insn> p = {
      Insn::make(e::ST | e::MEM | e::W, 10, 0, -4, 0),         // *(u32 *)(r10 - 4) = 0
      Insn::make(kMov64Reg, 2, 10),                            // r2 = r10
      Insn::make(e::ALU64 | e::ADD | e::K, 2, 0, 0, -4),       // r2 += -4
      Insn::make(e::LDDW_OPCODE, 1, e::PSEUDO_MAP_FD, 0, map),  // r1 = map
      Insn::make(0, 0, 0, 0, 0),
      Insn::make(e::JMP | e::CALL, 0, e::CALL_HELPER, 0, BPF_FUNC_map_lookup_elem),
      Insn::make(e::JMP | e::JNE | e::K, 0, 0, 2, 0),          // if r0 != 0 goto +2
      Insn::make(kMov64Imm, 0, 0, 0, 0),                       // r0 = 0
      Insn::make(kExit),                                       // exit
      Insn::make(kMov64Reg, 1, 0),                             // r1 = r0
      Insn::make(kMov64Imm, 2, 0, 0, size),                    // r2 = N
  };
  p.insert(p.end(), insns.begin(), insns.end());
  return kernel_load(p);  // the program holds its own reference to the map
}

// Loads p from a thread that dropped CAP_PERFMON and CAP_SYS_ADMIN from its effective set
// (capabilities are per thread; CAP_BPF and CAP_NET_ADMIN, which XDP needs, stay), so the
// kernel verifies without its privileged relaxations (allow_ptr_leaks, allow_uninit_stack,
// bypass_spec_v1/v4). nullopt when the capabilities cannot be changed.
std::optional<KernelLoad> kernel_load_without_perfmon(const std::vector<Insn>& p) {
  std::optional<KernelLoad> out;
  std::thread t([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) return;
    auto drop = [&](int cap) { data[cap / 32].effective &= ~(1u << (cap % 32)); };
    drop(CAP_PERFMON);
    drop(CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &header, data) != 0) return;
    out = kernel_load(p);
  });
  t.join();
  return out;
}

// BPF_PROG_TEST_RUN's retval (the low 32 bits of r0) on the case's memory; nullopt on failure.
std::optional<uint32_t> kernel_run(int fd, const std::vector<uint8_t>& mem, std::string* why) {
  std::vector<uint8_t> packet = mem;
  if (packet.size() < kEthHeader) packet.resize(kEthHeader, 0);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    *why = "BPF_PROG_TEST_RUN: " + errno_text(errno);
    return std::nullopt;
  }
  return opts.retval;
}

// Why the kernel cannot be used here, or nullopt: a trivial XDP program must load and run.
std::optional<std::string> kernel_unavailable() {
  const std::vector<Insn> trivial = kernel_program({Insn::make(kMov64Imm, 0, 0, 0, 7), Insn::make(kExit)}, 0, false);
  const int fd = load_xdp(trivial, nullptr);
  if (fd < 0) {
    const int err = -fd;
    if (err == EPERM || err == EACCES) return "bpf() not permitted (not root?): " + errno_text(err);
    if (err == ENOSYS) return "bpf() not available: " + errno_text(err);
    return "the kernel cannot load a trivial XDP program: " + errno_text(err);
  }
  Fd prog(fd);
  std::string why;
  const std::optional<uint32_t> r = kernel_run(prog.get(), {}, &why);
  if (!r) return why;
  if (*r != 7) return "BPF_PROG_TEST_RUN returned " + std::to_string(*r) + " for a program returning 7";
  return std::nullopt;
}

// ------------------------------------------------------------------ bpfq

// Why the program cannot be compared as-is, or "": helper calls (bpf_conformance's helper ids
// are not the kernel's), indirect calls, kfuncs, and lddw of maps, BTF ids or functions.
std::string not_comparable_reason(const std::vector<Insn>& insns) {
  for (size_t pc = 0; pc < insns.size(); ++pc) {
    const Insn& i = insns[pc];
    if (i.code == (e::JMP | e::CALL | e::X)) return "indirect call (callx) of a bpf_conformance helper";
    if (i.code == (e::JMP | e::CALL) && i.src == e::CALL_HELPER)
      return "calls helper " + std::to_string(i.imm) + " (a bpf_conformance helper id, not the kernel's)";
    if (i.code == (e::JMP | e::CALL) && i.src == e::CALL_KFUNC) return "calls a kfunc";
    if (i.code == e::LDDW_OPCODE && i.src != e::LDDW_IMM64) return "lddw with a pseudo source (map, BTF id or function)";
    if (i.code == e::LDDW_OPCODE) ++pc;
  }
  return {};
}

// ------------------------------------------------------------------ the comparison

enum class Class { BothAccept, BothRefuse, BpfqOnly, KernelOnly, NotCompared };

const char* class_name(Class c) {
  switch (c) {
    case Class::BothAccept: return "both accept";
    case Class::BothRefuse: return "both refuse";
    case Class::BpfqOnly: return "bpfq accepts, kernel refuses";
    case Class::KernelOnly: return "kernel accepts, bpfq refuses";
    case Class::NotCompared: return "not compared (not loadable as-is)";
  }
  return "?";
}

struct Row {
  std::string name;
  std::string kernel;  // the kernel's first error line ("" when accepted)
  std::string bpfq;    // bpfq's message ("" when accepted)
  std::string note;    // explanation, or why not compared
};

class Agreement {
 public:
  Agreement(const std::map<std::string, Explained>& bpfq_only, const std::map<std::string, Explained>& kernel_only)
      : bpfq_only_(bpfq_only), kernel_only_(kernel_only) {}

  // Verifies insns with both verifiers (r1 = mem, r2 = its size), classifies, and for programs
  // both accept runs the kernel's and checks its r0 (against expected too, when given).
  void compare(const std::string& name, const std::vector<Insn>& insns, const std::vector<uint8_t>& mem,
               std::optional<uint64_t> expected, uint64_t insn_limit = verifier::VerifyOptions{}.insn_limit) {
    const auto n = static_cast<uint32_t>(mem.size());
    const verifier::VerifyResult v = verify_raw(insns, n, insn_limit);
    KernelLoad k = kernel_load(kernel_program(insns, n, false));
    const bool kernel_ok = k.fd.ok();
    Row row{name, kernel_ok ? "" : k.reason, v.ok ? "" : "insn " + std::to_string(v.error.insn) + ": " + v.error.message,
            ""};

    if (const std::string why = not_comparable_reason(insns); !why.empty()) {
      row.note = why + "; kernel " + (kernel_ok ? "accepts" : "refuses") + ", bpfq " + (v.ok ? "accepts" : "refuses");
      rows_[Class::NotCompared].push_back(row);
      return;
    }
    if (v.ok && !kernel_ok) {
      auto it = bpfq_only_.find(name);
      if (it == bpfq_only_.end()) {
        ADD_FAILURE() << name << ": bpfq accepts a program the kernel refuses (" << k.reason
                      << "); if the refusal is not about safety for bpfq, explain it in the allow-list";
        row.note = "UNEXPLAINED";
        if (const std::optional<KernelLoad> on_map = kernel_load_on_map_value(insns, n))
          row.note += on_map->fd.ok() ? " [kernel with r1 = map value: accepts]"
                                      : " [kernel with r1 = map value: refuses: " + on_map->reason + "]";
      } else {
        seen_.insert(name);
        EXPECT_NE(k.reason.find(it->second.message), std::string::npos)
            << name << ": the kernel now refuses it for another reason: " << k.reason << " (explained: \""
            << it->second.message << "\")";
        row.note = it->second.why;
        if (it->second.kind == Why::PacketRule) {
          const std::optional<KernelLoad> on_map = kernel_load_on_map_value(insns, n);
          if (!on_map) {
            ADD_FAILURE() << name << ": explained as a packet-pointer rule, but there is no map-value harness for N = " << n;
          } else {
            EXPECT_TRUE(on_map->fd.ok()) << name << ": explained as a packet-pointer rule, but the kernel also refuses "
                                         << "it with r1 = a map value: " << on_map->reason;
            row.note += on_map->fd.ok() ? " [kernel with r1 = map value: accepts]"
                                        : " [kernel with r1 = map value: refuses: " + on_map->reason + "]";
          }
        }
      }
      rows_[Class::BpfqOnly].push_back(row);
      return;
    }
    if (!v.ok && kernel_ok) {
      auto it = kernel_only_.find(name);
      if (it == kernel_only_.end()) {
        row.note = "(unexplained)";
      } else {
        seen_.insert(name);
        row.note = it->second.why;
        EXPECT_NE(v.error.message.find(it->second.message), std::string::npos)
            << name << ": bpfq now refuses it for another reason: " << v.error.message << " (explained: \""
            << it->second.message << "\")";
      }
      if (it == kernel_only_.end() || it->second.kind == Why::Privileged) {
        const std::optional<KernelLoad> unpriv = kernel_load_without_perfmon(kernel_program(insns, n, false));
        if (!unpriv) {
          row.note += " [kernel without CAP_PERFMON: not tried, capset failed]";
        } else {
          row.note += unpriv->fd.ok() ? " [kernel without CAP_PERFMON: accepts]"
                                      : " [kernel without CAP_PERFMON: refuses: " + unpriv->reason + "]";
          if (it != kernel_only_.end()) {
            EXPECT_FALSE(unpriv->fd.ok()) << name << ": explained as a privileged-only relaxation, but the kernel "
                                          << "accepts it without CAP_PERFMON too";
          }
        }
      }
      rows_[Class::KernelOnly].push_back(row);
      return;
    }
    if (!v.ok) {
      rows_[Class::BothRefuse].push_back(row);
      return;
    }
    rows_[Class::BothAccept].push_back(row);

    // Both accept: the kernel runs it; its r0 must lie in bpfq's range (and be the expected one).
    std::string why;
    const std::optional<uint32_t> low = kernel_run(k.fd.get(), mem, &why);
    if (!low) {
      ADD_FAILURE() << name << ": accepted by the kernel, but " << why;
      return;
    }
    KernelLoad high_prog = kernel_load(kernel_program(insns, n, true));
    std::optional<uint32_t> high;
    if (high_prog.fd.ok()) high = kernel_run(high_prog.fd.get(), mem, &why);
    if (!high) {
      ++r0_high_unavailable_;
      std::printf("  %s: r0's high half unavailable (%s); low 32 bits only\n", name.c_str(),
                  high_prog.fd.ok() ? why.c_str() : high_prog.reason.c_str());
      if (expected) {
        EXPECT_EQ(*low, static_cast<uint32_t>(*expected)) << name << ": kernel r0 (low 32 bits)";
      }
      return;
    }
    const uint64_t r0 = (uint64_t{*high} << 32) | *low;
    ++r0_checked_;
    EXPECT_TRUE(r0_in_range(v, r0)) << name << ": the kernel's r0 0x" << std::hex << r0 << std::dec
                                    << " is outside bpfq's verified range " << range_text(v);
    if (expected) {
      ++r0_expected_checked_;
      EXPECT_EQ(r0, *expected) << name << ": the kernel's r0 differs from the expected result";
    }
  }

  void not_compared(const std::string& name, const std::string& why) { rows_[Class::NotCompared].push_back({name, "", "", why}); }

  int agreements() const { return count(Class::BothAccept) + count(Class::BothRefuse); }
  int count(Class c) const {
    auto it = rows_.find(c);
    return it == rows_.end() ? 0 : static_cast<int>(it->second.size());
  }

  // The table: counts per class, then every disagreement (and every refusal) with both messages.
  void print(const char* title) const {
    for (const auto& [name, e] : bpfq_only_)
      if (!seen_.count(name)) std::printf("note: allow-list entry %s is no longer a disagreement\n", name.c_str());
    for (const auto& [name, e] : kernel_only_)
      if (!seen_.count(name)) std::printf("note: kernel-only entry %s is no longer a disagreement\n", name.c_str());
    int total = 0;
    for (const auto& [cls, list] : rows_) total += static_cast<int>(list.size());
    std::printf("\n%s: bpfq vs the kernel's verifier on %d programs (XDP + prologue, privileged)\n", title, total);
    for (Class cls : {Class::BothAccept, Class::BothRefuse, Class::BpfqOnly, Class::KernelOnly, Class::NotCompared})
      std::printf("  %-36s %4d\n", class_name(cls), count(cls));
    std::printf("  agreements %d; kernel r0 inside bpfq's range checked: %d (and equal to the expected: %d); "
                "high half unavailable: %d\n",
                agreements(), r0_checked_, r0_expected_checked_, r0_high_unavailable_);
    for (Class cls : {Class::BpfqOnly, Class::KernelOnly, Class::NotCompared, Class::BothRefuse}) {
      auto it = rows_.find(cls);
      if (it == rows_.end()) continue;
      std::printf("\n  %s:\n", class_name(cls));
      for (const Row& r : it->second) {
        std::printf("    %s\n", r.name.c_str());
        if (!r.kernel.empty()) std::printf("        kernel: %s\n", r.kernel.c_str());
        if (!r.bpfq.empty()) std::printf("        bpfq:   %s\n", r.bpfq.c_str());
        if (!r.note.empty()) std::printf("        why:    %s\n", r.note.c_str());
      }
    }
    std::fflush(stdout);
    ::testing::Test::RecordProperty("agreements", agreements());
    ::testing::Test::RecordProperty("bpfq_only", count(Class::BpfqOnly));
    ::testing::Test::RecordProperty("kernel_only", count(Class::KernelOnly));
  }

 private:
  const std::map<std::string, Explained>& bpfq_only_;
  const std::map<std::string, Explained>& kernel_only_;
  std::map<Class, std::vector<Row>> rows_;
  std::set<std::string> seen_;
  int r0_checked_ = 0, r0_expected_checked_ = 0, r0_high_unavailable_ = 0;
};

// ------------------------------------------------------------------ the tests

TEST(VerifierKernelAgreement, ConformanceProgramsAgreeWithTheKernelsVerifier) {
  if (!std::filesystem::is_directory(kCorpus))
    GTEST_SKIP() << "bpf_conformance corpus not found at " << kCorpus
                 << ": it lives in ../shared beside the project (shared/conformance/bpf_conformance)";
  if (const std::optional<std::string> why = kernel_unavailable()) GTEST_SKIP() << "kernel verifier unavailable: " << *why;

  Agreement a(explained_bpfq_only(), explained_kernel_only());
  for (const auto& path : test::conformance_files(kCorpus)) {
    const test::ConformanceCase c = test::parse_conformance_file(path);
    if (const std::optional<std::vector<Insn>> insns = conformance_program(c))
      a.compare(c.name, *insns, c.mem, c.result);
    else
      a.not_compared(c.name, "bpfq's assembler cannot read it");
  }
  a.print("bpf_conformance");
  EXPECT_GE(a.agreements(), kMinAgreements);
}

// Small programs at the edges of safety (out-of-bounds, uninitialised, loops, pointer rules,
// encoding), where the conformance suite, whose programs are nearly all safe, says little.
struct EdgeCase {
  const char* name;
  uint32_t mem_size;
  const char* asm_text;
  // bpfq's budget for this case (0: the default, 250k). Lowered only where both refuse as too
  // complex anyway, to keep the test fast under ASan.
  uint64_t insn_limit = 0;
};

// Written for this test; mem is filled with i * 37 + 5.
const std::vector<EdgeCase>& edge_cases() {
  static const std::vector<EdgeCase> cases = {
      // Memory bounds (r1 = mem_size bytes).
      {"read_in_bounds", 8, "ldxdw %r0, [%r1+0]\nexit\n"},
      {"read_last_byte", 8, "ldxb %r0, [%r1+7]\nexit\n"},
      {"read_past_end", 8, "ldxw %r0, [%r1+6]\nexit\n"},
      {"read_before_start", 8, "ldxb %r0, [%r1-1]\nexit\n"},
      {"write_past_end", 8, "stb [%r1+8], 1\nmov %r0, 0\nexit\n"},
      {"write_in_bounds", 8, "stw [%r1+4], 7\nldxw %r0, [%r1+4]\nexit\n"},
      {"read_empty_memory", 0, "ldxb %r0, [%r1+0]\nexit\n"},
      {"read_misaligned", 8, "ldxw %r0, [%r1+1]\nexit\n"},
      {"var_offset_masked", 8, "ldxb %r3, [%r1+0]\nand %r3, 7\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\n"},
      {"var_offset_mask_too_wide", 8, "ldxb %r3, [%r1+0]\nand %r3, 15\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\n"},
      {"var_offset_unbounded", 8, "ldxb %r3, [%r1+0]\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\n"},
      {"var_offset_checked", 8,
       "ldxb %r3, [%r1+0]\njge %r3, 8, out\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit\n"},
      {"var_offset_off_by_one", 8,
       "ldxb %r3, [%r1+0]\njgt %r3, 8, out\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit\n"},
      {"var_offset_checked_against_r2", 8,
       "ldxb %r3, [%r1+0]\njge %r3, %r2, out\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit\n"},
      {"var_offset_negative", 8,
       "ldxb %r3, [%r1+0]\nlsh %r3, 56\narsh %r3, 56\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit\n"},
      {"var_offset_signed_check", 8,
       "ldxb %r3, [%r1+0]\nlsh %r3, 56\narsh %r3, 56\njsgt %r3, 7, out\njslt %r3, 0, out\nadd %r1, %r3\n"
       "ldxb %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit\n"},
      {"pointer_minus_pointer", 8, "mov %r0, %r1\nadd %r0, 5\nsub %r0, %r1\nexit\n"},
      // Uninitialised registers and stack.
      {"uninit_register", 0, "mov %r0, %r5\nexit\n"},
      {"uninit_r0_at_exit", 0, "exit\n"},
      {"uninit_r0_on_one_path", 8, "ldxb %r3, [%r1+0]\njeq %r3, 0, out\nmov %r0, 1\nout:\nexit\n"},
      {"uninit_stack_read", 0, "ldxdw %r0, [%r10-8]\nexit\n"},
      {"partly_init_stack_read", 0, "stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit\n"},
      {"stack_init_then_read", 0, "stdw [%r10-8], 3\nldxdw %r0, [%r10-8]\nexit\n"},
      // Stack bounds and the frame pointer.
      {"stack_below_512", 0, "stdw [%r10-520], 1\nmov %r0, 0\nexit\n"},
      {"stack_at_512", 0, "stdw [%r10-512], 1\nldxdw %r0, [%r10-512]\nexit\n"},
      {"stack_above_frame", 0, "stdw [%r10+0], 1\nmov %r0, 0\nexit\n"},
      {"stack_misaligned", 0, "stdw [%r10-8], 1\nstdw [%r10-16], 1\nldxw %r0, [%r10-10]\nexit\n"},
      {"write_frame_pointer", 0, "mov %r10, 0\nmov %r0, 0\nexit\n"},
      {"stack_var_offset", 0,
       "stdw [%r10-16], 1\nstdw [%r10-8], 2\nmov %r3, %r2\nand %r3, 8\nmov %r4, %r10\nadd %r4, %r3\n"
       "ldxdw %r0, [%r4-16]\nexit\n"},
      // Pointers: spills, fills, leaks, arithmetic.
      {"spill_fill_pointer", 8, "stxdw [%r10-8], %r1\nldxdw %r3, [%r10-8]\nldxb %r0, [%r3+0]\nexit\n"},
      {"partial_fill_of_pointer", 8, "stxdw [%r10-8], %r1\nldxw %r0, [%r10-8]\nexit\n"},
      {"pointer_spill_overwritten", 8,
       "stxdw [%r10-8], %r1\nstb [%r10-8], 0\nldxdw %r3, [%r10-8]\nldxb %r0, [%r3+0]\nexit\n"},
      {"return_pointer", 8, "mov %r0, %r1\nexit\n"},
      {"store_pointer_in_memory", 8, "stxdw [%r1+0], %r1\nmov %r0, 0\nexit\n"},
      {"pointer_arith_32bit", 8, "add32 %r1, 1\nmov %r0, 0\nexit\n"},
      {"pointer_bitwise", 8, "and %r1, -8\nmov %r0, 0\nexit\n"},
      {"pointer_multiply", 8, "mul %r1, 2\nmov %r0, 0\nexit\n"},
      {"pointer_compare_scalar", 8, "mov %r0, 0\njeq %r1, 0, out\nmov %r0, 1\nout:\nexit\n"},
      {"deref_scalar", 0, "mov %r3, 4096\nldxb %r0, [%r3+0]\nexit\n"},
      {"deref_r2_size", 8, "ldxb %r0, [%r2+0]\nexit\n"},
      // Atomics.
      {"atomic_on_stack", 0, "stdw [%r10-8], 1\nmov %r3, 2\nlock add [%r10-8], %r3\nldxdw %r0, [%r10-8]\nexit\n"},
      {"atomic_on_memory", 8, "mov %r3, 2\nlock add [%r1+0], %r3\nmov %r0, 0\nexit\n"},
      {"atomic_fetch_on_memory", 8, "mov %r0, 2\nlock fetch add [%r1+0], %r0\nexit\n"},
      {"atomic_uninit_stack", 0, "mov %r3, 2\nlock add [%r10-8], %r3\nmov %r0, 0\nexit\n"},
      {"atomic_misaligned_stack", 0, "stdw [%r10-16], 1\nstdw [%r10-8], 1\nmov %r3, 2\nlock add [%r10-12], %r3\nmov %r0, 0\nexit\n"},
      // Arithmetic.
      {"div_by_zero_imm", 0, "mov %r0, 1\ndiv %r0, 0\nexit\n"},
      {"div_by_zero_reg", 0, "mov %r0, 1\nmov %r3, 0\ndiv %r0, %r3\nexit\n"},
      {"mod_by_zero_reg", 0, "mov %r0, 7\nmov %r3, 0\nmod32 %r0, %r3\nexit\n"},
      {"shift_by_register_64", 8, "ldxb %r3, [%r1+0]\nmov %r0, 1\nlsh %r0, %r3\nexit\n"},
      // Loops and termination.
      {"bounded_loop", 0, "mov %r0, 0\nmov %r3, 0\nloop:\nadd %r0, %r3\nadd %r3, 1\njlt %r3, 100, loop\nexit\n"},
      {"bounded_loop_on_memory", 8,
       "mov %r0, 0\nldxb %r3, [%r1+0]\nand %r3, 63\nloop:\nadd %r0, 1\nsub %r3, 1\njsgt %r3, 0, loop\nexit\n"},
      {"infinite_self_jump", 0, "mov %r0, 0\nloop:\nja loop\n"},
      {"infinite_loop_no_progress", 0, "mov %r0, 0\nloop:\nadd %r0, 0\njeq %r0, 0, loop\nexit\n"},
      {"loop_on_unbounded_value", 8, "ldxdw %r3, [%r1+0]\nmov %r0, 0\nloop:\nadd %r0, 1\nsub %r3, 1\njne %r3, 0, loop\nexit\n", 20'000},
      // Control flow and encoding.
      {"jump_out_of_range", 0, "mov %r0, 0\nja +5\nexit\n"},
      {"jump_backwards_out", 0, "mov %r0, 0\nja -20\nexit\n"},
      {"fall_off_the_end", 0, "mov %r0, 0\n"},
      {"unreachable_code", 0, "mov %r0, 0\nexit\nmov %r0, 1\nexit\n"},
      {"jump_into_lddw", 0, "mov %r0, 0\nja +1\nlddw %r0, 0x100000001\nexit\n"},
      {"lddw_second_slot_fields", 0, ".insn 0x0000000100000018\n.insn 0x0000000200000100\nexit\n"},
      {"mov_reserved_src", 0, ".insn 0x00000001000010b7\nexit\n"},
      {"unknown_opcode", 0, ".insn 0x00000000000000ff\nmov %r0, 0\nexit\n"},
      {"register_11", 0, ".insn 0x0000000000000bb7\nmov %r0, 0\nexit\n"},
      {"gotol_forward_then_back", 0, "mov %r0, 0\n.insn 0x0000000200000006\nmov %r0, 1\nexit\njeq %r0, 0, -3\nexit\n"},
      {"gotol_out_of_range", 0, "mov %r0, 0\n.insn 0x0001000000000006\nexit\n"},
      // Local calls.
      {"call_local", 8, "mov %r6, %r1\ncall local f\nldxb %r3, [%r6+0]\nadd %r0, %r3\nexit\nf:\nmov %r0, 3\nexit\n"},
      {"call_local_with_pointer_arg", 8, "call local f\nexit\nf:\nldxb %r0, [%r1+1]\nexit\n"},
      {"call_clobbers_r1", 8, "call local f\nldxb %r0, [%r1+0]\nexit\nf:\nmov %r0, 0\nexit\n"},
      {"call_reads_caller_stack", 0,
       "stdw [%r10-8], 5\nmov %r1, %r10\nadd %r1, -8\ncall local f\nexit\nf:\nldxdw %r0, [%r1+0]\nexit\n"},
      {"call_recursion", 0, "call local f\nexit\nf:\ncall local f\nmov %r0, 0\nexit\n"},
      {"subprog_uninit_r0", 0, "call local f\nexit\nf:\nexit\n"},
  };
  return cases;
}

TEST(VerifierKernelAgreement, EdgeCasesAgreeWithTheKernelsVerifier) {
  if (const std::optional<std::string> why = kernel_unavailable()) GTEST_SKIP() << "kernel verifier unavailable: " << *why;
  Agreement a(explained_edge_bpfq_only(), explained_edge_kernel_only());
  for (const EdgeCase& c : edge_cases()) {
    std::vector<Insn> insns;
    try {
      insns = e::assemble(c.asm_text);
    } catch (const Error& err) {
      ADD_FAILURE() << c.name << ": does not assemble: " << err.what();
      continue;
    }
    std::vector<uint8_t> mem(c.mem_size);
    for (size_t i = 0; i < mem.size(); ++i) mem[i] = static_cast<uint8_t>(i * 37 + 5);
    a.compare(c.name, insns, mem, std::nullopt, c.insn_limit ? c.insn_limit : verifier::VerifyOptions{}.insn_limit);
  }
  a.print("edge cases");
  EXPECT_GE(a.agreements(), kMinEdgeAgreements);
}

}  // namespace
}  // namespace bpfq
