#pragma once
// The object's executable sections: their instructions, the functions the symbol table places
// in them, and every relocation resolved to what it names (a map, a global variable, code, a
// kfunc). Nothing is rewritten here; the linker does that per program.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <bpfq/ebpf/insn.hpp>

#include "elf_file.hpp"

namespace bpfq::loader {

// A call of a helper, a local function or a kfunc (src_reg tells which).
inline bool is_call(const ebpf::Insn& insn) { return insn.code == (ebpf::JMP | ebpf::CALL); }

struct CodeFunction {
  std::string name;
  size_t start = 0;  // instruction index in its section
  size_t count = 0;
  bool global = false;  // STB_GLOBAL or STB_WEAK
};

enum class RelocationTarget {
  Map,              // lddw of a BTF-defined map
  GlobalData,       // lddw of an address inside a global data section
  FunctionAddress,  // lddw of a function (bpf_loop / for_each callbacks)
  LocalCall,        // call of a function in this object
  Kfunc,            // call of an extern __ksym function
};

struct ResolvedRelocation {
  RelocationTarget target = RelocationTarget::Map;
  uint32_t map_index = 0;    // Map, GlobalData
  uint32_t data_offset = 0;  // GlobalData: byte offset into the section
  size_t code_section = 0;   // FunctionAddress, LocalCall: index into the CodeSection list
  size_t target_insn = 0;    // FunctionAddress, LocalCall: instruction index in that section
  std::string symbol;        // the symbol named by the relocation (the kfunc name for Kfunc)
};

struct CodeSection {
  size_t elf_index = 0;
  std::string name;
  std::vector<ebpf::Insn> insns;
  std::vector<CodeFunction> functions;  // sorted by start, non-overlapping
  std::unordered_map<size_t, ResolvedRelocation> relocations;  // by instruction index

  const CodeFunction* function_starting_at(size_t insn) const;
};

// What non-code relocation targets resolve to.
struct RelocationTargets {
  size_t maps_section = 0;                               // ELF index of .maps, 0 if none
  std::map<uint64_t, uint32_t> map_at_offset;            // .maps offset -> ObjectSpec::maps index
  std::unordered_map<size_t, uint32_t> data_map_of_section;  // ELF index -> ObjectSpec::maps index
  std::set<std::string, std::less<>> kfuncs;             // functions in BTF DATASEC .ksyms
  std::set<std::string, std::less<>> ksym_variables;     // variables there (unsupported)
  // __kconfig externs: ObjectSpec::maps index of their ".kconfig" map, and each one's place in
  // its value (lddw of an extern resolves as GlobalData there).
  struct Extern {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  uint32_t kconfig_map = 0;
  std::map<std::string, Extern, std::less<>> kconfig_externs;
};

// Every SHF_EXECINSTR section, in ELF order, with its functions and resolved relocations.
std::vector<CodeSection> read_code_sections(const ElfFile& elf, const RelocationTargets& targets);

}  // namespace bpfq::loader
