#pragma once
// Global variables: each .data/.bss/.rodata* section becomes a one-element ARRAY map whose
// value is the section's bytes, as libbpf does; programs address variables as offsets into it.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/maps/map_spec.hpp>

#include "elf_file.hpp"

namespace bpfq::loader {

// A .bss larger than this is a corrupted header, not a program (sh_size costs no file bytes).
inline constexpr uint64_t kMaxGlobalDataBytes = 64u << 20;

struct GlobalDataMap {
  maps::MapSpec spec;
  size_t section_index = 0;  // ELF section it mirrors
};

// .data, .bss, .rodata, .data.*, .bss.*, .rodata.* (incl. .rodata.str1.1).
bool is_global_data_section(std::string_view name);

// libbpf's internal map name prefix: the object's base name up to its first '.', at most
// 8 characters ("qdisc_prio.bpf.o" -> "qdisc_pr").
std::string object_name_prefix(std::string_view path);

// One map per non-empty global data section, in ELF section order.
std::vector<GlobalDataMap> read_global_data(const ElfFile& elf, std::string_view object_path);

}  // namespace bpfq::loader
