#pragma once
// An eBPF object file, ready to run: the loader's ObjectSpec, every map created, every program
// linked into an exec::Program against the object's maps and a helper registry.
//
//   auto obj = runtime::Object::open("prog.bpf.o");
//   obj.set_global("limit", uint32_t{100});          // .rodata/.data/.bss, before runs
//   runtime::RunEnv env{&clock, &prng, &trace};
//   exec::RunResult r = obj.program("qdisc/enqueue").run(&ctx, sizeof ctx, runtime::run_options(env));
//   obj.map("stats").lookup_copy(&key, &value);
//
// The Object owns its maps and programs: keep it alive while any of them runs.
//
// Map sharing: a map declared with __uint(pinning, LIBBPF_PIN_BY_NAME) is shared by name among
// the objects opened with the same PinnedMaps (ObjectOptions::pins), as libbpf shares pinned
// maps under one pin_root_path:
//
//   runtime::PinnedMaps pins;
//   runtime::ObjectOptions opts;
//   opts.pins = &pins;
//   auto cls = runtime::Object::open("edt_cls.bpf.o", opts);   // creates the map and pins it
//   auto qd = runtime::Object::open("edt_qdisc.bpf.o", opts);  // reuses it
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/exec/helpers.hpp>
#include <bpfq/exec/program.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/maps/map.hpp>

namespace bpfq::runtime {

class Clock;
class GraphHeap;
class PinnedMaps;

// What opening an object does with the verifier (docs/verifier.md). Programs of a known type
// (qdisc/*, tc: verifier::program_type_for_section) are the ones verified.
enum class Verification : uint8_t {
  // Verify; refuse the object (bpfq::Error with the reason and source line) if a program is
  // unsafe or too complex to prove safe. Verified programs run without run-time checks.
  Enforce,
  // Verify; a program the verifier refuses still runs, checked at run time (every access
  // bounds-checked, an instruction budget), and ProgramInfo::unverified says why. For
  // debugging a program (sim --unverified) and for testing the run-time checks.
  RunUnverifiedChecked,
  // Do not verify: every program runs checked. For tests of the run-time checks on programs
  // the verifier accepts, and for measuring what verification saves.
  Off,
};

// What runs verified programs: the JIT where it is supported (x86-64), else the interpreter.
// BPFQ_BACKEND=interpreter|jit in the environment, or set_default_backend (bpfq --backend),
// chooses otherwise. Programs that are not verified always run on the interpreter.
exec::Backend default_backend();  // bpfq::Error if BPFQ_BACKEND names no backend
void set_default_backend(exec::Backend b);
// "jit" or "interpreter"; bpfq::Error naming the choices otherwise.
exec::Backend parse_backend(std::string_view name);

struct ObjectOptions {
  Verification verification = Verification::Enforce;
  exec::Backend backend = default_backend();  // for the verified programs
  // Non-empty: verify only this program (section or entry function), the one the caller runs;
  // the object's others run checked.
  std::string verify_only;
  // Programs not verified (no program type, not verify_only, or refused under
  // RunUnverifiedChecked) run checked (bounds, budget) unless this is false.
  bool checked = true;
  uint64_t insn_budget = 1'000'000;  // checked mode: instructions per run
  // Helpers and kfuncs the programs may call; null: standard_helpers(). Must outlive the Object.
  const exec::HelperRegistry* helpers = nullptr;
  // The clock every run of these programs gets (RunEnv::clock), if it is always the same one:
  // the verified programs then read a virtual clock's word in place (Clock::word()) instead of
  // calling bpf_ktime_get_ns. Must outlive the Object.
  const Clock* clock = nullptr;
  // The verified programs exchange kptr fields in place (bpf_kptr_xchg becomes two moves, as
  // Linux's JIT inlines it) instead of calling the helper: for embedders whose unchecked runs
  // track no references (BpfQdisc). Ignored when the object has graph objects, whose kptr_xchg
  // keeps their books.
  bool kptr_xchg_in_place = false;
  // Set on every map the object creates (and on inner maps made by create_inner_map): releases
  // the packet references held in kptr fields. When the object has a graph heap, its maps with
  // kptr fields get GraphHeap::kptr_dtor instead, which drops objects and hands the rest to this.
  maps::KptrDtor kptr_dtor = nullptr;
  // Shown in errors instead of the path, e.g. "tc qdisc add … (prog.bpf.o)".
  std::string where;
  // Where LIBBPF_PIN_BY_NAME maps are shared; null: every map is the object's own. Used only
  // while the object opens.
  PinnedMaps* pins = nullptr;
  // The kernel BTF that CO-RE relocations resolve against (sched::kernel_btf() for programs of
  // Linux's struct_ops API) and the values of __kconfig externs: loader::LoadOptions.
  std::span<const uint8_t> target_btf;
  std::map<std::string, uint64_t, std::less<>> kconfig;
};

struct ProgramInfo {
  std::string name;     // entry function
  std::string section;  // "qdisc/enqueue", "tc", …
  size_t insn_count = 0;
  bool verified = false;  // proved safe at load; runs without run-time checks
  exec::Backend backend = exec::Backend::Interpreter;  // what runs it
  // Why it runs checked: the verifier's reason, when it refused it (RunUnverifiedChecked) or
  // met what it does not model yet (VerifyResult::unsupported).
  std::string unverified;
};

class Object {
 public:
  static Object open(const std::string& path, const ObjectOptions& opts = {});
  // name: used for errors and global data map names, as for loader::load_object.
  static Object open(std::span<const uint8_t> elf_bytes, const std::string& name,
                     const ObjectOptions& opts = {});
  // A spec loaded already (with opts' target_btf and kconfig), so that a caller that reads the
  // spec first does not load the file twice; errors name spec.path.
  static Object open(loader::ObjectSpec spec, const ObjectOptions& opts = {});
  Object(Object&&) noexcept;
  Object& operator=(Object&&) noexcept;
  ~Object();

  std::vector<ProgramInfo> programs() const;
  // By section (first match) or entry function name; bpfq::Error listing the programs if absent.
  const exec::Program& program(std::string_view section_or_name) const;

  // By map name, or a global data map by section name (".bss", ".rodata"); bpfq::Error
  // listing the maps if absent.
  maps::Map& map(std::string_view name) const;
  std::shared_ptr<maps::Map> map_ptr(std::string_view name) const;
  // A new, empty map shaped like the inner-map template of the map-of-maps `outer`, with the
  // object's kptr_dtor; install it with maps::MapOfMaps::set_inner.
  std::shared_ptr<maps::Map> create_inner_map(std::string_view outer) const;
  // Destroys inner maps retired by the object's map-of-maps. Call it at a quiescent point:
  // after a run, never during one.
  void release_retired();

  const loader::ObjectSpec& spec() const;

  // The objects of the graph kfuncs (bpf_obj_new, lists, rbtrees), created when a program calls
  // one; null otherwise. Give it to runs as RunEnv::graph; call begin_run()/end_run() around
  // each run to catch leaked references. Checked programs may always touch its arena.
  GraphHeap* graph_heap() const;

  // Global variables, by name. Writes go straight into the global data map, .rodata included
  // (that is how user space passes parameters; programs cannot write .rodata). bpfq::Error if
  // the variable is unknown or the size differs from the variable's.
  void set_global(std::string_view var, std::span<const uint8_t> bytes);
  void get_global(std::string_view var, std::span<uint8_t> out) const;
  const loader::GlobalVariable& global(std::string_view var) const;

  template <class T>
    requires std::is_trivially_copyable_v<T>
  void set_global(std::string_view var, const T& value) {
    set_global(var, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof value));
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  T get_global(std::string_view var) const {
    T value;
    get_global(var, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof value));
    return value;
  }

  struct Impl;

 private:
  explicit Object(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// libbpf's pin_root_path in memory. The first object to open with a LIBBPF_PIN_BY_NAME map pins
// the map it created; later objects reuse it when their definition matches (type, key and value
// sizes, max_entries, flags, map_extra and packet-reference fields, as libbpf's
// map_is_reuse_compat checks), else their open fails naming both objects. A pinned map lives as
// long as the registry holds it, as a bpffs pin outlives the programs: unpin() it or destroy the
// registry after the objects (and, if it holds packet references, before their packet pool).
// Not thread-safe: open objects that share a registry from one thread.
class PinnedMaps {
 public:
  // The map pinned as `name`, or null.
  std::shared_ptr<maps::Map> find(std::string_view name) const;
  // Which object pinned `name` (its path, or ObjectOptions::where); "" if none.
  std::string pinned_by(std::string_view name) const;
  // Pins map as name; bpfq::Error if the name is taken.
  void pin(const std::string& name, std::shared_ptr<maps::Map> map, const std::string& owner);
  // Forgets the pin (objects using the map keep it); false if there was none.
  bool unpin(std::string_view name);
  std::vector<std::string> names() const;
  size_t size() const { return pins_.size(); }

 private:
  struct Pin {
    std::shared_ptr<maps::Map> map;
    std::string owner;
  };
  std::map<std::string, Pin, std::less<>> pins_;
};

}  // namespace bpfq::runtime
