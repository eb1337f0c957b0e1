#pragma once
// __kconfig externs (`extern unsigned CONFIG_HZ __kconfig;`): clang emits an undefined symbol
// per extern and lists them in a BTF DATASEC ".kconfig", with no ELF section. As libbpf does,
// they become one read-only ARRAY map ".kconfig" whose value holds them sorted by descending
// alignment, then ascending size, then name; programs address them as global data.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/loader/object_spec.hpp>
#include <bpfq/maps/map_spec.hpp>

#include "btf_types.hpp"
#include "elf_file.hpp"

namespace bpfq::loader {

struct KconfigExterns {
  maps::MapSpec spec;                    // ".kconfig", value filled from the given values
  std::vector<GlobalVariable> variables;  // in layout order; map_index as passed in
};

// nullopt when the object declares no __kconfig extern its code refers to. values: by name
// (integers of the extern's size; bool/char/tristate are 0/1/2). An extern without a value is 0
// if __weak, an error otherwise.
std::optional<KconfigExterns> read_kconfig_externs(
    const BtfTypes& btf, const ElfFile& elf,
    const std::map<std::string, uint64_t, std::less<>>& values, uint32_t map_index);

}  // namespace bpfq::loader
