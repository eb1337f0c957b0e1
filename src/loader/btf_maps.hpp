#pragma once
// BTF-defined maps: the DATASEC ".maps" lists one VAR per map, whose type is the anonymous
// struct that bpf_helpers.h's __uint/__type/__array macros build.
#include <cstdint>
#include <vector>

#include <bpfq/maps/map_spec.hpp>

#include "btf_types.hpp"
#include "elf_file.hpp"

namespace bpfq::loader {

struct DeclaredMap {
  maps::MapSpec spec;
  uint64_t offset = 0;  // where its definition starts in the .maps section (relocations name it)
  bool pin_by_name = false;  // __uint(pinning, LIBBPF_PIN_BY_NAME)
};

// In DATASEC order (libbpf's order). maps_section is the ELF .maps section.
std::vector<DeclaredMap> read_btf_maps(const BtfTypes& btf, const ElfFile& elf,
                                       const ElfSection& maps_section);

}  // namespace bpfq::loader
