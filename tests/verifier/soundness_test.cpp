// Soundness of the static verifier against the checked interpreter, and robustness of the
// verifier on corrupt input. Run under ASan/UBSan in CI.
//
//  - VerifierSoundness.RandomProgramsThatVerifyRunWithoutFault: a generator of plausible raw
//    programs on a 64-byte buffer (ALU64/ALU32 with div/mod/shifts/movsx/bswap, stack and buffer
//    loads/stores at constant and variable offsets, spills of pointers and numbers, atomics,
//    pointer arithmetic, bound checks, forward branches, bounded loops, helper calls, local
//    calls and bpf_loop callbacks, some garbage). Every program the verifier accepts runs in
//    checked mode on several buffers without any fault, and its r0 lies in the range the
//    verifier computed. BPFQ_SOUNDNESS_PROGRAMS (default 20000: ~25 s in the Debug/ASan build;
//    100000 take ~150 s), BPFQ_SOUNDNESS_SEED, BPFQ_SOUNDNESS_VERBOSE=1,
//    BPFQ_SOUNDNESS_SHOW_REFUSED=<message substring> (or "calls") tune it.
//  - VerifierSoundness.ConformanceR0WithinTheVerifiersRange: every bpf_conformance program (in
//    ../shared, skipped without it) the verifier accepts has its expected result within the
//    verifier's r0 range, and runs checked without fault.
//  - VerifierFuzz.MutatedProgramsNeverCrashOrHang: mutated valid programs (generated, hand
//    written, conformance) and random instruction streams, verified as raw, qdisc/enqueue and tc
//    (or qdisc/dequeue) programs against an object with maps: no crash, no hang (a watchdog
//    aborts after 300 s, each call is bounded by its work). The raw ones accepted also run
//    checked, as above. BPFQ_FUZZ_MUTATIONS (default 20000).
//
// A program the verifier accepts that faults, returns outside the range or never ends is a
// verifier bug: the test minimises it and prints it. The bugs found so far have tests at the
// end, each named after what the verifier now does right.
#include <algorithm>
#include <array>
#include <bitset>
#include <chrono>
#include <condition_variable>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/ebpf/insn.hpp>
#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

#include "raw_verify.hpp"
#include "support/conformance_file.hpp"

namespace bpfq {
namespace {

namespace e = bpfq::ebpf;
using e::Insn;
using test::r0_in_range;
using test::range_text;
using test::verify_raw;

constexpr uint32_t kCtxSize = 64;

uint64_t env_count(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 0);
}

std::string disasm(const std::vector<Insn>& p) { return e::disassemble(p.data(), p.size()); }

// ------------------------------------------------------------------ running

// The stateful helpers' state, reset before each run so that the checked interpreter and the
// JIT see the same numbers.
thread_local std::mt19937 g_prandom;
thread_local uint64_t g_ktime;
void reset_helper_state() {
  g_prandom.seed(7);
  g_ktime = 0x7ffffffffff00000ull;
}
uint64_t helper_prandom(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return g_prandom(); }
uint64_t helper_ktime(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return g_ktime += 0x12345; }

// bpf_loop: calls the callback for i = 0.. until it returns 1; the number of calls made.
uint64_t helper_loop(uint64_t n, uint64_t fn, uint64_t ctx, uint64_t, uint64_t) {
  exec::RunContext* rc = exec::RunContext::current();
  if (!rc->is_callback(fn)) {
    rc->fail("bpf_loop: not a callback");
    return 0;
  }
  if (n > (1u << 23)) return static_cast<uint64_t>(-7);  // -E2BIG
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t r = rc->call(fn, i, ctx, 0, 0, 0);
    if (rc->failed()) return 0;
    if (r == 1) return i + 1;
  }
  return n;
}

const exec::HelperRegistry& helpers() {
  static const exec::HelperRegistry r = [] {
    exec::HelperRegistry h;
    h.add_helper(181, "bpf_loop", helper_loop);
    h.add_helper(5, "bpf_ktime_get_ns", helper_ktime);
    h.add_helper(7, "bpf_get_prandom_u32", helper_prandom);
    return h;
  }();
  return r;
}

using Buffer = std::array<uint8_t, kCtxSize>;

// A refusal's message with its numbers blanked, to count refusals by reason.
std::string reason_of(const std::string& message) {
  std::string out;
  for (size_t k = 0; k < message.size() && out.size() < 70; ++k) {
    const char c = message[k];
    if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += c;
    }
  }
  return out;
}

// What went wrong with a program the verifier accepted (empty: nothing).
struct Violation {
  std::string what;  // "fault: …" or "r0 … outside …" or "verified but refused at load: …"
  Buffer input{};
  bool at_load = false;  // Program::load refused it: fail-safe (often an invalid insn on a dead path)
  exec::Fault fault = exec::Fault::None;
};

// Runs a verified program checked on each input; the first violation found.
// A verified program on the JIT, without run-time checks, against the checked interpreter's
// result on the same input (r0, and the context memory after the run).
std::optional<Violation> check_jit_run(const std::vector<Insn>& insns, const exec::LinkEnv& env, const Buffer& in,
                                       uint64_t r0, const Buffer& mem_after) {
  if (!exec::jit_supported()) return std::nullopt;
  exec::ProgramOptions jopts;
  jopts.backend = exec::Backend::Jit;
  const exec::Program jit = exec::Program::load(insns, env, jopts);
  alignas(16) Buffer mem = in;
  reset_helper_state();
  const exec::RunResult r = jit.run(mem.data(), mem.size());
  if (!r.ok()) return Violation{"JIT: fault where the checked interpreter had none: " + r.message(), in, false, r.fault};
  if (r.r0 != r0 || mem != mem_after) {
    char buf[140];
    std::snprintf(buf, sizeof buf, "JIT: r0 = 0x%" PRIx64 " where the checked interpreter gave 0x%" PRIx64 "%s", r.r0, r0,
                  mem != mem_after ? ", and different memory" : "");
    return Violation{buf, in};
  }
  return std::nullopt;
}

std::optional<Violation> check_runs(const std::vector<Insn>& insns, const verifier::VerifyResult& v,
                                    const std::vector<Buffer>& inputs) {
  exec::LinkEnv env;
  env.helpers = &helpers();
  exec::ProgramOptions popts;
  popts.checked = true;
  std::optional<exec::Program> prog;
  try {
    prog.emplace(exec::Program::load(insns, env, popts));
  } catch (const Error& err) {
    return Violation{std::string("verified but refused at load: ") + err.what(), {}, true};
  }
  // Every path of a program that terminates reaches an exit: an empty r0 range means the
  // verifier explored none (it accepted a program that never ends).
  if (v.r0_smin > v.r0_smax)
    return Violation{"no path the verifier explored reaches exit (its r0 range is empty): the program never ends", {}, false,
                     exec::Fault::Budget};
  for (const Buffer& in : inputs) {
    alignas(16) Buffer mem = in;
    reset_helper_state();
    exec::RunResult r = prog->run(mem.data(), mem.size());
    if (r.fault == exec::Fault::Budget) {
      // bpf_loop may call its callback 2^23 times, past the default budget: a program that ends
      // ends within 2^28 instructions (each call of the generated callbacks is short).
      popts.insn_budget = uint64_t{1} << 28;
      const exec::Program patient = exec::Program::load(insns, env, popts);
      mem = in;
      reset_helper_state();
      r = patient.run(mem.data(), mem.size());
    }
    if (!r.ok()) return Violation{"fault: " + r.message(), in, false, r.fault};
    if (!r0_in_range(v, r.r0)) {
      char buf[100];
      std::snprintf(buf, sizeof buf, "r0 = %" PRId64 " (0x%" PRIx64 ") outside ", static_cast<int64_t>(r.r0), r.r0);
      return Violation{buf + range_text(v), in};
    }
    // What the verifier accepted runs unchecked as machine code: the same r0 and memory.
    if (const std::optional<Violation> jit = check_jit_run(insns, env, in, r.r0, mem)) return jit;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ minimising

bool is_jump(const Insn& i) {
  const uint8_t cls = e::insn_class(i.code);
  if (cls != e::JMP && cls != e::JMP32) return false;
  const uint8_t op = e::alu_op(i.code);
  return op != e::CALL && op != e::EXIT;
}
bool is_local_call(const Insn& i) {
  return i.code == (e::JMP | e::CALL) && i.src == e::CALL_LOCAL;
}

// The program with slots [at, at+n) replaced by `with`, every jump, local call and callback
// reference retargeted (a target inside the replaced slots goes to the start of `with`);
// nullopt if a jump offset no longer fits or nothing is left.
std::optional<std::vector<Insn>> splice(const std::vector<Insn>& p, size_t at, size_t n,
                                        const std::vector<Insn>& with = {}) {
  const auto A = static_cast<int64_t>(at), N = static_cast<int64_t>(n), M = static_cast<int64_t>(with.size());
  auto remap = [&](int64_t t) { return t >= A + N ? t - N + M : t > A ? A : t; };
  std::vector<Insn> out;
  for (size_t k = 0; k < p.size(); ++k) {
    if (k == at)
      for (const Insn& w : with) out.push_back(w);
    if (k >= at && k < at + n) continue;
    Insn i = p[k];
    const int64_t self = remap(static_cast<int64_t>(k));
    if (is_jump(i)) {
      const bool gotol = i.code == (e::JMP32 | e::JA);  // 32-bit offset in imm
      const int64_t t = static_cast<int64_t>(k) + 1 + (gotol ? i.imm : i.off);
      const int64_t off = remap(t) - self - 1;
      if (gotol) {
        i.imm = static_cast<int32_t>(off);
      } else {
        if (off < INT16_MIN || off > INT16_MAX) return std::nullopt;
        i.off = static_cast<int16_t>(off);
      }
    } else if (is_local_call(i) || (i.code == e::LDDW_OPCODE && i.src == e::PSEUDO_FUNC)) {
      const int64_t t = static_cast<int64_t>(k) + 1 + i.imm;
      i.imm = static_cast<int32_t>(remap(t) - self - 1);
    }
    out.push_back(i);
  }
  if (at >= p.size())
    for (const Insn& w : with) out.push_back(w);
  if (out.empty()) return std::nullopt;
  return out;
}

// Shortest program found (greedy removal to a fixpoint, then simplification of immediates)
// for which `still_bad` holds.
std::vector<Insn> minimise(std::vector<Insn> p, const std::function<bool(const std::vector<Insn>&)>& still_bad) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t k = 0; k < p.size();) {
      const size_t n = p[k].code == e::LDDW_OPCODE && k + 1 < p.size() ? 2 : 1;
      // Try chunks first (faster), then single instructions.
      bool removed = false;
      for (size_t chunk : {size_t{8}, size_t{4}, size_t{2}, n}) {
        if (chunk < n || k + chunk > p.size()) continue;
        if (auto q = splice(p, k, chunk); q && still_bad(*q)) {
          p = std::move(*q);
          changed = removed = true;
          break;
        }
      }
      if (!removed) k += n;
    }
    // Simpler immediates and offsets.
    for (size_t k = 0; k < p.size(); ++k) {
      if (p[k].code == e::LDDW_OPCODE || is_jump(p[k]) || is_local_call(p[k])) continue;
      for (int32_t imm : {0, 1, -1}) {
        if (p[k].imm == imm) break;
        std::vector<Insn> q = p;
        q[k].imm = imm;
        if (still_bad(q)) {
          p = std::move(q);
          changed = true;
          break;
        }
      }
    }
  }
  return p;
}

// ------------------------------------------------------------------ the generator

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t next() { return g_(); }
  // A value in [lo, hi]; lo when the range is empty.
  int range(int lo, int hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int>(g_() % (static_cast<uint64_t>(static_cast<int64_t>(hi) - lo) + 1));
  }
  bool chance(int percent) { return static_cast<int>(g_() % 100) < percent; }
  template <class T>
  T pick(std::initializer_list<T> xs) {
    return *(xs.begin() + g_() % xs.size());
  }

 private:
  std::mt19937_64 g_;
};

// What the generator believes a register holds (a bias, not a proof: branches blur it).
enum class Kind : uint8_t { Uninit, Scalar, Ctx, Stack, Mixed };

struct RegInfo {
  Kind kind = Kind::Uninit;
  int64_t off = 0;        // pointers: constant offset (Stack: from r10, negative)
  uint64_t var = 0;       // Ctx: the variable part of the offset lies in [0, var]
  bool bounded = false;   // Scalar: value in [0, hi]
  uint64_t hi = 0;
  friend bool operator==(const RegInfo&, const RegInfo&) = default;
};

struct GenState {
  std::array<RegInfo, 11> r;
  std::bitset<512> init;               // stack bytes written (index off + 512)
  std::array<RegInfo, 64> spill;       // 8-byte slot k (at r10 - 8(k+1)): a spilled pointer
  uint16_t reserved = 0;               // loop counters: not written by the body
  bool in_loop = false;                // no helper calls (they clobber r1-r5 for the next iteration)
  bool dead = false;                   // the block ended with exit
};

GenState merge(const GenState& a, const GenState& b) {
  if (a.dead) return b;
  if (b.dead) return a;
  GenState m = a;
  for (int k = 0; k < 11; ++k) {
    const RegInfo &x = a.r[k], &y = b.r[k];
    if (x == y) continue;
    if (x.kind == Kind::Scalar && y.kind == Kind::Scalar) {
      m.r[k] = {Kind::Scalar, 0, 0, x.bounded && y.bounded, std::max(x.hi, y.hi)};
    } else if (x.kind == Kind::Ctx && y.kind == Kind::Ctx) {
      const int64_t lo = std::min(x.off, y.off);
      const int64_t hi = std::max<int64_t>(x.off + static_cast<int64_t>(x.var), y.off + static_cast<int64_t>(y.var));
      m.r[k] = {Kind::Ctx, lo, static_cast<uint64_t>(hi - lo), false, 0};
    } else {
      m.r[k] = {Kind::Mixed};
    }
  }
  m.init = a.init & b.init;
  for (int k = 0; k < 64; ++k)
    if (!(a.spill[k] == b.spill[k])) m.spill[k] = {};
  return m;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::vector<Insn> program() {
    GenState st;
    st.r[1] = {Kind::Ctx};
    st.r[2] = {Kind::Scalar, 0, 0, true, kCtxSize};
    st.r[10] = {Kind::Stack};
    std::vector<Insn> out;
    calls_.clear();
    functions_ = rng_.chance(25);
    if (rng_.chance(70) || functions_) mov_reg(out, st, 6, 1);
    if (rng_.chance(50))
      for (int n = rng_.range(1, 3); n-- > 0;) stack_store(out, st);
    const int items = rng_.range(2, 24);
    block(out, st, 0, items);
    if (!st.dead) epilogue(out, st);
    // The functions main calls, after it: a sub-program and a bpf_loop callback.
    for (int f = 0; f < 2; ++f) {
      bool used = false;
      for (const auto& [at, fn] : calls_) used = used || fn == f;
      if (!used) continue;
      const size_t start = out.size();
      function(out, f == 1);
      for (const auto& [at, fn] : calls_)
        if (fn == f) out[at].imm = static_cast<int32_t>(start - at - 1);
    }
    if (rng_.chance(5)) garbage(out);
    return out;
  }

  Rng& rng() { return rng_; }

 private:
  // ---- functions: `call local` and bpf_loop callbacks (generated after main)
  // A function's body: the sub-program gets r1 = the buffer, r2 = a number, r3 = a pointer to
  // 8 initialised bytes of its caller's stack; the callback r1 = the index, r2 = the same.
  void function(std::vector<Insn>& out, bool callback) {
    GenState fs;
    fs.r[1] = callback ? RegInfo{Kind::Scalar, 0, 0, true, UINT32_MAX} : RegInfo{Kind::Ctx};
    fs.r[2] = callback ? RegInfo{Kind::Mixed} : RegInfo{Kind::Scalar};
    fs.r[3] = callback ? RegInfo{} : RegInfo{Kind::Mixed};
    fs.r[10] = {Kind::Stack};
    const int caller_stack = callback ? 2 : 3;
    switch (rng_.range(0, 3)) {
      case 0: break;
      case 1:  // read the caller's slot
        out.push_back(make(e::LDX | e::MEM | e::DW, 4, caller_stack, 0, 0));
        set_scalar(fs, 4);
        break;
      default:  // read-modify-write it
        out.push_back(make(e::LDX | e::MEM | e::DW, 4, caller_stack, 0, 0));
        out.push_back(make(e::ALU64 | e::ADD | e::X, 4, callback ? 1 : 2, 0, 0));
        out.push_back(make(rng_.chance(80) ? (e::STX | e::MEM | e::DW) : (e::STX | e::MEM | e::W), caller_stack, 4, 0, 0));
        set_scalar(fs, 4);
        break;
    }
    fs.reserved = static_cast<uint16_t>(1u << caller_stack);
    block(out, fs, 2, rng_.range(0, 6));
    if (fs.dead) return;
    if (callback) {  // 0: go on, 1: stop
      if (rng_.chance(60)) out.push_back(make(e::ALU64 | e::MOV | e::K, 0, 0, 0, rng_.range(0, rng_.chance(97) ? 1 : 2)));
      else {
        out.push_back(make(e::ALU64 | e::MOV | e::X, 0, 1, 0, 0));
        out.push_back(make(e::ALU64 | e::AND | e::K, 0, 0, 0, 1));
      }
      out.push_back(make(e::JMP | e::EXIT, 0, 0, 0, 0));
    } else {
      epilogue(out, fs);
    }
  }

  // main: call the sub-program (fn 0) or bpf_loop with the callback (fn 1).
  void call_function(std::vector<Insn>& out, GenState& st) {
    if (st.r[6].kind != Kind::Ctx || st.r[6].off != 0 || st.r[6].var != 0 || st.reserved & (1u << 6)) return alu(out, st);
    const bool loop = rng_.chance(45);
    const int slot = rng_.range(1, 4);
    out.push_back(make(e::ST | e::MEM | e::DW, 10, 0, static_cast<int16_t>(-8 * slot), imm()));
    for (int b = 0; b < 8; ++b) st.init[512 - 8 * slot + b] = true;
    st.spill[slot - 1] = {};
    if (loop) {
      if (rng_.chance(80)) out.push_back(make(e::ALU64 | e::MOV | e::K, 1, 0, 0, rng_.range(0, 6)));
      else out.push_back(make(e::LDX | e::MEM | e::B, 1, 6, ctx_off(st.r[6], 1), 0));  // up to 255 calls
      calls_.emplace_back(out.size(), 1);
      out.push_back(make(e::LDDW_OPCODE, 2, e::PSEUDO_FUNC, 0, 0));
      out.push_back(make(0, 0, 0, 0, 0));
      out.push_back(make(e::ALU64 | e::MOV | e::X, 3, 10, 0, 0));
      out.push_back(make(e::ALU64 | e::ADD | e::K, 3, 0, 0, -8 * slot));
      out.push_back(make(e::ALU64 | e::MOV | e::K, 4, 0, 0, 0));
      out.push_back(make(e::JMP | e::CALL, 0, 0, 0, 181));
    } else {
      out.push_back(make(e::ALU64 | e::MOV | e::X, 1, 6, 0, 0));
      out.push_back(make(e::ALU64 | e::MOV | e::X, 2, pick_scalar_src(st), 0, 0));
      out.push_back(make(e::ALU64 | e::MOV | e::X, 3, 10, 0, 0));
      out.push_back(make(e::ALU64 | e::ADD | e::K, 3, 0, 0, -8 * slot));
      calls_.emplace_back(out.size(), 0);
      out.push_back(make(e::JMP | e::CALL, 0, e::CALL_LOCAL, 0, 0));
    }
    for (int r = 1; r <= 5; ++r) st.r[r] = {};
    set_scalar(st, 0);
  }

  // ---- choice of registers
  bool writable(const GenState& st, int r) const { return r != 10 && !(st.reserved & (1u << r)); }

  int pick_dst(const GenState& st, bool prefer_scalar) {
    std::vector<int> c;
    for (int r : {0, 2, 3, 4, 5, 6, 7, 8, 9})
      if (writable(st, r) && (!prefer_scalar || st.r[r].kind == Kind::Scalar)) c.push_back(r);
    if (c.empty())
      for (int r : {0, 2, 3, 4, 5, 7, 8, 9})
        if (writable(st, r)) c.push_back(r);
    if (c.empty() || rng_.chance(2)) return 1;
    return c[rng_.next() % c.size()];
  }

  std::optional<int> pick_kind(const GenState& st, Kind k) {
    std::vector<int> c;
    for (int r = 0; r <= 10; ++r)
      if (st.r[r].kind == k) c.push_back(r);
    if (c.empty()) return std::nullopt;
    return c[rng_.next() % c.size()];
  }

  int pick_scalar_src(const GenState& st) {
    if (auto r = pick_kind(st, Kind::Scalar); r && !rng_.chance(1)) return *r;
    return rng_.chance(50) ? 2 : rng_.range(0, 10);
  }

  int32_t imm() {
    switch (rng_.range(0, 9)) {
      case 0: case 1: case 2: return rng_.range(-16, 64);
      case 3: return rng_.range(0, 255);
      case 4: return 1 << rng_.range(0, 30);
      case 5: return (1 << rng_.range(1, 16)) - 1;
      case 6: return rng_.pick<int32_t>({INT32_MIN, INT32_MAX, -1, 0, 0x7fff, -0x8000, 0xffff});
      case 7: return static_cast<int32_t>(rng_.next());
      default: return rng_.range(-600, 600);
    }
  }

  static Insn make(uint8_t code, int dst, int src, int16_t off, int32_t imm) {
    return Insn::make(code, static_cast<uint8_t>(dst), static_cast<uint8_t>(src), off, imm);
  }

  void set_scalar(GenState& st, int r, bool bounded = false, uint64_t hi = 0) {
    if (r <= 10) st.r[r] = {Kind::Scalar, 0, 0, bounded, hi};
  }

  // ---- instruction kinds
  void mov_reg(std::vector<Insn>& out, GenState& st, int dst, int src) {
    out.push_back(make(e::ALU64 | e::MOV | e::X, dst, src, 0, 0));
    st.r[dst] = st.r[src];
  }

  void alu(std::vector<Insn>& out, GenState& st) {
    const bool is64 = rng_.chance(65);
    const uint8_t cls = is64 ? e::ALU64 : e::ALU;
    const int width = is64 ? 64 : 32;
    static const std::pair<uint8_t, int> kOps[] = {
        {e::ADD, 14}, {e::SUB, 8}, {e::MUL, 6}, {e::DIV, 6}, {e::MOD, 6}, {e::OR, 6}, {e::AND, 10},
        {e::XOR, 6},  {e::LSH, 6}, {e::RSH, 7}, {e::ARSH, 5}, {e::NEG, 2}, {e::END, 3}, {e::MOV, 12},
        {0xff, 4} /* sdiv/smod */, {0xfe, 2} /* movsx */};
    int total = 0;
    for (auto& [op, w] : kOps) total += w;
    int roll = rng_.range(0, total - 1);
    uint8_t op = e::ADD;
    for (auto& [o, w] : kOps) {
      if (roll < w) {
        op = o;
        break;
      }
      roll -= w;
    }
    if (op == e::MOV) {
      const int dst = pick_dst(st, false);
      if (rng_.chance(55)) {
        const int32_t k = imm();
        out.push_back(make(cls | e::MOV | e::K, dst, 0, 0, k));
        const uint64_t v = is64 ? static_cast<uint64_t>(static_cast<int64_t>(k)) : static_cast<uint32_t>(k);
        set_scalar(st, dst, true, v);
      } else {
        const int src = pick_scalar_src(st);
        out.push_back(make(cls | e::MOV | e::X, dst, src, 0, 0));
        const RegInfo s = st.r[src];
        if (is64) st.r[dst] = s;
        else set_scalar(st, dst, s.kind == Kind::Scalar && s.bounded && s.hi <= UINT32_MAX, s.hi);
        if (!is64 && !(s.kind == Kind::Scalar && s.bounded && s.hi <= UINT32_MAX)) set_scalar(st, dst, true, UINT32_MAX);
      }
      return;
    }
    const int dst = pick_dst(st, true);
    if (st.r[dst].kind != Kind::Scalar && !rng_.chance(3)) {
      out.push_back(make(cls | e::MOV | e::K, dst, 0, 0, imm()));
      set_scalar(st, dst);
    }
    if (op == 0xfe) {  // movsx
      const int src = pick_scalar_src(st);
      const int16_t off = is64 ? rng_.pick<int16_t>({8, 16, 32}) : rng_.pick<int16_t>({8, 16});
      out.push_back(make(cls | e::MOV | e::X, dst, src, off, 0));
      set_scalar(st, dst);
      return;
    }
    if (op == e::NEG) {
      out.push_back(make(cls | e::NEG, dst, 0, 0, 0));
      set_scalar(st, dst);
      return;
    }
    if (op == e::END) {
      const int32_t w = rng_.pick<int32_t>({16, 32, 64});
      const uint8_t code = is64 ? (e::ALU64 | e::END) : (e::ALU | e::END | rng_.pick<uint8_t>({e::TO_LE, e::TO_BE}));
      out.push_back(make(code, dst, 0, 0, w));
      set_scalar(st, dst, w < 64, w == 16 ? 0xffff : 0xffffffffull);
      return;
    }
    int16_t off = 0;
    if (op == 0xff) {
      op = rng_.pick<uint8_t>({e::DIV, e::MOD});
      off = 1;
    }
    const bool x = rng_.chance(35);
    const RegInfo before = st.r[dst];
    if (x) {
      const int src = pick_scalar_src(st);
      out.push_back(make(cls | op | e::X, dst, src, off, 0));
      const RegInfo s = st.r[src];
      if (op == e::AND && s.kind == Kind::Scalar && s.bounded) set_scalar(st, dst, true, s.hi);
      else if (op == e::ADD && s.kind == Kind::Scalar && s.bounded && before.bounded && s.hi < (1ull << 40) &&
               before.hi < (1ull << 40))
        set_scalar(st, dst, true, s.hi + before.hi);
      else if (!is64) set_scalar(st, dst, true, UINT32_MAX);
      else set_scalar(st, dst);
      return;
    }
    int32_t k = imm();
    if (op == e::LSH || op == e::RSH || op == e::ARSH) k = rng_.chance(97) ? rng_.range(0, width - 1) : k;
    if ((op == e::DIV || op == e::MOD) && k == 0 && rng_.chance(95)) k = rng_.range(1, 100);
    if (op == e::AND && rng_.chance(60)) k = rng_.pick<int32_t>({1, 3, 7, 15, 31, 63, 0xff, 0x38, 0xfff0, -8});
    out.push_back(make(cls | op | e::K, dst, 0, off, k));
    const uint64_t uk = is64 ? static_cast<uint64_t>(static_cast<int64_t>(k)) : static_cast<uint32_t>(k);
    if (op == e::AND && k >= 0) set_scalar(st, dst, true, uk);
    else if (op == e::MOD && off == 0 && uk != 0) set_scalar(st, dst, true, uk - 1);
    else if (op == e::RSH && k > 0 && k < width) set_scalar(st, dst, true, (is64 ? ~0ull : 0xffffffffull) >> k);
    else if (op == e::DIV && off == 0 && before.bounded && uk != 0) set_scalar(st, dst, true, before.hi / uk);
    else if (!is64) set_scalar(st, dst, true, UINT32_MAX);
    else set_scalar(st, dst);
  }

  static int size_code(int bytes) { return bytes == 1 ? e::B : bytes == 2 ? e::H : bytes == 4 ? e::W : e::DW; }

  // A register pointing into the buffer (r1 or a copy); makes one sometimes.
  std::optional<int> ctx_base(const GenState& st) {
    auto b = pick_kind(st, Kind::Ctx);
    if (!b) {
      if (st.r[6].kind == Kind::Ctx) return 6;
      return std::nullopt;
    }
    return b;
  }

  // The insn offset for a `size` access through base: in the buffer 90% of the time.
  int16_t ctx_off(const RegInfo& base, int size) {
    const int64_t lo = -base.off, hi = static_cast<int64_t>(kCtxSize) - size - base.off - static_cast<int64_t>(base.var);
    if (lo <= hi && rng_.chance(92)) {
      int64_t o = lo + static_cast<int64_t>(rng_.next() % static_cast<uint64_t>(hi - lo + 1));
      if (rng_.chance(50)) o -= ((o + base.off) % size + size) % size;  // aligned in the buffer
      if (o < lo) o += size;
      return static_cast<int16_t>(o);
    }
    return static_cast<int16_t>(rng_.range(-16, 72));
  }

  void ctx_load(std::vector<Insn>& out, GenState& st) {
    auto b = ctx_base(st);
    if (!b) return alu(out, st);
    const int size = rng_.pick<int>({1, 2, 4, 8});
    const int16_t off = ctx_off(st.r[*b], size);
    const bool sx = size < 8 && rng_.chance(10);
    const int dst = pick_dst(st, false);
    out.push_back(make(e::LDX | (sx ? e::MEMSX : e::MEM) | size_code(size), dst, *b, off, 0));
    if (sx || size == 8) set_scalar(st, dst);
    else set_scalar(st, dst, true, (1ull << (8 * size)) - 1);
  }

  void ctx_store(std::vector<Insn>& out, GenState& st) {
    auto b = ctx_base(st);
    if (!b) return alu(out, st);
    const int size = rng_.pick<int>({1, 2, 4, 8});
    int16_t off = ctx_off(st.r[*b], size);
    if (rng_.chance(6)) {  // an atomic read-modify-write
      const int asz = rng_.pick<int>({4, 8});
      off = ctx_off(st.r[*b], asz);
      if (rng_.chance(90)) off -= static_cast<int16_t>(((off + st.r[*b].off) % asz + asz) % asz);
      atomic(out, st, *b, off, asz);
      return;
    }
    if (rng_.chance(40)) {
      out.push_back(make(e::ST | e::MEM | size_code(size), *b, 0, off, imm()));
    } else {
      const int src = rng_.chance(4) ? rng_.pick<int>({1, 10, 6}) : pick_scalar_src(st);
      out.push_back(make(e::STX | e::MEM | size_code(size), *b, src, off, 0));
    }
  }

  void atomic(std::vector<Insn>& out, GenState& st, int base, int16_t off, int size) {
    const int32_t op = rng_.pick<int32_t>({e::ATOMIC_ADD, e::ATOMIC_OR, e::ATOMIC_AND, e::ATOMIC_XOR,
                                           e::ATOMIC_ADD | e::ATOMIC_FETCH, e::ATOMIC_OR | e::ATOMIC_FETCH,
                                           e::ATOMIC_AND | e::ATOMIC_FETCH, e::ATOMIC_XOR | e::ATOMIC_FETCH,
                                           e::ATOMIC_XCHG, e::ATOMIC_CMPXCHG});
    int src = pick_scalar_src(st);
    if (src == 10 || !writable(st, src)) {
      src = pick_dst(st, true);
      out.push_back(make(e::ALU64 | e::MOV | e::K, src, 0, 0, imm()));
      set_scalar(st, src);
    }
    out.push_back(make(e::STX | e::ATOMIC | size_code(size), base, src, off, op));
    if (op == e::ATOMIC_CMPXCHG) set_scalar(st, 0, size == 4, UINT32_MAX);
    else if (op & e::ATOMIC_FETCH) set_scalar(st, src, size == 4, UINT32_MAX);
  }

  // A register pointing into the stack (r10 or a copy).
  int stack_base(const GenState& st) {
    if (rng_.chance(80)) return 10;
    std::vector<int> c;
    for (int r = 0; r <= 9; ++r)
      if (st.r[r].kind == Kind::Stack && st.r[r].var == 0) c.push_back(r);
    return c.empty() ? 10 : c[rng_.next() % c.size()];
  }

  int slot() { return rng_.chance(75) ? rng_.range(0, 5) : rng_.range(0, 63); }

  void stack_store(std::vector<Insn>& out, GenState& st) {
    const int base = stack_base(st);
    const int k = slot();
    int size = rng_.pick<int>({1, 2, 4, 8, 8});
    int inner = 0;
    if (rng_.chance(80)) inner = rng_.range(0, (8 - size) / size) * size;
    else if (rng_.chance(75)) inner = rng_.range(0, 8 - size);
    else inner = rng_.range(0, 7);
    const int64_t at = -8 * (k + 1) + inner;  // from r10
    const int16_t off = static_cast<int16_t>(at - st.r[base].off);
    RegInfo stored{};
    if (rng_.chance(8) && size == 8) {  // an atomic on an initialised slot
      if (st.init[at + 512]) {
        atomic(out, st, base, static_cast<int16_t>(-8 * (k + 1) - st.r[base].off), rng_.pick<int>({4, 8}));
        return;
      }
    }
    if (rng_.chance(35)) {
      out.push_back(make(e::ST | e::MEM | size_code(size), base, 0, off, imm()));
    } else {
      int src;
      std::vector<int> ptrs;
      for (int r = 0; r <= 10; ++r)
        if (st.r[r].kind == Kind::Ctx || (st.r[r].kind == Kind::Stack && st.r[r].var == 0)) ptrs.push_back(r);
      if (rng_.chance(15) && !ptrs.empty()) {
        src = ptrs[rng_.next() % ptrs.size()];
        size = 8;
        inner = 0;
        const int16_t aoff = static_cast<int16_t>(-8 * (k + 1) - st.r[base].off);
        out.push_back(make(e::STX | e::MEM | e::DW, base, src, aoff, 0));
        for (int b = 0; b < 8; ++b)
          if (-8 * (k + 1) + b + 512 >= 0) st.init[-8 * (k + 1) + b + 512] = true;
        st.spill[k] = (st.r[src].kind == Kind::Ctx || st.r[src].kind == Kind::Stack) ? st.r[src] : RegInfo{};
        return;
      }
      src = pick_scalar_src(st);
      out.push_back(make(e::STX | e::MEM | size_code(size), base, src, off, 0));
      if (size == 8 && inner == 0 && (st.r[src].kind == Kind::Ctx || st.r[src].kind == Kind::Stack)) stored = st.r[src];
    }
    for (int b = 0; b < size; ++b) {
      const int64_t idx = at + b + 512;
      if (idx >= 0 && idx < 512) st.init[idx] = true;
    }
    if (k < 64) st.spill[k] = stored;
  }

  // A stack pointer with a variable offset: p = r10 + lo; p += (s & mask); a store, load or
  // atomic through it (a load over bytes written just before, mostly).
  void stack_var_access(std::vector<Insn>& out, GenState& st) {
    const int p = pick_dst(st, false);
    if (p == 1) return alu(out, st);
    const int mask = rng_.pick<int>({1, 3, 7, 8, 15, 24});
    const int size = rng_.pick<int>({1, 2, 4, 8});
    int64_t lo = -8 * rng_.range(1, 12) - (rng_.chance(25) ? rng_.range(0, 7) : 0);
    if (lo + mask + size > 0 && rng_.chance(90)) lo = -(mask + size);
    // The index: a bounded scalar, or a fresh one.
    int s = -1;
    for (int r = 0; r <= 9; ++r)
      if (r != p && st.r[r].kind == Kind::Scalar && st.r[r].bounded && st.r[r].hi <= static_cast<uint64_t>(mask) &&
          rng_.chance(50))
        s = r;
    if (s < 0) {
      s = pick_dst(st, true);
      if (s == p || s == 1) return alu(out, st);
      if (st.r[s].kind != Kind::Scalar) {
        out.push_back(make(e::ALU64 | e::MOV | e::K, s, 0, 0, imm()));
        set_scalar(st, s);
      }
      out.push_back(make(e::ALU64 | e::AND | e::K, s, 0, 0, mask));
      set_scalar(st, s, true, static_cast<uint64_t>(mask));
    }
    int roll = rng_.range(0, 99);
    bool written = true;  // every byte the access may reach
    for (int64_t a = lo; a < lo + mask + size && a < 0; ++a) written = written && a >= -512 && st.init[a + 512];
    if (roll < 70 && !written && rng_.chance(85)) roll = rng_.range(0, 44);
    if (roll < 45) {  // initialise what the load may read
      for (int64_t a = lo & ~int64_t{7}; a < lo + mask + size && a < 0; a += 8) {
        out.push_back(make(e::ST | e::MEM | e::DW, 10, 0, static_cast<int16_t>(a), imm()));
        for (int b = 0; b < 8; ++b) st.init[static_cast<size_t>(a + b + 512)] = true;
        st.spill[static_cast<size_t>((-a - 1) / 8)] = {};
      }
    }
    mov_reg(out, st, p, 10);
    out.push_back(make(e::ALU64 | e::ADD | e::K, p, 0, 0, static_cast<int32_t>(lo)));
    out.push_back(make(e::ALU64 | e::ADD | e::X, p, s, 0, 0));
    st.r[p] = {Kind::Stack, lo, static_cast<uint64_t>(mask), false, 0};
    if (roll < 70) {
      const int dst = pick_dst(st, false);
      out.push_back(make(e::LDX | e::MEM | size_code(size), dst, p, 0, 0));
      set_scalar(st, dst, size < 8, size < 8 ? (1ull << (8 * size)) - 1 : 0);
    } else if (roll < 90) {
      if (rng_.chance(50)) out.push_back(make(e::ST | e::MEM | size_code(size), p, 0, 0, imm()));
      else out.push_back(make(e::STX | e::MEM | size_code(size), p, pick_scalar_src(st), 0, 0));
      for (int64_t a = lo; a < lo + mask + size && a < 0; ++a)
        if (a >= -512) st.spill[static_cast<size_t>((-a - 1) / 8)] = {};
    } else {
      atomic(out, st, p, 0, rng_.pick<int>({4, 8}));
    }
  }

  void stack_load(std::vector<Insn>& out, GenState& st) {
    // An initialised slot, mostly.
    std::vector<int> slots;
    for (int k = 0; k < 64; ++k)
      for (int b = 0; b < 8; ++b)
        if (st.init[512 - 8 * (k + 1) + b]) {
          slots.push_back(k);
          break;
        }
    if (slots.empty() && rng_.chance(90)) return stack_store(out, st);
    const int k = slots.empty() || rng_.chance(5) ? slot() : slots[rng_.next() % slots.size()];
    const int base = stack_base(st);
    const int dst = pick_dst(st, false);
    if (st.spill[k].kind != Kind::Uninit && rng_.chance(85)) {
      out.push_back(make(e::LDX | e::MEM | e::DW, dst, base, static_cast<int16_t>(-8 * (k + 1) - st.r[base].off), 0));
      st.r[dst] = st.spill[k];
      return;
    }
    // A run of initialised bytes in the slot.
    int size = rng_.pick<int>({1, 2, 4, 8});
    int inner = 0;
    bool ok = false;
    for (int tries = 0; tries < 8 && !ok; ++tries) {
      size = rng_.pick<int>({1, 2, 4, 8});
      inner = rng_.chance(70) ? rng_.range(0, (8 - size) / size) * size : rng_.range(0, 8 - size);
      ok = true;
      for (int b = 0; b < size; ++b) ok = ok && st.init[512 - 8 * (k + 1) + inner + b];
    }
    if (!ok && rng_.chance(90))  // one byte that was written
      for (int b = 0; b < 8; ++b)
        if (st.init[512 - 8 * (k + 1) + b]) {
          size = 1;
          inner = b;
          break;
        }
    const bool sx = size < 8 && rng_.chance(10);
    out.push_back(make(e::LDX | (sx ? e::MEMSX : e::MEM) | size_code(size), dst, base,
                       static_cast<int16_t>(-8 * (k + 1) + inner - st.r[base].off), 0));
    if (sx || size == 8) set_scalar(st, dst);
    else set_scalar(st, dst, true, (1ull << (8 * size)) - 1);
  }

  void pointer_move(std::vector<Insn>& out, GenState& st) {
    const int dst = pick_dst(st, false);
    if (dst == 1) return alu(out, st);
    std::vector<int> ptrs;
    for (int r = 0; r <= 10; ++r)
      if (st.r[r].kind == Kind::Ctx || st.r[r].kind == Kind::Stack) ptrs.push_back(r);
    const int src = ptrs.empty() ? 10 : ptrs[rng_.next() % ptrs.size()];
    mov_reg(out, st, dst, src);
  }

  void pointer_add_const(std::vector<Insn>& out, GenState& st) {
    std::vector<int> ptrs;
    for (int r = 0; r <= 9; ++r)
      if ((st.r[r].kind == Kind::Ctx || st.r[r].kind == Kind::Stack) && writable(st, r) && r != 1) ptrs.push_back(r);
    if (ptrs.empty()) return pointer_move(out, st);
    const int p = ptrs[rng_.next() % ptrs.size()];
    RegInfo& info = st.r[p];
    int32_t k;
    if (info.kind == Kind::Ctx)
      k = rng_.chance(90) ? rng_.range(static_cast<int>(-info.off), static_cast<int>(kCtxSize - info.off - info.var))
                          : rng_.range(-80, 80);
    else
      k = rng_.chance(85) ? -8 * rng_.range(0, 6) : rng_.range(-520, 16);
    if (info.kind == Kind::Stack && info.off + k > 0 && rng_.chance(90)) k = static_cast<int32_t>(-info.off);
    const bool sub = rng_.chance(25);
    out.push_back(make(e::ALU64 | (sub ? e::SUB : e::ADD) | e::K, p, 0, 0, sub ? -k : k));
    info.off += k;
  }

  // An index computed by a chain of ALU operations on a value read from the buffer, then a
  // buffer access through it: whether the chain is bounded well enough is for
  // the verifier to decide; when it says so, checked mode tells whether it was right.
  void index_chain(std::vector<Insn>& out, GenState& st) {
    auto b = ctx_base(st);
    if (!b) return alu(out, st);
    const int s = pick_dst(st, false);
    if (s == 1 || s == *b) return alu(out, st);
    const int size = rng_.pick<int>({1, 1, 2, 4, 8});
    const bool sx = size < 8 && rng_.chance(15);
    out.push_back(make(e::LDX | (sx ? e::MEMSX : e::MEM) | size_code(size), s, *b, ctx_off(st.r[*b], size), 0));
    set_scalar(st, s);
    const int steps = rng_.range(1, 4);
    for (int k = 0; k < steps; ++k) {
      const bool is64 = rng_.chance(60);
      const uint8_t cls = is64 ? e::ALU64 : e::ALU;
      const int width = is64 ? 64 : 32;
      const uint8_t op = rng_.pick<uint8_t>({e::AND, e::AND, e::AND, e::OR, e::XOR, e::RSH, e::RSH, e::LSH, e::ARSH,
                                             e::MOD, e::DIV, e::MUL, e::ADD, e::SUB, e::NEG, e::END, e::MOV});
      switch (op) {
        case e::NEG: out.push_back(make(cls | e::NEG, s, 0, 0, 0)); break;
        case e::END:
          out.push_back(make(is64 ? (e::ALU64 | e::END) : (e::ALU | e::END | rng_.pick<uint8_t>({e::TO_LE, e::TO_BE})), s, 0,
                             0, rng_.pick<int32_t>({16, 32, 64})));
          break;
        case e::MOV:  // movsx, or a 32-bit copy of itself
          if (rng_.chance(50)) out.push_back(make(cls | e::MOV | e::X, s, s, is64 ? rng_.pick<int16_t>({8, 16, 32}) : rng_.pick<int16_t>({8, 16}), 0));
          else out.push_back(make(e::ALU | e::MOV | e::X, s, s, 0, 0));
          break;
        case e::LSH: case e::RSH: case e::ARSH:
          if (rng_.chance(80)) out.push_back(make(cls | op | e::K, s, 0, 0, rng_.range(0, width - 1)));
          else {  // by a bounded register amount
            const int t = pick_dst(st, true);
            if (t == s || t == 1) break;
            out.push_back(make(e::LDX | e::MEM | e::B, t, *b, ctx_off(st.r[*b], 1), 0));
            out.push_back(make(e::ALU64 | e::AND | e::K, t, 0, 0, width - 1));
            set_scalar(st, t, true, static_cast<uint64_t>(width - 1));
            out.push_back(make(cls | op | e::X, s, t, 0, 0));
          }
          break;
        case e::MOD: case e::DIV: {
          const int16_t signed_op = rng_.chance(20) ? 1 : 0;
          if (rng_.chance(75)) {
            out.push_back(make(cls | op | e::K, s, 0, signed_op, rng_.pick<int32_t>({1, 2, 3, 7, 8, 48, 63, 64, -1, -8, 100})));
          } else {
            const int t = pick_dst(st, true);
            if (t == s || t == 1) break;
            out.push_back(make(e::LDX | e::MEM | e::B, t, *b, ctx_off(st.r[*b], 1), 0));
            set_scalar(st, t, true, 255);
            out.push_back(make(cls | op | e::X, s, t, signed_op, 0));
          }
          break;
        }
        default:
          out.push_back(make(cls | op | e::K, s, 0, 0,
                             rng_.pick<int32_t>({1, 3, 7, 15, 31, 48, 63, 64, -1, -64, 0x3f0, 0x7fffffff, INT32_MIN})));
      }
    }
    // A copy made before the check (linked: a bound learnt on one holds for the other), then
    // the check on one of them and the access through one of them.
    int checked = s, used = s;
    if (rng_.chance(30)) {
      const int t = pick_dst(st, true);
      if (t != s && t != 1 && t != *b) {
        out.push_back(make((rng_.chance(30) ? e::ALU : e::ALU64) | e::MOV | e::X, t, s, 0, 0));
        set_scalar(st, t);
        (rng_.chance(50) ? checked : used) = t;
      }
    }
    // A spill of the index before the check, or after it; filled after it.
    const int slot = rng_.range(1, 4);
    const int spill_size = rng_.pick<int>({8, 8, 8, 4, 2, 1});
    const int fill_size = rng_.chance(75) ? spill_size : rng_.pick<int>({1, 2, 4, 8});
    const int spill = rng_.range(0, 99) < 15 ? 1 : rng_.range(0, 99) < 15 ? 2 : 0;  // 1: before, 2: after
    auto spill_index = [&] {
      out.push_back(make(e::STX | e::MEM | size_code(spill_size), 10, used, static_cast<int16_t>(-8 * slot), 0));
      for (int k = 0; k < spill_size; ++k) st.init[512 - 8 * slot + k] = true;
      st.spill[slot - 1] = {};
    };
    if (spill == 1) spill_index();
    // The check (the verifier learns from it, or not), its fall-through or taken edge leading
    // to the access; `jumps` skip the access.
    std::vector<size_t> jumps;
    if (rng_.chance(50)) {
      const bool is32 = rng_.chance(30);
      const uint8_t cls = is32 ? e::JMP32 : e::JMP;
      switch (rng_.range(0, 4)) {
        case 0:
          jumps.push_back(out.size());
          out.push_back(make(cls | rng_.pick<uint8_t>({e::JGT, e::JSGT, e::JGE, e::JSGE}) | e::K, checked, 0, 0,
                             rng_.range(0, 63)));
          if (rng_.chance(40)) {
            jumps.push_back(out.size());
            out.push_back(make(cls | rng_.pick<uint8_t>({e::JSLT, e::JLT}) | e::K, checked, 0, 0, rng_.range(-2, 2)));
          }
          break;
        case 1:  // any bit outside the mask: skip
          jumps.push_back(out.size());
          out.push_back(make(cls | e::JSET | e::K, checked, 0, 0, rng_.pick<int32_t>({~63, ~31, ~7, -64, ~0x3c})));
          break;
        case 2:  // not that value: skip
          jumps.push_back(out.size());
          out.push_back(make(cls | e::JNE | e::K, checked, 0, 0, rng_.range(-1, 70)));
          break;
        case 3: {  // against a bounded register
          const int u = pick_dst(st, true);
          if (u == s || u == checked || u == used || u == 1 || u == *b) break;
          out.push_back(make(e::LDX | e::MEM | e::B, u, *b, ctx_off(st.r[*b], 1), 0));
          out.push_back(make(e::ALU64 | e::AND | e::K, u, 0, 0, 63));
          set_scalar(st, u, true, 63);
          jumps.push_back(out.size());
          out.push_back(make(cls | rng_.pick<uint8_t>({e::JGT, e::JGE, e::JSGT, e::JSGE}) | e::X, checked, u, 0, 0));
          break;
        }
        default:  // the access on the taken edge: if (checked < C) goto access; skip
          out.push_back(make(cls | rng_.pick<uint8_t>({e::JLT, e::JLE, e::JSLT, e::JSLE, e::JEQ}) | e::K, checked, 0, 1,
                             rng_.range(0, 63)));
          jumps.push_back(out.size());
          out.push_back(make(e::JMP | e::JA, 0, 0, 0, 0));
          break;
      }
    }
    if (spill == 2) spill_index();
    if (spill) {
      int f = pick_dst(st, true);
      if (f == 1 || f == *b) f = used;
      out.push_back(make(e::LDX | e::MEM | size_code(fill_size), f, 10, static_cast<int16_t>(-8 * slot), 0));
      set_scalar(st, f);
      used = f;
    }
    // p = the buffer + the index; an access through it.
    int p = pick_dst(st, false);
    if (p == 1 || p == used || p == *b) p = *b != 1 && *b != used && writable(st, *b) ? *b : -1;
    if (p >= 0) {
      if (p != *b) out.push_back(make(e::ALU64 | e::MOV | e::X, p, *b, 0, 0));
      out.push_back(make(e::ALU64 | e::ADD | e::X, p, used, 0, 0));
      const int asz = rng_.pick<int>({1, 2, 4, 8});
      const int16_t aoff = static_cast<int16_t>(rng_.range(0, 8) - st.r[*b].off);
      if (rng_.chance(60)) out.push_back(make(e::LDX | e::MEM | size_code(asz), used, p, aoff, 0));
      else out.push_back(make(e::STX | e::MEM | size_code(asz), p, used, aoff, 0));
      st.r[p] = {Kind::Mixed};
    }
    for (size_t j : jumps) out[j].off = static_cast<int16_t>(out.size() - j - 1);
    set_scalar(st, used);
  }

  // ctx pointer += a bounded scalar (made bounded with an AND when needed).
  void pointer_add_var(std::vector<Insn>& out, GenState& st) {
    auto b = ctx_base(st);
    if (!b) return alu(out, st);
    int p = *b;
    if (p == 1 || !writable(st, p)) {
      p = pick_dst(st, false);
      if (p == 1) return alu(out, st);
      mov_reg(out, st, p, *b);
    }
    const int64_t room = static_cast<int64_t>(kCtxSize) - st.r[p].off - static_cast<int64_t>(st.r[p].var);
    std::vector<int> c;
    for (int r = 0; r <= 9; ++r)
      if (r != p && st.r[r].kind == Kind::Scalar && st.r[r].bounded && static_cast<int64_t>(st.r[r].hi) < room)
        c.push_back(r);
    int s;
    if (!c.empty() && rng_.chance(70)) {
      s = c[rng_.next() % c.size()];
    } else {
      s = pick_dst(st, true);
      if (s == p || s == 1) return alu(out, st);
      if (st.r[s].kind != Kind::Scalar) {
        out.push_back(make(e::LDX | e::MEM | e::B, s, p, 0, 0));
        set_scalar(st, s, true, 255);
      }
      int32_t mask = rng_.pick<int32_t>({0, 1, 3, 7, 15, 31, 63});
      while (mask > 0 && mask >= room) mask >>= 1;
      if (rng_.chance(5)) mask = 127;
      out.push_back(make((rng_.chance(80) ? e::ALU64 : e::ALU) | e::AND | e::K, s, 0, 0, mask));
      set_scalar(st, s, true, static_cast<uint64_t>(mask));
    }
    out.push_back(make(e::ALU64 | e::ADD | e::X, p, s, 0, 0));
    st.r[p].var += st.r[s].hi;
  }

  void helper_call(std::vector<Insn>& out, GenState& st) {
    const int32_t id = rng_.chance(95) ? rng_.pick<int32_t>({7, 7, 5}) : rng_.range(0, 40);
    out.push_back(make(e::JMP | e::CALL, 0, 0, 0, id));
    for (int r = 1; r <= 5; ++r) st.r[r] = {};
    if (id == 7) set_scalar(st, 0, true, UINT32_MAX);
    else set_scalar(st, 0);
  }

  void lddw(std::vector<Insn>& out, GenState& st) {
    const int dst = pick_dst(st, false);
    const uint64_t v = rng_.chance(50) ? rng_.next() : static_cast<uint64_t>(rng_.range(-100, 100));
    out.push_back(make(e::LDDW_OPCODE, dst, 0, 0, static_cast<int32_t>(v)));
    out.push_back(make(0, 0, 0, 0, static_cast<int32_t>(v >> 32)));
    set_scalar(st, dst);
  }

  // A condition at the end of `out`: jumps (indices returned) to the end of the block that
  // follows, patched by the caller. bound: the fall-through edge implies `bound_reg` in
  // [0, bound] (bound_reg -1: nothing learnt).
  std::vector<size_t> condition(std::vector<Insn>& out, GenState& st, int& bound_reg, uint64_t& bound) {
    bound_reg = -1;
    const bool is32 = rng_.chance(20);
    const uint8_t cls = is32 ? e::JMP32 : e::JMP;
    static const uint8_t kCmp[] = {e::JEQ, e::JNE, e::JGT, e::JGE, e::JLT, e::JLE,
                                   e::JSGT, e::JSGE, e::JSLT, e::JSLE, e::JSET};
    if (rng_.chance(35)) {  // a bound check: if (s > C) skip
      auto s = pick_kind(st, Kind::Scalar);
      if (s && *s != 10) {
        const int32_t c = rng_.chance(80) ? rng_.range(0, 63) : imm();
        const RegInfo& info = st.r[*s];
        // 32-bit compares bound a value whose upper half is known zero.
        const bool fits32 = info.bounded && info.hi <= UINT32_MAX;
        if (rng_.chance(25)) {  // signed: if (s s< 0 || s s> C) skip
          const size_t j1 = out.size();
          out.push_back(make(cls | e::JSLT | e::K, *s, 0, 0, 0));
          out.push_back(make(cls | e::JSGT | e::K, *s, 0, 0, c));
          if ((!is32 || fits32) && c >= 0) {
            bound_reg = *s;
            bound = static_cast<uint64_t>(c);
          }
          return {j1, j1 + 1};
        }
        const bool ge = rng_.chance(30) && c < INT32_MAX;
        out.push_back(make(cls | (ge ? e::JGE : e::JGT) | e::K, *s, 0, 0, ge ? c + 1 : c));
        if ((!is32 || fits32) && c >= 0) {
          bound_reg = *s;
          bound = static_cast<uint64_t>(c);
        }
        return {out.size() - 1};
      }
    }
    if (rng_.chance(5)) {  // pointers compared
      std::vector<int> ptrs;
      for (int r = 0; r <= 10; ++r)
        if (st.r[r].kind == Kind::Ctx || st.r[r].kind == Kind::Stack) ptrs.push_back(r);
      if (!ptrs.empty()) {
        const int a = ptrs[rng_.next() % ptrs.size()];
        const uint8_t op = kCmp[rng_.next() % std::size(kCmp)];
        if (rng_.chance(50)) out.push_back(make(e::JMP | op | e::K, a, 0, 0, 0));
        else out.push_back(make(e::JMP | op | e::X, a, ptrs[rng_.next() % ptrs.size()], 0, 0));
        return {out.size() - 1};
      }
    }
    const int a = pick_scalar_src(st);
    const uint8_t op = kCmp[rng_.next() % std::size(kCmp)];
    if (rng_.chance(60)) out.push_back(make(cls | op | e::K, a, 0, 0, rng_.chance(70) ? rng_.range(-4, 64) : imm()));
    else out.push_back(make(cls | op | e::X, a, pick_scalar_src(st), 0, 0));
    return {out.size() - 1};
  }

  // Points the jumps at `jumps` (in out) to out.size() + skip.
  static void patch(std::vector<Insn>& out, const std::vector<size_t>& jumps, size_t skip) {
    for (size_t j : jumps) out[j].off = static_cast<int16_t>(out.size() + skip - j - 1);
  }

  void if_block(std::vector<Insn>& out, GenState& st, int depth) {
    int bound_reg;
    uint64_t bound = 0;
    const std::vector<size_t> jcc = condition(out, st, bound_reg, bound);
    GenState fall = st;
    if (bound_reg >= 0) fall.r[bound_reg] = {Kind::Scalar, 0, 0, true, bound};
    std::vector<Insn> a;
    const bool early_exit = rng_.chance(20);
    if (bound_reg >= 0 && rng_.chance(60)) {
      // Use the bounded register as an index into the buffer.
      auto b = ctx_base(fall);
      if (b) {
        int p = pick_dst(fall, false);
        if (p != 1 && p != bound_reg) {
          mov_reg(a, fall, p, *b);
          a.push_back(make(e::ALU64 | e::ADD | e::X, p, bound_reg, 0, 0));
          fall.r[p].var += bound;
          rng_.chance(50) ? ctx_load(a, fall) : ctx_store(a, fall);
        }
      }
    }
    block(a, fall, depth + 1, rng_.range(0, early_exit ? 2 : 4));
    if (early_exit && !fall.dead) {
      a.push_back(make(e::ALU64 | e::MOV | e::K, 0, 0, 0, rng_.chance(50) ? rng_.range(0, 3) : imm()));
      a.push_back(make(e::JMP | e::EXIT, 0, 0, 0, 0));
      fall.dead = true;
    }
    if (!fall.dead && rng_.chance(30)) {
      // if/else: the taken edge runs b.
      GenState taken = st;
      std::vector<Insn> b;
      block(b, taken, depth + 1, rng_.range(1, 3));
      a.push_back(make(e::JMP | e::JA, 0, 0, static_cast<int16_t>(b.size()), 0));
      patch(out, jcc, a.size());
      out.insert(out.end(), a.begin(), a.end());
      out.insert(out.end(), b.begin(), b.end());
      const uint16_t reserved = st.reserved;
      st = merge(fall, taken);
      st.reserved = reserved;
      return;
    }
    patch(out, jcc, a.size());
    out.insert(out.end(), a.begin(), a.end());
    const uint16_t reserved = st.reserved;
    st = merge(fall, st);
    st.reserved = reserved;
  }

  void loop(std::vector<Insn>& out, GenState& st, int depth) {
    int c = -1;
    for (int r : {9, 8, 7})
      if (writable(st, r) && !(st.r[r].kind == Kind::Ctx && r == 6)) {
        c = r;
        break;
      }
    if (c < 0 || depth >= 2) return alu(out, st);
    const int n = rng_.chance(85) ? rng_.range(1, 8) : rng_.range(9, 40);
    // The data-dependent trip count (4) is refused today as "infinite loop detected" (the state
    // at the loop head contains the next iteration's): rarely.
    const int variant = rng_.chance(95) ? rng_.range(0, 3) : 4;
    GenState body_st = st;
    body_st.reserved |= static_cast<uint16_t>(1u << c);
    body_st.in_loop = true;
    std::vector<Insn> body;
    block(body, body_st, depth + 1, rng_.range(1, 4));
    if (body_st.dead) {  // the body always exits: not a loop
      out.insert(out.end(), body.begin(), body.end());
      const uint16_t reserved = st.reserved;
      const bool in_loop = st.in_loop;
      st = body_st;
      st.reserved = reserved;
      st.in_loop = in_loop;
      return;
    }
    const int len = static_cast<int>(body.size());
    switch (variant) {
      case 0:  // for (c = 0; c < n; c++) — do/while shape
        out.push_back(make(e::ALU64 | e::MOV | e::K, c, 0, 0, 0));
        out.insert(out.end(), body.begin(), body.end());
        out.push_back(make(e::ALU64 | e::ADD | e::K, c, 0, 0, 1));
        out.push_back(make(e::JMP | e::JLT | e::K, c, 0, static_cast<int16_t>(-(len + 2)), n));
        break;
      case 1:  // c = n; do … while (--c != 0)
        out.push_back(make(e::ALU64 | e::MOV | e::K, c, 0, 0, n));
        out.insert(out.end(), body.begin(), body.end());
        out.push_back(make(e::ALU64 | e::SUB | e::K, c, 0, 0, 1));
        out.push_back(make(e::JMP | e::JNE | e::K, c, 0, static_cast<int16_t>(-(len + 2)), 0));
        break;
      case 2:  // 32-bit counter, signed compare
        out.push_back(make(e::ALU | e::MOV | e::K, c, 0, 0, 0));
        out.insert(out.end(), body.begin(), body.end());
        out.push_back(make(e::ALU | e::ADD | e::K, c, 0, 0, 1));
        out.push_back(make(e::JMP32 | e::JSLT | e::K, c, 0, static_cast<int16_t>(-(len + 2)), n));
        break;
      case 3:  // while (c < n) { body; c++ }: test at the top, ja back
        out.push_back(make(e::ALU64 | e::MOV | e::K, c, 0, 0, 0));
        out.push_back(make(e::JMP | e::JGE | e::K, c, 0, static_cast<int16_t>(len + 2), n));
        out.insert(out.end(), body.begin(), body.end());
        out.push_back(make(e::ALU64 | e::ADD | e::K, c, 0, 0, 1));
        out.push_back(make(e::JMP | e::JA, 0, 0, static_cast<int16_t>(-(len + 3)), 0));
        break;
      default: {  // a data-dependent trip count: c = buf[k] & 7; do … while (c-- s> 0)
        auto b = ctx_base(st);
        if (b) out.push_back(make(e::LDX | e::MEM | e::B, c, *b, ctx_off(st.r[*b], 1), 0));
        else out.push_back(make(e::ALU64 | e::MOV | e::K, c, 0, 0, n));
        out.push_back(make(e::ALU64 | e::AND | e::K, c, 0, 0, 7));
        out.insert(out.end(), body.begin(), body.end());
        out.push_back(make(e::ALU64 | e::SUB | e::K, c, 0, 0, 1));
        out.push_back(make(e::JMP | e::JSGT | e::K, c, 0, static_cast<int16_t>(-(len + 2)), 0));
        break;
      }
    }
    const uint16_t reserved = st.reserved;
    st = merge(st, body_st);
    st.reserved = reserved;
    set_scalar(st, c);
  }

  void block(std::vector<Insn>& out, GenState& st, int depth, int items) {
    for (int k = 0; k < items && !st.dead; ++k) {
      const int roll = rng_.range(0, 99);
      if (roll < 24) alu(out, st);
      else if (roll < 34) ctx_load(out, st);
      else if (roll < 41) ctx_store(out, st);
      else if (roll < 49) stack_store(out, st);
      else if (roll < 56) stack_load(out, st);
      else if (roll < 60) pointer_move(out, st);
      else if (roll < 63) pointer_add_const(out, st);
      else if (roll < 66) pointer_add_var(out, st);
      else if (roll < 68) index_chain(out, st);
      else if (roll < 70) stack_var_access(out, st);
      else if (roll < 72 && !st.in_loop) helper_call(out, st);
      else if (roll < 80 && depth == 0 && functions_) call_function(out, st);
      else if (roll < 74) lddw(out, st);
      else if (roll < 88 && depth < 4) if_block(out, st, depth);
      else if (roll < 94) loop(out, st, depth);
      else alu(out, st);
    }
  }

  void epilogue(std::vector<Insn>& out, GenState& st) {
    const int roll = rng_.range(0, 99);
    if (roll < 30) {
      out.push_back(make(e::ALU64 | e::MOV | e::K, 0, 0, 0, imm()));
    } else if (roll < 95) {
      auto s = pick_kind(st, Kind::Scalar);
      if (s) out.push_back(make((rng_.chance(80) ? e::ALU64 : e::ALU) | e::MOV | e::X, 0, *s, 0, 0));
      else out.push_back(make(e::ALU64 | e::MOV | e::K, 0, 0, 0, imm()));
    }  // else: r0 as it is (maybe unset, maybe a pointer)
    out.push_back(make(e::JMP | e::EXIT, 0, 0, 0, 0));
  }

  void garbage(std::vector<Insn>& out) {
    const size_t at = rng_.next() % out.size();
    Insn g = Insn::from_raw(rng_.next());
    if (rng_.chance(60)) {  // a plausible opcode with random fields
      static const uint8_t kCodes[] = {0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67,
                                       0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7,
                                       0x04, 0x0c, 0x34, 0x3c, 0x94, 0x9c, 0xb4, 0xbc, 0xc4, 0xd4, 0xdc, 0x05, 0x15,
                                       0x1d, 0x25, 0x2d, 0x35, 0x45, 0x55, 0x65, 0x75, 0xa5, 0xb5, 0xc5, 0xd5, 0x16,
                                       0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b,
                                       0x73, 0x7b, 0xc3, 0xdb, 0x85, 0x95, 0x18};
      g.code = kCodes[rng_.next() % std::size(kCodes)];
      g.off = static_cast<int16_t>(rng_.range(-10, 10));
      g.dst = static_cast<uint8_t>(rng_.range(0, 10));
      g.src = static_cast<uint8_t>(rng_.range(0, 10));
    }
    if (rng_.chance(50)) out[at] = g;
    else out.insert(out.begin() + static_cast<long>(at), g);
  }

  Rng rng_;
  bool functions_ = false;                          // this program may call functions
  std::vector<std::pair<size_t, int>> calls_;       // (insn, function) to patch
};

std::vector<Buffer> make_inputs(Rng& rng, int random_ones) {
  std::vector<Buffer> in;
  Buffer zero{}, ones{};
  ones.fill(0xff);
  in.push_back(zero);
  in.push_back(ones);
  for (int k = 0; k < random_ones; ++k) {
    Buffer b;
    for (auto& x : b) x = static_cast<uint8_t>(rng.next());
    in.push_back(b);
  }
  Buffer small;  // small numbers: loops and bounds take their short paths
  for (auto& x : small) x = static_cast<uint8_t>(rng.next() % 4);
  in.push_back(small);
  return in;
}

// Every verified program that misbehaves, minimised.
struct Finding {
  std::vector<Insn> original, minimal;
  std::string what;
};

// Does the verifier accept p (raw, 64-byte buffer) while some input makes it misbehave?
bool misbehaves(const std::vector<Insn>& p, const std::vector<Buffer>& inputs, std::string* what = nullptr) {
  // A lower limit: removing a loop's increment must not cost a million steps per try.
  const verifier::VerifyResult v = verify_raw(p, kCtxSize, 20'000);
  if (!v.ok) return false;
  std::optional<Violation> bad = check_runs(p, v, inputs);
  if (bad && bad->at_load) return false;
  if (bad && what) *what = bad->what;
  return bad.has_value();
}

constexpr uint64_t kGeneratedInsnLimit = 30'000;

// Runs the raw programs the verifier accepted, checked, and minimises each that misbehaves into
// a Finding.
class SoundnessChecker {
 public:
  // p was verified as raw with ctx_size 64 (result v).
  void check(const std::vector<Insn>& p, const verifier::VerifyResult& v, const std::vector<Buffer>& inputs,
             bool verbose) {
    ++verified_;
    runs_ += inputs.size();
    std::optional<Violation> bad = check_runs(p, v, inputs);
    if (!bad) return;
    if (bad->at_load) {
      // Fail-safe: the loader checks every instruction, the verifier only those on feasible
      // paths (an invalid instruction behind a branch never taken).
      ++load_refusals_;
      // "verified but refused at load: insn 12: unknown helper id 30 (hint: …)"
      std::string why = bad->what.substr(bad->what.find(": ") + 2);
      if (why.starts_with("insn ")) why = why.substr(why.find(": ") + 2);
      const std::string reason = reason_of(why.substr(0, why.find(" (")));
      if (load_reasons_[reason]++ == 0 && verbose)
        std::printf("  note: %s\n%s", bad->what.c_str(), disasm(p).c_str());
      return;
    }
    ++violations_;
    if (verbose) std::printf("violation: %s\n%s", bad->what.c_str(), disasm(p).c_str());
    if (findings_.size() >= 10) return;
    Finding f;
    f.original = p;
    f.minimal = minimise(p, [&](const std::vector<Insn>& q) { return misbehaves(q, inputs); });
    misbehaves(f.minimal, inputs, &f.what);
    if (f.what.empty()) f.what = bad->what;  // did not reproduce at the minimiser's lower insn limit
    findings_.push_back(std::move(f));
  }

  void report(const char* who) const {
    std::printf("  %s: %" PRIu64 " verified programs run checked and on the JIT (%" PRIu64 " runs): %" PRIu64 " violations, %" PRIu64
                " refused by Program::load (fail-safe)\n",
                who, verified_, runs_, violations_, load_refusals_);
    std::vector<std::pair<int, std::string>> top;
    for (const auto& [reason, count] : load_reasons_) top.emplace_back(count, reason);
    std::sort(top.rbegin(), top.rend());
    for (size_t k = 0; k < top.size() && k < 6; ++k)
      std::printf("  refused by Program::load %5d: %s\n", top[k].first, top[k].second.c_str());
    if (top.size() > 6) std::printf("  refused by Program::load: %zu more reasons\n", top.size() - 6);
    for (const Finding& f : findings_)
      ADD_FAILURE() << "a verified program misbehaves (checked interpreter or JIT): " << f.what << "\nminimal ("
                    << f.minimal.size() << " insns):\n"
                    << disasm(f.minimal) << "original (" << f.original.size() << " insns):\n"
                    << disasm(f.original);
  }

  uint64_t violations() const { return violations_; }
  uint64_t runs() const { return runs_; }

 private:
  uint64_t verified_ = 0, runs_ = 0, violations_ = 0, load_refusals_ = 0;
  std::map<std::string, int> load_reasons_;
  std::vector<Finding> findings_;
};

TEST(VerifierSoundness, RandomProgramsThatVerifyRunWithoutFault) {
  const uint64_t programs = env_count("BPFQ_SOUNDNESS_PROGRAMS", 20'000);
  const uint64_t seed = env_count("BPFQ_SOUNDNESS_SEED", 0x5eed'b9f0'0001ull);
  Generator gen(seed);
  Rng input_rng(seed ^ 0xabcdef);
  const bool verbose = env_count("BPFQ_SOUNDNESS_VERBOSE", 0) != 0;
  const char* show_refused = std::getenv("BPFQ_SOUNDNESS_SHOW_REFUSED");  // a substring of the message
  int shown = 0;
  SoundnessChecker checker;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t verified = 0, refused = 0, total_insns = 0, with_calls = 0, with_calls_verified = 0;
  double verify_seconds = 0, max_verify = 0;
  std::map<std::string, int> reasons;
  for (uint64_t n = 0; n < programs; ++n) {
    const std::vector<Insn> p = gen.program();
    total_insns += p.size();
    // The generated programs need a few thousand steps at most; a path explosion (a loop of
    // data-dependent trip count inside another) is cut short rather than explored for 30 s.
    const verifier::VerifyResult v = verify_raw(p, kCtxSize, kGeneratedInsnLimit);
    const bool calls = std::any_of(p.begin(), p.end(), [](const Insn& i) {
      return is_local_call(i) || (i.code == e::LDDW_OPCODE && i.src == e::PSEUDO_FUNC);
    });
    with_calls += calls;
    with_calls_verified += calls && v.ok;
    verify_seconds += v.seconds;
    max_verify = std::max(max_verify, v.seconds);
    if (verbose && v.seconds > 0.05)
      std::printf("slow verify #%" PRIu64 ": %.3f s, %" PRIu64 " insns processed, %s\n%s", n, v.seconds, v.insns_processed,
                  v.ok ? "ok" : v.error.message.c_str(), disasm(p).c_str());
    if (!v.ok) {
      ++refused;
      ++reasons[reason_of(v.error.message)];
      if (show_refused && (v.error.message.find(show_refused) != std::string::npos ||
                           (std::string_view(show_refused) == "calls" && calls)) && shown++ < 5)
        std::printf("refused at insn %zu: %s\n%s", v.error.insn, v.error.message.c_str(), disasm(p).c_str());
      continue;
    }
    ++verified;
    checker.check(p, v, make_inputs(input_rng, 2), verbose);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("soundness: %" PRIu64 " programs (seed 0x%" PRIx64 ", %.1f insns avg): %" PRIu64 " verified (%.1f%%), %" PRIu64
              " refused; %" PRIu64 " checked runs; %" PRIu64 " violations; %.2f s (verify %.2f s, max %.4f s)\n",
              programs, seed, programs ? double(total_insns) / double(programs) : 0.0, verified,
              programs ? 100.0 * double(verified) / double(programs) : 0.0, refused, checker.runs(), checker.violations(),
              secs, verify_seconds, max_verify);
  std::printf("  %" PRIu64 " programs with sub-program calls or bpf_loop callbacks, %" PRIu64 " of them verified\n",
              with_calls, with_calls_verified);
  std::vector<std::pair<int, std::string>> top;
  for (const auto& [r, c] : reasons) top.emplace_back(c, r);
  std::sort(top.rbegin(), top.rend());
  for (size_t k = 0; k < top.size() && k < 12; ++k) std::printf("  refused %6d: %s\n", top[k].first, top[k].second.c_str());
  checker.report("generated");
  ::testing::Test::RecordProperty("programs", std::to_string(programs));
  ::testing::Test::RecordProperty("verified", std::to_string(verified));
  ::testing::Test::RecordProperty("refused", std::to_string(refused));
  EXPECT_GT(verified * 5, programs) << "the generator should produce at least 20% verifiable programs";
}

// ------------------------------------------------------------------ conformance

const std::filesystem::path kCorpus = BPFQ_SHARED_DIR "/conformance/bpf_conformance/tests";

uint64_t helper_unwind(uint64_t a1, uint64_t, uint64_t, uint64_t, uint64_t) { return a1; }

TEST(VerifierSoundness, ConformanceR0WithinTheVerifiersRange) {
  if (!std::filesystem::is_directory(kCorpus))
    GTEST_SKIP() << "bpf_conformance corpus not found at " << kCorpus
                 << ": it lives in ../shared beside the project (shared/conformance/bpf_conformance)";
  int verified = 0, refused = 0, checked = 0, unassembled = 0;
  std::map<std::string, std::vector<std::string>> reasons;
  for (const auto& path : test::conformance_files(kCorpus)) {
    const test::ConformanceCase c = test::parse_conformance_file(path);
    const std::string file = path.filename().string();
    const std::optional<std::vector<Insn>> insns = conformance_program(c);
    if (!insns) {
      ++unassembled;
      continue;
    }
    const verifier::VerifyResult v = verify_raw(*insns, static_cast<uint32_t>(c.mem.size()));
    if (!v.ok) {
      ++refused;
      reasons[reason_of(v.error.message)].push_back(c.name);
      continue;
    }
    ++verified;
    if (c.result) {
      ++checked;
      EXPECT_TRUE(r0_in_range(v, *c.result))
          << file << ": expected r0 0x" << std::hex << *c.result << std::dec << " (" << static_cast<int64_t>(*c.result)
          << ") is outside the verifier's range " << range_text(v) << "\n"
          << disasm(*insns);
    }
    // And the run itself: a verified program never faults.
    exec::HelperRegistry h;
    h.add_helper(5, "unwind", helper_unwind);
    exec::LinkEnv env;
    env.helpers = &h;
    try {
      const exec::Program prog = exec::Program::load(*insns, env, {.checked = true});
      std::vector<uint8_t> mem = c.mem;
      const exec::RunResult r = prog.run(mem.empty() ? nullptr : mem.data(), mem.size());
      EXPECT_TRUE(r.ok()) << file << ": verified but faults in checked mode: " << r.message() << "\n" << disasm(*insns);
    } catch (const Error& err) {
      ADD_FAILURE() << file << ": verified but refused at load: " << err.what();
    }
  }
  std::printf("conformance: %d verified (%d with an expected r0 checked), %d refused, %d not assembled\n", verified,
              checked, refused, unassembled);
  for (const auto& [reason, names] : reasons) {
    std::string list;
    for (size_t k = 0; k < names.size() && k < 6; ++k) list += (k ? ", " : "") + names[k];
    if (names.size() > 6) list += ", …";
    std::printf("  refused %3zu: %s [%s]\n", names.size(), reason.c_str(), list.c_str());
  }
  ::testing::Test::RecordProperty("verified", verified);
  ::testing::Test::RecordProperty("refused", refused);
  EXPECT_GT(verified, 0);
}

// ------------------------------------------------------------------ fuzz

// A hang detector: while a verify call is in progress for longer than `warn`, prints what it
// is verifying (once); after `limit`, aborts the test binary so that CI does not hang.
class Watchdog {
 public:
  Watchdog(double warn, double limit) : warn_(warn), limit_(limit), thread_([this] { watch(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void begin(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    what_ = std::move(what);
    start_ = std::chrono::steady_clock::now();
    busy_ = true;
    warned_ = false;
  }
  void end() {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (!busy_) continue;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      if (s > warn_ && !warned_) {
        warned_ = true;
        std::fprintf(stderr, "watchdog: verify still running after %.0f s on:\n%s", s, what_.c_str());
      }
      if (s > limit_) {
        std::fprintf(stderr, "watchdog: verify hangs (%.0f s): aborting\n", s);
        std::abort();
      }
    }
  }
  const double warn_, limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  bool busy_ = false, warned_ = false, stop_ = false;
  std::thread thread_;
};

loader::ObjectSpec fuzz_object() {
  loader::ObjectSpec o;
  o.path = "fuzz.bpf.o";
  auto map = [&](std::string name, maps::MapType type, uint32_t key, uint32_t value, uint32_t entries) {
    return test::add_map(o, std::move(name), type, key, value, entries);
  };
  map("hash", maps::MapType::Hash, 4, 16, 64);
  map("array", maps::MapType::Array, 4, 8, 4);
  map("queue", maps::MapType::Pifo, 0, 8, 64)->extra = 1000;
  map("rb", maps::MapType::Ringbuf, 0, 0, 4096);
  map("kptrs", maps::MapType::Array, 4, 16, 4)->kptr_offsets = {8};
  maps::MapSpec* ro = map(".rodata", maps::MapType::Array, 4, 16, 1);
  const char fmt[] = "hi %d %s\n\0str";
  ro->initial_value.assign(fmt, fmt + sizeof fmt);
  ro->initial_value.resize(16);
  ro->read_only = true;
  maps::MapSpec* outer = map("outer", maps::MapType::ArrayOfMaps, 4, 4, 2);
  outer->inner = std::make_shared<maps::MapSpec>(o.maps[1]);
  return o;
}

const std::vector<std::string>& fuzz_kfuncs() {
  static const std::vector<std::string> k = {"bpf_skb_acquire", "bpf_skb_release", "bpf_skb_queue_push",
                                             "bpf_skb_queue_pop", "bpf_skb_queue_len", "bpf_kfree_skb",
                                             "bpf_skb_kptr_get", "bpf_skb_get_hash", "no_such_kfunc"};
  return k;
}

// Hand-written seeds that reach the deeper parts of the verifier (maps, references, packets,
// callbacks, sub-programs).
struct Seed {
  const char* type;  // the section it verifies as ("raw": raw_memory_type)
  const char* text;
};
const Seed kSeeds[] = {
    // map lookup, NULL check, value access
    {"raw", R"(mov %r6, %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx[0]
call 1
jeq %r0, 0, +3
ldxdw %r3, [%r0+8]
stxdw [%r0+0], %r3
lock add [%r0+0], %r3
mov %r0, 0
exit
)"},
    // qdisc enqueue: skb fields, acquire, queue push, release paths
    {"qdisc/enqueue", R"(ldxdw %r6, [%r1+0]
ldxw %r7, [%r6+0]
lddw %r1, map_idx[2]
mov %r2, %r6
mov %r3, %r7
call kfunc 2
jeq %r0, 0, queued
mov %r0, 2
exit
queued:
mov %r0, 0
exit
)"},
    // qdisc enqueue: acquire and release, kptr_xchg into a map value
    {"qdisc/enqueue", R"(ldxdw %r6, [%r1+0]
mov %r1, %r6
call kfunc 0
jeq %r0, 0, out
mov %r7, %r0
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx[4]
call 1
jne %r0, 0, found
mov %r1, %r7
call kfunc 1
mov %r0, 1
exit
found:
mov %r1, %r0
add %r1, 8
mov %r2, %r7
call 194
jeq %r0, 0, out
mov %r1, %r0
call kfunc 1
out:
mov %r0, 0
exit
)"},
    // tc: packet access proven against data_end
    {"tc", R"(ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, +4
ldxb %r0, [%r2+12]
ldxh %r5, [%r2+12]
stxb [%r2+0], %r5
exit
mov %r0, 0
exit
)"},
    // bpf_loop with a callback, a local call, the stack as callback ctx
    {"raw", R"(stdw [%r10-8], 0
mov %r1, 4
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
call local sub
exit
sub:
mov %r0, 0
exit
cb:
ldxdw %r3, [%r2+0]
add %r3, %r1
stxdw [%r2+0], %r3
mov %r0, 0
exit
)"},
    // ringbuf reserve / submit, printk with a string, spin lock-free hash update
    {"raw", R"(lddw %r1, map_idx[3]
mov %r2, 16
mov %r3, 0
call 131
jeq %r0, 0, +4
stdw [%r0+0], 7
mov %r1, %r0
mov %r2, 0
call 132
lddw %r1, map_idx[5]+0
mov %r2, 10
mov %r3, 5
lddw %r4, map_idx[5]+10
call 6
mov %r0, 0
exit
)"},
    // map of maps, inner lookup
    {"raw", R"(stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx[6]
call 1
jeq %r0, 0, +7
mov %r1, %r0
stw [%r10-8], 0
mov %r2, %r10
add %r2, -8
call 1
jeq %r0, 0, +1
ldxdw %r0, [%r0+0]
mov %r0, 0
exit
)"},
    // qdisc dequeue: pop a packet and hand it out in ctx->skb
    {"qdisc/dequeue", R"(mov %r6, %r1
lddw %r1, map_idx[2]
call kfunc 3
stxdw [%r6+0], %r0
mov %r0, 0
exit
)"},
};

Insn random_insn(Rng& rng) {
  static const uint8_t kCodes[] = {0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f,
                                   0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0xdf, 0x04,
                                   0x0c, 0x34, 0x3c, 0x94, 0x9c, 0xb4, 0xbc, 0xc4, 0xd4, 0xdc, 0x05, 0x15, 0x1d, 0x25,
                                   0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x75, 0xa5, 0xb5, 0xc5, 0xd5, 0x16,
                                   0x1e, 0x26, 0xa6, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a,
                                   0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x85, 0x8d, 0x95, 0x18, 0x20, 0x28, 0x30, 0x40};
  Insn i = Insn::from_raw(rng.next());
  if (rng.chance(85)) {
    i.code = kCodes[rng.next() % std::size(kCodes)];
    i.dst = static_cast<uint8_t>(rng.range(0, rng.chance(95) ? 10 : 15));
    i.src = static_cast<uint8_t>(rng.range(0, rng.chance(95) ? 10 : 15));
    if (rng.chance(70)) i.off = static_cast<int16_t>(rng.range(-16, 16));
    if (rng.chance(60)) i.imm = rng.range(-64, 256);
    if (i.code == 0x85 && rng.chance(70)) {
      i.src = static_cast<uint8_t>(rng.range(0, 2));
      i.imm = i.src == 2 ? rng.range(0, 9) : rng.pick<int32_t>({1, 2, 3, 5, 6, 7, 25, 26, 46, 87, 88, 130, 131, 132, 164, 181, 194, 1000, 3});
    }
    if (i.code == 0x18) i.src = static_cast<uint8_t>(rng.range(0, 6)), i.imm = rng.chance(60) ? rng.range(0, 8) : i.imm;
  }
  return i;
}

void mutate(std::vector<Insn>& p, Rng& rng) {
  const int edits = rng.range(1, 3);
  for (int k = 0; k < edits; ++k) {
    if (p.empty()) p.push_back(random_insn(rng));
    const size_t at = rng.next() % p.size();
    Insn& i = p[at];
    switch (rng.range(0, 11)) {
      case 0: i.code = static_cast<uint8_t>(rng.next()); break;
      case 1: i.code ^= static_cast<uint8_t>(1u << rng.range(0, 7)); break;
      case 2: i.dst = static_cast<uint8_t>(rng.range(0, 15)); break;
      case 3: i.src = static_cast<uint8_t>(rng.range(0, 15)); break;
      case 4: i.off = static_cast<int16_t>(i.off + rng.range(-4, 4)); break;
      case 5: i.off = static_cast<int16_t>(rng.next()); break;
      case 6: i.imm = static_cast<int32_t>(static_cast<uint32_t>(i.imm) + static_cast<uint32_t>(rng.range(-8, 8))); break;
      case 7: i.imm = static_cast<int32_t>(rng.next()); break;
      case 8: i.imm = static_cast<int32_t>(static_cast<uint32_t>(i.imm) ^ (1u << rng.range(0, 31))); break;
      case 9: p.insert(p.begin() + static_cast<long>(at), random_insn(rng)); break;
      case 10:
        if (p.size() > 1) p.erase(p.begin() + static_cast<long>(at));
        break;
      default: {
        uint64_t w = i.raw();
        w ^= uint64_t{1} << rng.range(0, 63);
        i = Insn::from_raw(w);
        break;
      }
    }
  }
}

constexpr double kHangSeconds = 10, kHangSecondsPerInsn = 100e-6, kAbortSeconds = 300;
constexpr uint64_t kQuickInsnLimit = 5'000, kRunawaySample = 100;

TEST(VerifierFuzz, MutatedProgramsNeverCrashOrHang) {
  const uint64_t mutations = env_count("BPFQ_FUZZ_MUTATIONS", 20'000);
  const uint64_t seed = env_count("BPFQ_SOUNDNESS_SEED", 0x5eed'b9f0'0001ull) ^ 0xf022;
  Rng rng(seed);
  Generator gen(seed ^ 0x1234);
  const loader::ObjectSpec object = fuzz_object();
  const verifier::ProgramType* enqueue = verifier::program_type_for_section("qdisc/enqueue");
  const verifier::ProgramType* tc = verifier::program_type_for_section("tc");
  ASSERT_NE(enqueue, nullptr);
  ASSERT_NE(tc, nullptr);
  const verifier::ProgramType* dequeue = verifier::program_type_for_section("qdisc/dequeue");

  std::vector<std::vector<Insn>> seeds;
  for (const Seed& seed : kSeeds) {
    try {
      seeds.push_back(e::assemble(seed.text));
    } catch (const Error& err) {
      ADD_FAILURE() << "seed does not assemble: " << err.what() << "\n" << seed.text;
    }
  }
  const size_t hand_seeds = seeds.size();
  if (std::filesystem::is_directory(kCorpus))
    for (const auto& path : test::conformance_files(kCorpus))
      if (auto p = conformance_program(test::parse_conformance_file(path))) seeds.push_back(std::move(*p));

  Watchdog watchdog(60, kAbortSeconds);
  double max_seconds = 0, total_seconds = 0, heavy_seconds = 0;
  uint64_t calls = 0, accepted = 0, heavy = 0, heavy_insns = 0;
  std::string slowest;
  auto check = [&](const std::vector<Insn>& insns, const verifier::ProgramType& type, uint32_t ctx_size,
                   uint64_t insn_limit) {
    loader::ProgramSpec spec;
    spec.name = "fuzz";
    spec.section = std::string(type.name);
    spec.insns = insns;
    spec.kfunc_names = fuzz_kfuncs();
    spec.functions.push_back({"fuzz", 0, insns.size()});
    verifier::VerifyOptions opts;
    opts.ctx_size = ctx_size;
    opts.insn_limit = insn_limit;
    watchdog.begin(std::string(type.name) + " program (ctx_size " + std::to_string(ctx_size) + "):\n" + disasm(insns));
    const auto t0 = std::chrono::steady_clock::now();
    const verifier::VerifyResult r = verifier::verify(spec, object, type, opts);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    watchdog.end();
    ++calls;
    accepted += r.ok;
    total_seconds += s;
    if (r.insns_processed >= 100'000) {
      ++heavy;
      heavy_seconds += s;
      heavy_insns += r.insns_processed;
    }
    if (s > max_seconds) {
      max_seconds = s;
      slowest = std::string(type.name) + ", " + std::to_string(r.insns_processed) + " insns processed, " +
                (r.ok ? "accepted" : r.error.message);
    }
    // Bounded by the work done: a step of the exploration never takes long.
    const double bound = kHangSeconds + kHangSecondsPerInsn * static_cast<double>(r.insns_processed);
    EXPECT_LT(s, bound) << "verify took " << s << " s for " << r.insns_processed << " insns processed (hang?) on a "
                        << type.name << " program:\n" << disasm(insns);
    EXPECT_LE(r.insns_processed, insn_limit + 1);
    return r;
  };
  // Each program at the default insn_limit, except that most runaway programs (those that
  // exhaust a small limit: a loop that never ends, a path explosion) stop at the small limit:
  // at the default one each costs seconds under ASan. One runaway in kRunawaySample still goes
  // to the default limit.
  const uint64_t default_limit = verifier::VerifyOptions{}.insn_limit;
  const uint64_t quick_limit = std::min<uint64_t>(kQuickInsnLimit, default_limit);
  uint64_t runaways = 0, capped = 0;
  auto verify_as = [&](const std::vector<Insn>& p, const verifier::ProgramType& type, uint32_t ctx_size) {
    const verifier::VerifyResult quick = check(p, type, ctx_size, quick_limit);
    if (quick.insns_processed <= quick_limit || quick_limit == default_limit) return quick.ok;  // as at the default
    if (runaways++ % kRunawaySample == 0) return check(p, type, ctx_size, default_limit).ok;
    ++capped;
    return false;
  };
  // Raw programs accepted on a 64-byte buffer also run checked (the corpus of mutations finds
  // what the generator does not write).
  SoundnessChecker checker;
  auto verify_all_types = [&](const std::vector<Insn>& p) {
    const uint32_t raw_size = rng.chance(80) ? kCtxSize : static_cast<uint32_t>(rng.range(0, 600));
    if (verify_as(p, verifier::raw_memory_type(), raw_size) && raw_size == kCtxSize) {
      const verifier::VerifyResult v = verify_raw(p, kCtxSize, quick_limit);
      if (v.ok) checker.check(p, v, make_inputs(rng, 2), false);
    }
    verify_as(p, *enqueue, 0);
    verify_as(p, rng.chance(70) ? *tc : *dequeue, 0);
  };

  // The seeds as they are: the hand-written ones verify as the type they are written for.
  for (size_t k = 0; k < seeds.size(); ++k) verify_all_types(seeds[k]);
  for (size_t k = 0; k < hand_seeds && k < std::size(kSeeds); ++k) {
    const std::string_view name = kSeeds[k].type;
    const verifier::ProgramType* t = name == "raw" ? &verifier::raw_memory_type() : verifier::program_type_for_section(name);
    ASSERT_NE(t, nullptr) << name;
    const verifier::VerifyResult r = check(seeds[k], *t, kCtxSize, default_limit);
    EXPECT_TRUE(r.ok) << "seed " << k << " (" << name << ") is refused: " << r.error.message << "\n" << disasm(seeds[k]);
  }
  if (env_count("BPFQ_SOUNDNESS_VERBOSE", 0))
    for (size_t k = 0; k < hand_seeds; ++k)
      for (const verifier::ProgramType* t : {&verifier::raw_memory_type(), enqueue, dequeue, tc}) {
        const verifier::VerifyResult r = check(seeds[k], *t, kCtxSize, default_limit);
        std::printf("seed %zu as %s: %s\n", k, std::string(t->name).c_str(), r.ok ? "ok" : r.error.message.c_str());
      }

  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t n = 0; n < mutations; ++n) {
    std::vector<Insn> p;
    const int source = rng.range(0, 9);
    if (source < 4) p = gen.program();
    else if (source < 8 && !seeds.empty()) p = seeds[source < 6 && hand_seeds ? rng.next() % hand_seeds : rng.next() % seeds.size()];
    else {
      const int len = rng.range(1, 40);
      for (int k = 0; k < len; ++k) p.push_back(random_insn(rng));
      if (rng.chance(50)) p.push_back(Insn::make(e::JMP | e::EXIT));
    }
    if (source < 8) mutate(p, rng);
    verify_all_types(p);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fuzz: %" PRIu64 " programs, %" PRIu64 " verify calls (%" PRIu64 " accepted), %.2f s; verify %.2f s total, "
              "slowest %.4f s (%s)\n",
              mutations, calls, accepted, secs, total_seconds, max_seconds, slowest.c_str());
  checker.report("fuzz, raw programs accepted");
  std::printf("fuzz: %" PRIu64 " runaway programs (> %" PRIu64 " insns), %" PRIu64 " of them stopped there, the others "
              "verified at the default limit %" PRIu64 "\n",
              runaways, quick_limit, capped, default_limit);
  std::printf("fuzz: %" PRIu64 " calls processed >= 100k insns: %.2f s, %.1f us per insn\n", heavy, heavy_seconds,
              heavy_insns ? 1e6 * heavy_seconds / double(heavy_insns) : 0.0);
}

// ------------------------------------------------------------------ verifier bugs found
// Each was found by the tests above, and fixed.

// The verifier either refuses p, or p (raw, 64-byte buffer) runs checked on every input without
// a fault and with r0 in the verifier's range.
void expect_refused_or_sound(const std::string& text, const std::vector<Buffer>& inputs) {
  const std::vector<Insn> p = e::assemble(text);
  const verifier::VerifyResult v = verify_raw(p);
  if (!v.ok) return;
  const std::optional<Violation> bad = check_runs(p, v, inputs);
  EXPECT_FALSE(bad.has_value()) << "verified, but " << bad->what << "\n" << disasm(p);
}

std::vector<Buffer> inputs_with_byte(size_t at, std::initializer_list<uint8_t> values) {
  std::vector<Buffer> out;
  for (uint8_t x : values) {
    Buffer b{};
    b[at] = x;
    out.push_back(b);
  }
  return out;
}

// `mov32 rD, rS` with D != S: the verifier leaves rD as it was (and uninitialised if it was)
// when rS's value fits in 32 bits (zext_linked returns early: that early return is right only
// for `mov32 rD, rD` / clang's `rD <<= 32; rD >>= 32`).
TEST(VerifierSoundness, Mov32RegisterSetsTheDestination) {
  // Found by the generator; minimal form. r0 is 64 at run time, the verifier says -1.
  expect_refused_or_sound("ldxdw %r0, [%r1+8]\nor %r0, -1\nmov32 %r0, %r2\nexit\n", {Buffer{}});
  const verifier::VerifyResult v = verify_raw(e::assemble("mov %r0, -1\nmov32 %r0, %r2\nexit\n"));
  ASSERT_TRUE(v.ok) << v.error.message;
  EXPECT_EQ(v.r0_smin, 64);
  EXPECT_EQ(v.r0_smax, 64);
  // The copy is initialised: refused today with "R3 !read_ok".
  const verifier::VerifyResult w = verify_raw(e::assemble("mov32 %r3, %r2\nmov %r0, %r3\nexit\n"));
  EXPECT_TRUE(w.ok) << w.error.message;
  // bpf_conformance's rfc9669_mov32 (expected 1, verifier's range [0, 0]) and mov (refused).
  const verifier::VerifyResult c = verify_raw(e::assemble(R"(mov %r1, -1
mov32 %r1, -0x80000000
rsh %r1, 32
jne32 %r1, 0, +7
mov %r2, -1
mov32 %r3, 0x7fffffff
mov32 %r2, %r3
rsh %r2, 32
jne32 %r2, 0, +2
mov %r0, 1
exit
mov %r0, 0
exit
)"));
  ASSERT_TRUE(c.ok) << c.error.message;
  EXPECT_TRUE(r0_in_range(c, 1)) << range_text(c);
}

// An atomic read-modify-write through a pointer with a variable offset is not checked for
// alignment (only constant offsets are): checked mode faults "misaligned atomic access". Linux
// refuses it ("misaligned access": the tnum of the offset must be aligned to the size).
TEST(VerifierSoundness, AtomicThroughVariableOffsetMustBeAligned) {
  // Into the buffer (a map value to the verifier): buf + (buf[12] & 1) + 48.
  const char* map_value = R"(mov %r6, %r1
ldxw %r3, [%r6+12]
and %r3, 1
add %r6, %r3
mov %r2, 1
lock add [%r6+48], %r2
mov %r0, 0
exit
)";
  EXPECT_FALSE(verify_raw(e::assemble(map_value)).ok);
  expect_refused_or_sound(map_value, inputs_with_byte(12, {0, 1}));
  // Into the stack: r10 - 16 + (buf[12] & 1).
  const char* stack = R"(stdw [%r10-16], 0
stdw [%r10-8], 0
ldxw %r3, [%r1+12]
and %r3, 1
mov %r6, %r10
add %r6, -16
add %r6, %r3
mov %r2, 1
lock fetch add [%r6+0], %r2
mov %r0, 0
exit
)";
  EXPECT_FALSE(verify_raw(e::assemble(stack)).ok);
  expect_refused_or_sound(stack, inputs_with_byte(12, {0, 1}));
  // An offset that is a multiple of the size stays allowed: buf + (buf[12] & 8) + 48.
  const verifier::VerifyResult aligned = verify_raw(e::assemble(R"(mov %r6, %r1
ldxw %r3, [%r6+12]
and %r3, 8
add %r6, %r3
mov %r2, 1
lock add [%r6+48], %r2
mov %r0, 0
exit
)"));
  EXPECT_TRUE(aligned.ok) << aligned.error.message;
}

// A loop that never ends: r9 is 1 on every iteration, so `jne r9, 0` always jumps back. Found
// by the fuzz test (a mutated generated program), minimised. The verifier once accepted it: in
// the second iteration the two paths from `jge` meet at insn 6 (they cannot join: r2 a number
// vs fp0) and join at 8; the path that joined the parked one counted its checkpoint at 6 as
// finished, and the third iteration was pruned against it though the parked path (this very
// iteration) was still running. A joined path's checkpoints now end with the path it joined.
TEST(VerifierSoundness, InfiniteLoopAfterPathsJoinIsRefused) {
  const char* never_ends = R"(stxdw [%r10-8], %r2
mov %r9, 1
stxdw [%r10-16], %r2
jge %r2, 29, +1
ja +1
mov %r2, %r10
jgt %r9, 57, +1
ldxb %r2, [%r10-2]
jne %r9, 0, -8
exit
)";
  const verifier::VerifyResult v = verify_raw(e::assemble(never_ends));
  EXPECT_FALSE(v.ok) << "accepted; r0 range " << range_text(v);
  if (!v.ok) {
    EXPECT_NE(v.error.message.find("infinite loop"), std::string::npos) << v.error.message;
  }
  expect_refused_or_sound(never_ends, {Buffer{}});
  // As the fuzz test found it (r2 = 64, the buffer's size, spilled to fp-432 and read back a
  // byte at fp-426).
  expect_refused_or_sound(R"(stxdw [%r10-432], %r2
mov %r9, 1
stxdw [%r10-464], %r2
jge %r2, 0x1d, +1
ja +1
mov %r2, %r10
jgt %r9, 0x39, +1
ldxb %r2, [%r10-426]
jne %r9, 0, -8
exit
)",
                          {Buffer{}});
}

// Not a soundness bug (Program::load refuses these programs), but a check Linux makes and the
// loader makes that the verifier does not: the second slot of an lddw must have code,
// registers and offset 0 ("invalid bpf_ld_imm64 insn"). Found by the generator's garbage; the
// most frequent reason a mutant the verifier accepts is refused at load in the fuzz test.
TEST(VerifierSoundness, LddwSecondSlotFieldsAreChecked) {
  // lddw r0, 5 whose second slot has code 0x07, src_reg 3, or off 1
  for (uint64_t second : {0x0000000000000007ull, 0x0000000000000300ull, 0x0000000000010000ull}) {
    const std::vector<Insn> p = {Insn::from_raw(0x0000000500000018ull), Insn::from_raw(second),
                                 Insn::make(e::JMP | e::EXIT)};
    EXPECT_FALSE(verify_raw(p).ok) << "accepted:\n" << disasm(p);
    EXPECT_THROW(exec::Program::load(p, {}, {.checked = true}), Error) << disasm(p);
  }
}

// Not a soundness bug: a precision limit. A loop whose trip count is a bounded unknown is
// refused as "infinite loop detected": the state stored at the loop head (r9 in [0, 7])
// contains the next iteration's (r9 in [1, 6]). Linux goes on exploring (it reports an
// infinite loop only for an exactly equal state) and accepts it. About 5% of the generator's
// refusals.
TEST(VerifierSoundness, DISABLED_BoundedLoopWithUnknownTripCountIsCalledInfinite) {
  const verifier::VerifyResult v = verify_raw(e::assemble(R"(ldxb %r9, [%r1+0]
and %r9, 7
sub %r9, 1
jsgt %r9, 0, -2
mov %r0, 0
exit
)"));
  EXPECT_TRUE(v.ok) << v.error.message;
}

}  // namespace
}  // namespace bpfq
