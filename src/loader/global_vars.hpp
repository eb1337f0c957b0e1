#pragma once
// The global variables of an object, for user space (parameters set before a run, results
// read after): each one's name and place in its global data map.
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "btf_types.hpp"
#include "elf_file.hpp"

namespace bpfq::loader {

// data_map_of_section: ELF section index -> ObjectSpec::maps index of its global data map.
// Variables of sections without a map (empty ones) are skipped.
std::vector<GlobalVariable> read_global_variables(
    const BtfTypes& btf, const ElfFile& elf,
    const std::unordered_map<size_t, uint32_t>& data_map_of_section,
    const std::vector<maps::MapSpec>& maps);

}  // namespace bpfq::loader
