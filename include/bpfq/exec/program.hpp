#pragma once
// A pre-decoded, runnable eBPF program and the interpreter that runs it.
//
// Program::load() validates and pre-decodes the instructions once (jump targets resolved,
// lddw merged, helper/kfunc pointers resolved) and throws bpfq::Error naming the instruction
// on bad input. run() never throws and never allocates.
//
// Three ways to run:
//  - fast: the interpreter with no per-access checks; for programs whose safety is established
//    elsewhere;
//  - JIT (Backend::Jit, x86-64): the program as machine code, with no run-time checks either;
//    for programs proved safe by the verifier (docs/jit.md);
//  - checked: every memory access is bounds-checked against the regions the program was given
//    (its stack, the context, regions registered by the linker or by helpers during the run),
//    and an instruction budget stops runaway loops. A fault ends the run with a RunResult
//    that says what, where (instruction index) and at which address.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/exec/helpers.hpp>

namespace bpfq::exec {

// A plain aggregate (no default member initialisers): the run-time arrays of regions are not
// zeroed on every run, only the entries in use are written. Initialise with {} or {b, e, w}.
struct MemRegion {
  uint64_t begin;
  uint64_t end;  // exclusive
  bool writable;
};

enum class Fault : uint8_t {
  None,
  OutOfBounds,      // load/store outside every permitted region
  ReadOnly,         // store into a read-only region
  Budget,           // instruction budget exhausted (runaway loop)
  CallDepth,        // more than kMaxCallDepth nested local calls
  HelperFault,      // a helper rejected its arguments (message says which)
  BadCallback,      // a callback value that is not a sub-program of this program
  FellOffEnd,       // execution ran past the last instruction
  Misaligned,       // atomic operation on a misaligned address
};

struct RunResult {
  uint64_t r0 = 0;
  Fault fault = Fault::None;
  uint32_t pc = 0;        // instruction index of the fault
  uint64_t addr = 0;      // faulting address (OutOfBounds/ReadOnly)
  uint32_t size = 0;      // access size in bytes
  const char* detail = nullptr;  // static text from a helper fault

  bool ok() const { return fault == Fault::None; }
  std::string message() const;  // "out-of-bounds store of 8 bytes at 0x… (insn 12)"
};

// What the program is linked against.
// An array map's elements, for a bpf_map_lookup_elem done in place: the element's address is
// values + key * stride when key < max_entries, else NULL (Linux's map_gen_lookup).
struct ArrayLookup {
  uint64_t values = 0;
  uint32_t stride = 0;
  uint32_t max_entries = 0;
};

struct LinkEnv {
  const HelperRegistry* helpers = nullptr;
  // For CALL_KFUNC (src_reg 2): imm indexes this table of kfunc names.
  std::vector<std::string> kfunc_names;
  // Resolves lddw pseudo forms (src_reg 1, 2, 5, 6) to the 64-bit value loaded;
  // throws bpfq::Error when it cannot. Unset: those forms are rejected at load.
  std::function<uint64_t(uint8_t kind, int32_t imm, int32_t next_imm)> resolve_lddw;
  // Unchecked programs: a call of `helper` whose r1 is the map an lddw just before loaded
  // (`map`: its resolved value) may run in place when this answers the map's layout (the JIT and
  // the interpreter then skip the call). Unset, or nullopt: the call stays.
  std::function<std::optional<ArrayLookup>(uint64_t helper, uint64_t map)> inline_lookup;
  // Unchecked programs: a call of `helper` that only reads a 64-bit word (a virtual clock's time)
  // loads it in place when this answers the word's address. Unset, or null: the call stays.
  std::function<const void*(uint64_t helper)> inline_word;
  // Unchecked programs: a call of `helper` that only exchanges the 8-byte word at r1 with r2
  // (bpf_kptr_xchg) is done in place when this answers true. Unset: the call stays.
  std::function<bool(uint64_t helper)> inline_xchg;
  // A call of `helper` that is bpf_loop (RunContext::call on its callback, with its checks) whose
  // callback an lddw put in r2 in the same straight run: the JIT runs the loop in place.
  std::function<bool(uint64_t helper)> is_loop;
  // Memory the program may always touch in checked mode (global data, map values, …).
  std::vector<MemRegion> regions;
  // Shown in load errors, e.g. "prog.bpf.o section qdisc/enqueue".
  std::string where;
};

struct RunOptions {
  std::span<const MemRegion> extra;  // checked mode: more memory for this run (packet data, …)
  void* user = nullptr;              // handed to helpers through RunContext::user()
};

// What runs a program's instructions.
enum class Backend : uint8_t { Interpreter, Jit };
const char* backend_name(Backend b);  // "interpreter", "jit"

struct ProgramOptions {
  bool checked = false;
  // Jit needs checked == false (it emits no checks); where the JIT is not supported
  // (jit_supported() is false) the program runs on the interpreter.
  Backend backend = Backend::Interpreter;
  uint64_t insn_budget = 1'000'000;  // checked mode: instructions per run (incl. callbacks)
};

bool jit_supported();  // the JIT can run here (x86-64)

class Program {
 public:
  static Program load(std::span<const ebpf::Insn> insns, const LinkEnv& env = {},
                      ProgramOptions opts = {});
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

  // r1 = ctx, r2 = ctx_len. In checked mode [ctx, ctx+ctx_len) is writable memory.
  RunResult run(void* ctx, uint64_t ctx_len, const RunOptions& opts = {}) const;

  size_t size() const;  // instructions
  bool checked() const { return checked_; }  // inline: asked on every run
  Backend backend() const;  // what runs it
  size_t jit_code_size() const;  // bytes of machine code; 0 on the interpreter
  const std::vector<ebpf::Insn>& insns() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool checked_ = false;  // impl_->checked
};

// The run in progress on this thread, for helpers: check pointers they were given, grant
// the program access to memory they return, call back into the program (bpf_loop). The run's
// state lives in the exec layer (src/exec/run_state.hpp); helpers see only this.
class RunContext;
namespace detail {
// The run in progress on this thread. initial-exec: a plain %fs-relative load, not a
// __tls_get_addr call, although the code is position-independent; inline because helpers ask
// for it on every call.
[[gnu::tls_model("initial-exec")]] inline thread_local RunContext* current_run = nullptr;
}  // namespace detail

class RunContext {
 public:
  static RunContext* current() { return detail::current_run; }  // null outside a run

  bool checked() const { return checked_; }
  // Checked mode: is [p, p+len) permitted (for writing if write)? Always true in fast mode.
  bool may_access(uint64_t p, uint64_t len, bool write) const {
    return !checked_ || may_access_checked(p, len, write);
  }
  // Checked mode: permit [p, p+len) for the rest of this run (e.g. a map value a helper returned).
  void grant(uint64_t p, uint64_t len, bool writable) {
    if (checked_) grant_checked(p, len, writable);
  }
  // Report a helper fault; the run ends when the helper returns. `detail` must be static text.
  void fail(const char* detail);
  // Is `fn` a callback value the program loaded with lddw PSEUDO_FUNC?
  bool is_callback(uint64_t fn) const;
  // Runs the sub-program `fn` with r1..r5 on a fresh stack and returns its r0. After a fault
  // (check failed()) the helper should return promptly.
  uint64_t call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
  bool failed() const;

  void* user() const { return user_; }  // embedder data (clock, qdisc, …) from RunOptions

  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

 protected:
  RunContext(void* user, bool checked) : user_(user), checked_(checked) {}
  ~RunContext() = default;

 private:
  bool may_access_checked(uint64_t p, uint64_t len, bool write) const;
  void grant_checked(uint64_t p, uint64_t len, bool writable);

  void* user_;
  bool checked_;
};

}  // namespace bpfq::exec
