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
//  - call src_reg CALL_HELPER:          imm = helper id, as compiled; kCorePoisonHelper where a
//                                       CO-RE relocation found no answer (libbpf's poison).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/maps/map_spec.hpp>

namespace bpfq::loader {

// What libbpf writes into an instruction whose CO-RE relocation has no answer: a call of helper
// 0xbad2310 ("bad relo"), harmless unless a run reaches it.
inline constexpr int32_t kCorePoisonHelper = 195896080;

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

// A CO-RE relocation the loader applied (.BTF.ext core_relo), kept so later layers can check
// what a program does with kernel types (e.g. which fields of struct sk_buff it writes).
struct CoreAccess {
  size_t insn = 0;        // instruction index in ProgramSpec::insns
  uint32_t kind = 0;      // enum bpf_core_relo_kind (0 FIELD_BYTE_OFFSET, … 12 TYPE_MATCHES)
  std::string type;       // the local root type's name, flavor stripped ("sk_buff")
  std::string access;     // "sk_buff.tstamp", "Qdisc.q.qlen", "sk_buff.cb[8]"; the type for type kinds
  uint64_t value = 0;     // what the instruction now holds (the target offset, size, id, …)
  bool resolved = true;   // false: no target matched; the instruction was poisoned
  // FIELD_BYTE_OFFSET on a store (ST/STX/atomic): the program writes this field.
  bool is_store = false;
  uint32_t access_size = 0;  // bytes the load or store touches (FIELD_BYTE_OFFSET on LDX/ST/STX)
};

struct ProgramSpec {
  std::string name;     // entry function symbol
  std::string section;  // "qdisc/enqueue", "tc", "xdp", …
  std::vector<ebpf::Insn> insns;
  std::vector<std::string> kfunc_names;  // CALL_KFUNC imm indexes this
  std::vector<FunctionRange> functions;  // entry first, then sub-programs in placement order
  std::vector<SourceLine> lines;         // sorted by insn; empty without -g
  std::vector<CoreAccess> core_accesses; // sorted by insn; empty without CO-RE relocations
  // The struct the entry function's first argument points to, as its BTF names it
  // ("sch_bpf_ctx", "bpf_qdisc_ctx", "__sk_buff"); "" without BTF or for another argument.
  // Tells the qdisc APIs apart (verifier::program_type_for_section).
  std::string ctx_struct;

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

// Fields of a struct or global data value that the runtime manages rather than the program
// (Linux's btf_record): graph roots and nodes, refcounts, locks and kptrs.
enum class SpecialKind : uint8_t { SpinLock, ListHead, ListNode, RbRoot, RbNode, Refcount, Kptr };

struct SpecialField {
  SpecialKind kind = SpecialKind::SpinLock;
  uint32_t offset = 0;  // bytes into the struct or value
  // ListHead/RbRoot (`__contains(T, node)`): the contained struct T (local BTF id) and the byte
  // offset of its node member.
  uint32_t contained_type = 0;
  uint32_t node_offset = 0;
  // Kptr: the pointee's struct name ("sk_buff": a packet) and, for one of the program's own
  // structs (an object from bpf_obj_new), its local BTF id (0 otherwise). Read from the
  // "kptr"/"kptr_ref" type tag, or inferred where clang 14 dropped it (loader/graph_records.hpp).
  std::string kptr_target;
  uint32_t kptr_type = 0;
};

// A struct of the program's BTF that bpf_obj_new may allocate: its size and special fields
// (direct members only).
struct LocalType {
  uint32_t id = 0;  // local BTF type id (bpf_core_type_id_local)
  std::string name;
  uint32_t size = 0;
  std::vector<SpecialField> fields;  // ascending offset
};

// A special field of a global variable (`private(A) struct bpf_list_head head __contains(…)`).
struct GlobalSpecialField {
  uint32_t map_index = 0;  // the global data map holding it
  SpecialField field;      // offset: bytes into that map's value
};

// One member of a struct_ops variable's struct, as the program's BTF declares it.
struct StructOpsMember {
  std::string name;
  uint32_t index = 0;   // member index in the local struct
  uint32_t offset = 0;  // bytes into StructOpsMap::data
  uint32_t size = 0;
  bool is_function = false;  // a function-pointer slot
  std::string program;       // is_function: entry function of the program in the slot; "" = NULL
};

// A SEC(".struct_ops") / SEC(".struct_ops.link") variable: libbpf's BPF_MAP_TYPE_STRUCT_OPS map.
struct StructOpsMap {
  std::string name;       // the variable ("fifo")
  std::string type_name;  // its struct, ___flavor stripped ("Qdisc_ops")
  std::string section;    // ".struct_ops", ".struct_ops.link", "?.struct_ops", …
  bool link = false;      // .struct_ops.link (BPF_F_LINK)
  std::vector<uint8_t> data;              // the variable's initial bytes
  std::vector<StructOpsMember> members;   // declaration order

  const StructOpsMember* member(std::string_view name) const;
};

struct ObjectSpec {
  std::string path;     // as given to load_object
  std::string license;  // contents of SEC("license"), "" if absent
  // BTF-defined maps (.maps, in declaration order), then one ARRAY per global data section
  // (.data, .bss, .rodata, .rodata.str1.1, .data.*, .rodata.* in ELF section order), then the
  // read-only .kconfig map of __kconfig externs if any.
  std::vector<maps::MapSpec> maps;
  std::vector<ProgramSpec> programs;  // in ELF section order, then by offset in the section
  std::vector<GlobalVariable> globals;  // in section order, then as BTF lists them
  // Names of the maps declared with __uint(pinning, LIBBPF_PIN_BY_NAME): objects opened with
  // the same runtime::PinnedMaps share them by name, as libbpf does under one pin_root_path.
  std::vector<std::string> pinned_by_name;
  std::vector<StructOpsMap> struct_ops;               // in section order, then by offset
  std::vector<LocalType> local_types;                 // every named struct with a size, by id
  std::vector<GlobalSpecialField> global_fields;      // in map order, then by offset

  const LocalType* local_type(uint32_t id) const;

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
