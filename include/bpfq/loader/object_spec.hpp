#pragma once
// What an eBPF object file declares, linked and ready for the verifier and the maps layer:
// programs (entry function + every sub-program it reaches, relocations applied) and map specs.
//
// Linked instruction conventions (what later layers rely on):
//  - lddw src_reg PSEUDO_MAP_IDX:       imm = index into ObjectSpec::maps;
//  - lddw src_reg PSEUDO_MAP_IDX_VALUE: imm = map index, imm of the second slot = byte offset
//                                       into the map's value (global data);
//  - lddw src_reg PSEUDO_FUNC:          imm = target - (idx + 1), a sub-program start;
//  - call src_reg CALL_LOCAL:           imm = target - (idx + 1), a sub-program start;
//  - call src_reg CALL_KFUNC:           imm = index into ProgramSpec::kfunc_names;
//  - call src_reg CALL_HELPER:          imm = helper id, as compiled.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/maps/map_spec.hpp>

namespace bpfq::loader {

// A function placed in a linked program: the entry (first) or an appended sub-program.
struct FunctionRange {
  std::string name;
  size_t start = 0;  // instruction index in ProgramSpec::insns
  size_t count = 0;  // instruction slots
};

// One .BTF.ext line-info record: the source line an instruction came from.
struct SourceLine {
  size_t insn = 0;   // instruction index in ProgramSpec::insns
  std::string file;  // as the compiler saw it
  uint32_t line = 0;
  uint32_t column = 0;
  std::string text;  // the source line itself
};

struct ProgramSpec {
  std::string name;     // entry function symbol
  std::string section;  // "qdisc/enqueue", "tc", "xdp", …
  std::vector<ebpf::Insn> insns;
  std::vector<std::string> kfunc_names;  // CALL_KFUNC imm indexes this
  std::vector<FunctionRange> functions;  // entry first, then sub-programs in placement order
  std::vector<SourceLine> lines;         // sorted by insn; empty without -g

  // The line-info record covering insn (the last one at or before it), or nullptr.
  const SourceLine* line_at(size_t insn) const;
  // "prog.bpf.c:42" for insn, or "" when unknown.
  std::string source_location(size_t insn) const;
  // The function that contains insn, or nullptr if insn is out of range.
  const FunctionRange* function_at(size_t insn) const;
};

// A global variable (.data, .bss, .rodata*): where its bytes live in a global data map's value.
// Read from the BTF DATASEC of its section, placed by the ELF symbol (clang leaves DATASEC
// offsets zero). Static variables are listed too; function-scope statics as "func.var".
struct GlobalVariable {
  std::string name;
  uint32_t map_index = 0;  // into ObjectSpec::maps (a global data ARRAY)
  uint32_t offset = 0;     // bytes into the map's value
  uint32_t size = 0;
  std::string type_name;   // the typedef it is declared with ("bpfq_time_ns"), "" for none
};

struct ObjectSpec {
  std::string path;     // as given to load_object
  std::string license;  // contents of SEC("license"), "" if absent
  // BTF-defined maps (.maps, in declaration order), then one ARRAY per global data section
  // (.data, .bss, .rodata, .rodata.str1.1, .data.*, .rodata.* in ELF section order).
  std::vector<maps::MapSpec> maps;
  std::vector<ProgramSpec> programs;  // in ELF section order, then by offset in the section
  std::vector<GlobalVariable> globals;  // in section order, then as BTF lists them
  // Names of the maps declared with __uint(pinning, LIBBPF_PIN_BY_NAME): objects opened with
  // the same runtime::PinnedMaps share them by name, as libbpf does under one pin_root_path.
  std::vector<std::string> pinned_by_name;

  // The program whose section (first match) or entry function name is section_or_name.
  const ProgramSpec* program(std::string_view section_or_name) const;
  // Index of the map named name, or of the global data map of ELF section name (".bss");
  // -1 if absent.
  int map_index(std::string_view name) const;
  // Whether map `name` is declared with LIBBPF_PIN_BY_NAME.
  bool is_pinned_by_name(std::string_view name) const {
    for (const std::string& pinned : pinned_by_name)
      if (pinned == name) return true;
    return false;
  }
};

}  // namespace bpfq::loader
