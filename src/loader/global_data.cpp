#include "global_data.hpp"

#include <elf.h>

#include <set>

#include <bpfq/error.hpp>

#include "location.hpp"

namespace bpfq::loader {

namespace {

bool named(std::string_view name, std::string_view base) {
  return name == base || (name.size() > base.size() && name.substr(0, base.size()) == base &&
                          name[base.size()] == '.');
}

}  // namespace

bool is_global_data_section(std::string_view name) {
  return named(name, ".data") || named(name, ".bss") || named(name, ".rodata");
}

std::string object_name_prefix(std::string_view path) {
  std::string_view base = path;
  if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
  base = base.substr(0, base.find('.'));
  return std::string(base.substr(0, 8));
}

std::vector<GlobalDataMap> read_global_data(const ElfFile& elf, std::string_view object_path) {
  const std::string prefix = object_name_prefix(object_path);
  std::vector<GlobalDataMap> out;
  std::set<std::string> names;
  for (const ElfSection& s : elf.sections()) {
    if (s.index == 0 || !is_global_data_section(s.name)) continue;
    const std::string where = at_section(elf.file_name(), s.name);
    if (s.type != SHT_PROGBITS && s.type != SHT_NOBITS)
      throw Error("global data section has unexpected type " + std::to_string(s.type), where,
                  "the file is corrupted");
    if (s.executable())
      throw Error("global data section is marked executable", where, "the file is corrupted");
    if (!names.insert(s.name).second)
      throw Error("duplicate global data section", where,
                  "each global data section must appear once");
    if (s.size == 0) continue;
    if (s.size > kMaxGlobalDataBytes)
      throw Error("global data section is " + std::to_string(s.size) + " bytes, more than the " +
                      std::to_string(kMaxGlobalDataBytes >> 20) + " MiB limit",
                  where, "allocate large tables as maps instead of global variables");

    GlobalDataMap m;
    m.section_index = s.index;
    m.spec.name = prefix + s.name;
    m.spec.section = s.name;
    m.spec.type = static_cast<uint32_t>(maps::MapType::Array);
    m.spec.key_size = 4;
    m.spec.value_size = static_cast<uint32_t>(s.size);
    m.spec.max_entries = 1;
    m.spec.read_only = named(s.name, ".rodata");
    m.spec.global_data = true;
    // A writable .bss starts as zeros the map provides itself; read-only data keeps its bytes,
    // which the verifier reads (format strings).
    if (!s.nobits())
      m.spec.initial_value.assign(s.data.begin(), s.data.end());
    else if (m.spec.read_only)
      m.spec.initial_value.assign(s.size, 0);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace bpfq::loader
