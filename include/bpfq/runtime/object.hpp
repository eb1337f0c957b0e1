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
#include <cstdint>
#include <cstring>
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

struct ObjectOptions {
  // There is no verifier yet, so programs from files run checked (bounds, budget) by default.
  bool checked = true;
  uint64_t insn_budget = 1'000'000;  // checked mode: instructions per run
  // Helpers and kfuncs the programs may call; null: standard_helpers(). Must outlive the Object.
  const exec::HelperRegistry* helpers = nullptr;
  // Set on every map the object creates (and on inner maps made by create_inner_map): releases
  // the packet references held in kptr fields.
  maps::KptrDtor kptr_dtor = nullptr;
  // Shown in errors instead of the path, e.g. "tc qdisc add … (prog.bpf.o)".
  std::string where;
};

struct ProgramInfo {
  std::string name;     // entry function
  std::string section;  // "qdisc/enqueue", "tc", …
  size_t insn_count = 0;
};

class Object {
 public:
  static Object open(const std::string& path, const ObjectOptions& opts = {});
  // name: used for errors and global data map names, as for loader::load_object.
  static Object open(std::span<const uint8_t> elf_bytes, const std::string& name,
                     const ObjectOptions& opts = {});
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

}  // namespace bpfq::runtime
