// Verification time: bpfq's verifier on every library program, and on programs the running
// kernel's verifier can load too, with the kernel's own verification time as the anchor
// (measured in the same run; the aim is "no slower").
//
//  Bpfq/lib/<object>/<section>   every program of progs/*.bpf.o with a program type (the 13
//                                disciplines' qdisc/* and tc programs). The kernel cannot load
//                                these (their kfuncs do not exist in it): no anchor.
//  Bpfq/<program>                bpfq on a program both verifiers accept, verified as a raw
//  Kernel/<program>/manual_time  program (r1 = N bytes of memory, r2 = N); the kernel's
//                                BPF_PROG_TYPE_XDP load of the same instructions with
//                                log_level = BPF_LOG_STATS, timed by the "verification time N
//                                usec" it prints (its bpf_check(), without the syscall and JIT).
//
// The anchored programs: generated ones (straight bytecode from the assembler, no maps, no
// helpers; their inputs are the u32 fields at r1+12 and r1+16, which are xdp_md's
// ingress_ifindex and rx_queue_index for the kernel and buffer bytes for bpfq, whose buffer is
// then 24 bytes, sizeof(struct xdp_md)): bounded loops of N iterations, if/else chains, a loop
// with a branch inside, long straight-line code with stack traffic; and the bpf_conformance
// programs the kernel loads (from ../shared, if present), all of them in one benchmark (each is
// a few microseconds, below the kernel's microsecond clock) and the largest few one by one.
// Conformance programs need their memory in r1: the kernel's copy runs behind a 9-instruction
// XDP prologue that proves N bytes of packet (r1 = data, r2 = N), bpfq verifies the program alone.
//
// Kernel/ benchmarks run a fixed number of loads (about 0.3 s of wall time per repetition,
// syscall and JIT included), shown in their names; their time is the kernel's own.
//
// After the benchmarks: the RatioReporter's Bpfq/Kernel ratios (time), then a table with both
// verifiers' instruction and state counts. Without root (bpf() not permitted) the kernel anchor
// is skipped, with a message, and bpfq's benchmarks still run.
//
//   ninja -C build-hk bench_verify && build-hk/bench/verifier/bench_verify --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/insn.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

#include "../../tests/support/kernel_bpf.hpp"
#include "../support/ratio_reporter.hpp"

namespace {

namespace fs = std::filesystem;
namespace e = bpfq::ebpf;
namespace verifier = bpfq::verifier;
namespace loader = bpfq::loader;
using e::Insn;
using bpfq::test::errno_text;

static_assert(sizeof(Insn) == sizeof(bpf_insn), "bpfq::ebpf::Insn has struct bpf_insn's layout");

// ------------------------------------------------------------------ the kernel

struct KernelStats {
  bool ok = false;
  std::string error;        // when !ok
  double verify_us = 0;     // "verification time N usec"
  uint64_t insns = 0;       // "processed N insns"
  uint64_t states = 0;      // "total_states N"
  double load_wall_s = 0;   // the whole bpf_prog_load() call, for choosing iteration counts
};

uint64_t number_after(const std::string& log, const std::string& key) {
  const size_t at = log.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(log.c_str() + at + key.size(), nullptr, 10);
}

// The kernel's reason for refusing p: the last lines of a log_level 1 log (the failing path
// ends with the message), without the statistics.
std::string kernel_refusal(const std::vector<Insn>& p) {
  std::string log(4 << 20, '\0');
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_level = 1;
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bpfq_bench", "GPL", reinterpret_cast<const bpf_insn*>(p.data()),
                               p.size(), &opts);
  if (fd >= 0) close(fd);
  std::istringstream in(log.c_str());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && !line.starts_with("processed ") && !line.starts_with("verification time") &&
        !line.starts_with("stack depth"))
      lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > 2 ? lines.size() - 2 : 0; i < lines.size(); ++i) out += " | " + lines[i];
  return out;
}

// Loads p as XDP with log_level = BPF_LOG_STATS and reads the kernel's own statistics.
KernelStats kernel_verify(const std::vector<Insn>& p) {
  KernelStats k;
  static thread_local std::string log(64 * 1024, '\0');
  log[0] = '\0';
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_level = 4;  // BPF_LOG_STATS: only the statistics lines
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bpfq_bench", "GPL", reinterpret_cast<const bpf_insn*>(p.data()),
                               p.size(), &opts);
  const int err = errno;
  k.load_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string text(log.c_str());
  if (fd < 0) {
    k.error = errno_text(err) + kernel_refusal(p);
    return k;
  }
  close(fd);
  k.ok = text.find("verification time") != std::string::npos;
  if (!k.ok) k.error = "no \"verification time\" in the kernel's log";
  k.verify_us = static_cast<double>(number_after(text, "verification time "));
  k.insns = number_after(text, "processed ");
  k.states = number_after(text, "total_states ");
  return k;
}

// Why the kernel anchor is unavailable, or nullopt.
std::optional<std::string> kernel_unavailable() {
  const std::vector<Insn> trivial = {Insn::make(e::ALU64 | e::MOV | e::K, 0, 0, 0, 2), Insn::make(e::JMP | e::EXIT)};
  const KernelStats k = kernel_verify(trivial);
  if (!k.ok) return "the kernel does not load a trivial XDP program: " + k.error;
  return std::nullopt;
}

// ------------------------------------------------------------------ bpfq

verifier::VerifyResult verify_raw(const loader::ProgramSpec& spec, uint32_t ctx_size) {
  static const loader::ObjectSpec object;
  verifier::VerifyOptions opts;
  opts.ctx_size = ctx_size;
  return verifier::verify(spec, object, verifier::raw_memory_type(), opts);
}

loader::ProgramSpec raw_spec(const std::string& name, const std::vector<Insn>& insns) {
  loader::ProgramSpec spec;
  spec.name = name;
  spec.section = "raw";
  spec.insns = insns;
  spec.functions.push_back({name, 0, insns.size()});
  return spec;
}

// ------------------------------------------------------------------ generated programs

constexpr uint32_t kXdpMdSize = 24;  // the generated programs read r1+12 and r1+16

// for (i = 0; i < n; i++) r0 += i
std::string loop_program(int n) {
  return "mov %r0, 0\nmov %r2, 0\nloop:\nadd %r0, %r2\nadd %r2, 1\njlt %r2, " + std::to_string(n) +
         ", loop\nexit\n";
}

// k if/else diamonds, each on a fresh unknown input (a u32 loaded again before each test);
// precise = false: r0 is only returned, and both verifiers merge the paths where they meet;
// precise = true: r0 is compared at the end, so the kernel tracks every distinct sum (its
// precision tracking), k + 1 of them, while bpfq joins them into a range.
std::string ifelse_program(int k, bool precise) {
  std::string s = "mov %r0, 0\n";
  for (int i = 0; i < k; ++i) {
    const std::string n = std::to_string(i);
    s += "ldxw %r6, [%r1+" + std::string(i % 2 ? "16" : "12") + "]\n";
    s += "jset %r6, " + std::to_string(1u << (i % 31)) + ", else" + n + "\n";
    s += "add %r0, 1\nja join" + n + "\nelse" + n + ":\nadd %r0, 2\njoin" + n + ":\n";
  }
  if (precise) s += "jgt %r0, " + std::to_string(k * 3 / 2) + ", big\nmov %r0, 0\nexit\nbig:\nmov %r0, 1\n";
  return s + "exit\n";
}

// n iterations of a loop with an if/else on an unknown input inside.
std::string loop_branch_program(int n) {
  return "ldxw %r6, [%r1+12]\nmov %r0, 0\nmov %r2, 0\nloop:\njset %r6, 1, odd\nadd %r0, 1\nja next\nodd:\n"
         "add %r0, 3\nnext:\nadd %r2, 1\njlt %r2, " +
         std::to_string(n) + ", loop\nexit\n";
}

// k blocks of straight-line ALU and stack traffic on an unknown input.
std::string straight_program(int k) {
  std::string s = "ldxw %r6, [%r1+12]\nmov %r0, 0\n";
  for (int i = 0; i < k; ++i) {
    const std::string off = std::to_string(-8 * (i % 32 + 1));
    s += "add %r0, %r6\nxor %r0, " + std::to_string(i * 7 + 1) + "\nstxdw [%r10" + off + "], %r0\nldxdw %r3, [%r10" +
         off + "]\nrsh %r3, 1\nadd %r0, %r3\n";
  }
  return s + "exit\n";
}

// ------------------------------------------------------------------ conformance programs

// The bpf_conformance files' asm, raw and mem sections (the rest is not needed here).
struct ConformanceProgram {
  std::string name;
  std::vector<Insn> insns;
  std::vector<uint8_t> mem;
};

std::optional<ConformanceProgram> read_conformance(const fs::path& file) {
  std::ifstream in(file);
  std::string line, section, asm_text;
  ConformanceProgram c;
  c.name = file.stem().string();
  std::vector<uint64_t> raw;
  while (std::getline(in, line)) {
    if (line.starts_with("--")) {
      section = line.substr(2);
      section.erase(0, section.find_first_not_of(' '));
      section.erase(section.find_last_not_of(" \r") + 1);
      continue;
    }
    if (section == "asm") {
      asm_text += line + "\n";
    } else if (section == "raw" || section == "mem") {
      std::istringstream words(line.substr(0, line.find('#')));
      for (std::string w; words >> w;) {
        const uint64_t v = std::strtoull(w.c_str(), nullptr, section == "mem" ? 16 : 0);
        if (section == "raw")
          raw.push_back(v);
        else
          c.mem.push_back(static_cast<uint8_t>(v));
      }
    }
  }
  try {
    if (!raw.empty())
      for (uint64_t w : raw) c.insns.push_back(Insn::from_raw(w));
    else
      c.insns = e::assemble(asm_text);
  } catch (const bpfq::Error&) {
    return std::nullopt;
  }
  if (c.insns.empty()) return std::nullopt;
  return c;
}

// The XDP prologue that hands the kernel's copy r1 = N bytes of packet and r2 = N.
std::vector<Insn> with_prologue(const std::vector<Insn>& insns, uint32_t n) {
  const auto size = static_cast<int32_t>(n);
  std::vector<Insn> p = {
      Insn::make(e::LDX | e::MEM | e::W, 2, 1, 0, 0),        // r2 = xdp_md->data
      Insn::make(e::LDX | e::MEM | e::W, 3, 1, 4, 0),        // r3 = xdp_md->data_end
      Insn::make(e::ALU64 | e::MOV | e::X, 4, 2),            // r4 = r2
      Insn::make(e::ALU64 | e::ADD | e::K, 4, 0, 0, size),   // r4 += N
      Insn::make(e::JMP | e::JLE | e::X, 4, 3, 2, 0),        // if r4 <= r3 goto +2
      Insn::make(e::ALU64 | e::MOV | e::K, 0, 0, 0, 0),      // r0 = 0
      Insn::make(e::JMP | e::EXIT),                          // exit
      Insn::make(e::ALU64 | e::MOV | e::X, 1, 2),            // r1 = r2
      Insn::make(e::ALU64 | e::MOV | e::K, 2, 0, 0, size),   // r2 = N
  };
  p.insert(p.end(), insns.begin(), insns.end());
  return p;
}

bool calls_helpers(const std::vector<Insn>& insns) {
  for (const Insn& i : insns)
    if (e::insn_class(i.code) == e::JMP && e::alu_op(i.code) == e::CALL && i.src != e::CALL_LOCAL) return true;
  return false;
}

// ------------------------------------------------------------------ benchmarks

// One anchored comparison: the same programs for bpfq (raw, ctx_size bytes) and the kernel.
struct Anchored {
  std::string name;
  std::vector<loader::ProgramSpec> bpfq;     // verified one after the other per iteration
  std::vector<uint32_t> ctx_sizes;           // parallel to bpfq
  std::vector<std::vector<Insn>> kernel;     // loaded one after the other per iteration
  double kernel_wall_s = 0;                  // one iteration's wall time, measured at setup
};

void bm_bpfq_lib(benchmark::State& state, const loader::ObjectSpec* object, size_t index) {
  const loader::ProgramSpec& p = object->programs[index];
  const verifier::ProgramType* type = verifier::program_type_for_section(p.section);
  verifier::VerifyResult r;
  for (auto _ : state) {
    r = verifier::verify(p, *object, *type);
    benchmark::DoNotOptimize(r.ok);
  }
  state.counters["insns"] = static_cast<double>(r.insns_processed);
  state.counters["states"] = static_cast<double>(r.states_stored);
  state.counters["ok"] = r.ok;
  if (!r.ok) state.SetLabel("refused: " + r.error.message);
}

void bm_bpfq(benchmark::State& state, const Anchored* a) {
  uint64_t insns = 0, states = 0;
  bool ok = true;
  std::string error;
  for (auto _ : state) {
    insns = states = 0;
    for (size_t i = 0; i < a->bpfq.size(); ++i) {
      const verifier::VerifyResult r = verify_raw(a->bpfq[i], a->ctx_sizes[i]);
      insns += r.insns_processed;
      states += r.states_stored;
      if (!r.ok && ok) {
        ok = false;
        error = a->bpfq[i].name + ": " + r.error.message;
      }
    }
  }
  state.counters["insns"] = static_cast<double>(insns);
  state.counters["states"] = static_cast<double>(states);
  state.counters["programs"] = static_cast<double>(a->bpfq.size());
  if (!ok) state.SkipWithError(("bpfq refuses " + error).c_str());
}

void bm_kernel(benchmark::State& state, const Anchored* a) {
  uint64_t insns = 0, states = 0;
  for (auto _ : state) {
    double us = 0;
    insns = states = 0;
    for (const auto& p : a->kernel) {
      const KernelStats k = kernel_verify(p);
      if (!k.ok) {
        state.SkipWithError(("the kernel refuses it: " + k.error).c_str());
        return;
      }
      us += k.verify_us;
      insns += k.insns;
      states += k.states;
    }
    state.SetIterationTime(us * 1e-6);
  }
  state.counters["insns"] = static_cast<double>(insns);
  state.counters["states"] = static_cast<double>(states);
  state.counters["programs"] = static_cast<double>(a->kernel.size());
}

// Owned for the whole run (the benchmarks hold pointers).
std::vector<std::unique_ptr<loader::ObjectSpec>> g_objects;
std::vector<std::unique_ptr<Anchored>> g_anchored;
std::vector<std::pair<std::string, std::string>> g_pairs;

void register_library() {
  const fs::path dir = fs::path(BPFQ_BINARY_DIR) / "progs";
  std::vector<fs::path> paths;
  if (fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().string().ends_with(".bpf.o")) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) std::printf("no library programs in %s (build bpfq_progs)\n", dir.c_str());
  for (const fs::path& path : paths) {
    std::unique_ptr<loader::ObjectSpec> object;
    try {
      object = std::make_unique<loader::ObjectSpec>(loader::load_object(path.string()));
    } catch (const bpfq::Error& err) {
      std::printf("skipping %s: %s\n", path.c_str(), err.what());
      continue;
    }
    for (size_t i = 0; i < object->programs.size(); ++i) {
      const loader::ProgramSpec& p = object->programs[i];
      if (!verifier::program_type_for_section(p.section)) continue;
      const std::string name = "Bpfq/lib/" + path.stem().stem().string() + "/" + p.section;
      benchmark::RegisterBenchmark(name.c_str(), bm_bpfq_lib, object.get(), i)->Unit(benchmark::kMicrosecond);
    }
    g_objects.push_back(std::move(object));
  }
}

void add_anchored(std::unique_ptr<Anchored> a, bool kernel) {
  benchmark::RegisterBenchmark(("Bpfq/" + a->name).c_str(), bm_bpfq, a.get())->Unit(benchmark::kMicrosecond);
  if (kernel) {
    // Iterations by the load's wall time (syscall and JIT included), about 0.3 s per repetition:
    // the manual time (the kernel's verification time) would ask for far more loads.
    const auto iterations =
        static_cast<benchmark::IterationCount>(std::clamp(0.3 / std::max(a->kernel_wall_s, 1e-6), 3.0, 2000.0));
    benchmark::RegisterBenchmark(("Kernel/" + a->name).c_str(), bm_kernel, a.get())
        ->UseManualTime()
        ->Iterations(iterations)
        ->Unit(benchmark::kMicrosecond);
    // Google Benchmark's run name carries the fixed iteration count and the time kind.
    g_pairs.push_back(
        {"Bpfq/" + a->name, "Kernel/" + a->name + "/iterations:" + std::to_string(iterations) + "/manual_time"});
  }
  g_anchored.push_back(std::move(a));
}

// Checks that both verifiers accept every program of a, and measures one kernel iteration.
bool both_accept(Anchored& a, bool kernel) {
  for (size_t i = 0; i < a.bpfq.size(); ++i) {
    const verifier::VerifyResult r = verify_raw(a.bpfq[i], a.ctx_sizes[i]);
    if (!r.ok) {
      std::printf("skipping %s: bpfq refuses %s: %s\n", a.name.c_str(), a.bpfq[i].name.c_str(), r.error.message.c_str());
      return false;
    }
  }
  if (!kernel) return true;
  a.kernel_wall_s = 0;
  for (const auto& p : a.kernel) {
    const KernelStats k = kernel_verify(p);
    if (!k.ok) {
      std::printf("skipping %s: the kernel refuses it: %s\n", a.name.c_str(), k.error.c_str());
      return false;
    }
    a.kernel_wall_s += k.load_wall_s;
  }
  return true;
}

void register_generated(bool kernel) {
  struct Gen {
    std::string name;
    std::string text;
  };
  std::vector<Gen> gens;
  for (int n : {100, 1000, 10000, 30000}) gens.push_back({"loop/" + std::to_string(n), loop_program(n)});
  for (int k : {16, 128, 1024}) gens.push_back({"ifelse/" + std::to_string(k), ifelse_program(k, false)});
  for (int k : {16, 64, 256}) gens.push_back({"ifelse_precise/" + std::to_string(k), ifelse_program(k, true)});
  for (int n : {100, 1000, 5000}) gens.push_back({"loop_branch/" + std::to_string(n), loop_branch_program(n)});
  for (int k : {100, 1000, 5000}) gens.push_back({"straight/" + std::to_string(k * 6 + 3), straight_program(k)});
  for (const Gen& g : gens) {
    auto a = std::make_unique<Anchored>();
    a->name = g.name;
    const std::vector<Insn> insns = e::assemble(g.text);
    a->bpfq.push_back(raw_spec(g.name, insns));
    a->ctx_sizes.push_back(kXdpMdSize);
    a->kernel.push_back(insns);
    if (both_accept(*a, kernel)) add_anchored(std::move(a), kernel);
  }
}

void register_conformance(bool kernel) {
  const fs::path dir = fs::path(BPFQ_SHARED_DIR) / "conformance/bpf_conformance/tests";
  if (!fs::is_directory(dir)) {
    std::printf("bpf_conformance corpus not found at %s: conformance benchmarks skipped\n", dir.c_str());
    return;
  }
  if (!kernel) return;  // they are here for the anchor only
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".data") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  auto all = std::make_unique<Anchored>();
  all->name = "conformance/all";
  struct One {
    size_t insns;
    std::unique_ptr<Anchored> a;
  };
  std::vector<One> each;
  for (const fs::path& f : files) {
    std::optional<ConformanceProgram> c = read_conformance(f);
    if (!c || calls_helpers(c->insns)) continue;
    auto a = std::make_unique<Anchored>();
    a->name = "conformance/" + c->name;
    a->bpfq.push_back(raw_spec(c->name, c->insns));
    a->ctx_sizes.push_back(static_cast<uint32_t>(c->mem.size()));
    a->kernel.push_back(with_prologue(c->insns, static_cast<uint32_t>(c->mem.size())));
    // Only programs both accept (see tests/verifier/kernel_agreement_test.cpp for the others).
    if (!verify_raw(a->bpfq[0], a->ctx_sizes[0]).ok || !kernel_verify(a->kernel[0]).ok) continue;
    all->bpfq.push_back(a->bpfq[0]);
    all->ctx_sizes.push_back(a->ctx_sizes[0]);
    all->kernel.push_back(a->kernel[0]);
    each.push_back({c->insns.size(), std::move(a)});
  }
  if (all->bpfq.empty()) return;
  std::printf("conformance: %zu programs both verifiers accept\n", all->bpfq.size());
  if (both_accept(*all, kernel)) add_anchored(std::move(all), kernel);
  // The largest few on their own.
  std::stable_sort(each.begin(), each.end(), [](const One& x, const One& y) { return x.insns > y.insns; });
  for (size_t i = 0; i < each.size() && i < 4; ++i)
    if (both_accept(*each[i].a, kernel)) add_anchored(std::move(each[i].a), kernel);
}

// After the run: the ratios (RatioReporter), then the two verifiers' counts side by side.
class Reporter : public bpfq::bench::RatioReporter {
 public:
  explicit Reporter(std::vector<std::pair<std::string, std::string>> pairs) : RatioReporter(std::move(pairs)) {
    if (!isatty(STDOUT_FILENO)) output_options_ = OO_Tabular;  // no colour codes in files
  }
  void Finalize() override {
    RatioReporter::Finalize();
    if (g_pairs.empty()) return;
    std::printf("\n%-32s %12s %12s %9s %12s %12s %10s %10s\n", "program (medians)", "bpfq us", "kernel us",
                "ratio", "bpfq insns", "kernel insns", "bpfq st", "kernel st");
    for (const auto& [subject, baseline] : g_pairs) {
      const auto s = runs_.find(subject + "_median"), b = runs_.find(baseline + "_median");
      const auto s1 = s != runs_.end() ? s : runs_.find(subject);
      const auto b1 = b != runs_.end() ? b : runs_.find(baseline);
      if (s1 == runs_.end() || b1 == runs_.end()) continue;
      const std::string name = subject.substr(std::strlen("Bpfq/"));
      std::printf("%-32s %12.1f %12.1f %8.3fx %12.0f %12.0f %10.0f %10.0f\n", name.c_str(), s1->second.us,
                  b1->second.us, b1->second.us > 0 ? s1->second.us / b1->second.us : 0.0, s1->second.insns,
                  b1->second.insns, s1->second.states, b1->second.states);
    }
    std::printf("(kernel us: its own \"verification time\"; insns: instructions processed; st: states stored)\n");
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    RatioReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      Row row;
      row.us = r.GetAdjustedRealTime();  // in the benchmark's unit: microseconds
      auto get = [&](const char* key) {
        auto it = r.counters.find(key);
        return it == r.counters.end() ? 0.0 : it->second.value;
      };
      row.insns = get("insns");
      row.states = get("states");
      runs_[r.benchmark_name()] = row;
    }
  }

 private:
  struct Row {
    double us = 0, insns = 0, states = 0;
  };
  std::map<std::string, Row> runs_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::optional<std::string> why = kernel_unavailable();
  if (why) std::printf("kernel anchor skipped: %s\n", why->c_str());
  const bool kernel = !why;
  register_library();
  register_generated(kernel);
  register_conformance(kernel);
  Reporter reporter(g_pairs);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
