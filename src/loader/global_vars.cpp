#include "global_vars.hpp"

#include <bpf/btf.h>

#include <bpfq/error.hpp>

#include "location.hpp"

namespace bpfq::loader {

std::vector<GlobalVariable> read_global_variables(
    const BtfTypes& btf, const ElfFile& elf,
    const std::unordered_map<size_t, uint32_t>& data_map_of_section,
    const std::vector<maps::MapSpec>& maps) {
  std::vector<GlobalVariable> out;
  for (const ElfSection& section : elf.sections()) {
    const auto map = data_map_of_section.find(section.index);
    if (map == data_map_of_section.end()) continue;  // not global data, or empty
    const std::optional<uint32_t> datasec = btf.find_datasec(section.name);
    if (!datasec) continue;  // string literals (.rodata.str1.1) have no variables
    const std::string where = at_section(elf.file_name(), section.name);

    const btf_type* sec = btf.type(*datasec);
    const btf_var_secinfo* vars = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
      const btf_type* var = btf.type(vars[i].type);
      if (!btf_is_var(var)) continue;
      GlobalVariable g;
      g.name = btf.name(var->name_off);
      g.map_index = map->second;
      g.size = vars[i].size;
      // The first typedef under const/volatile: the parameter's unit (bpfq/bpf/sch_bpf.h).
      for (uint32_t t = var->type; t != 0;) {
        const btf_type* type = btf.type(t);
        if (btf_is_typedef(type)) {
          g.type_name = btf.name(type->name_off);
          break;
        }
        if (!btf_is_mod(type)) break;
        t = type->type;
      }
      // clang 14 writes zero offsets into DATASEC (libbpf fixes them up from the symbols).
      const ElfSymbol* sym = elf.find_object(g.name, section.index);
      if (sym == nullptr) {
        // clang 14 may put a constant array in a merge section (.rodata.cst16) while its BTF
        // lists it under .rodata: the symbol says where it is.
        for (const auto& [other_section, other_map] : data_map_of_section) {
          sym = elf.find_object(g.name, other_section);
          if (sym != nullptr) {
            g.map_index = other_map;
            break;
          }
        }
      }
      const uint64_t value_size = maps[g.map_index].value_size;
      const uint64_t offset = sym ? sym->value : vars[i].offset;
      if (offset + g.size > value_size)
        throw Error("global variable '" + g.name + "' (" + std::to_string(g.size) +
                        " bytes at offset " + std::to_string(offset) + ") lies outside its " +
                        std::to_string(value_size) + "-byte section",
                    where, "the file is corrupted");
      g.offset = static_cast<uint32_t>(offset);
      out.push_back(std::move(g));
    }
  }
  return out;
}

}  // namespace bpfq::loader
