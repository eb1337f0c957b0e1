// check_object: the problems a user can fix in one go, each as the Error load_object would
// throw, without stopping at the first of those that leave the rest of the file readable.
#include <bpfq/loader/check_object.hpp>

#include <elf.h>

#include <memory>

#include <bpf/btf.h>

#include <bpfq/loader/load_object.hpp>

#include "btf_types.hpp"
#include "elf_file.hpp"
#include "global_data.hpp"
#include "location.hpp"

namespace bpfq::loader {

namespace {

bool same(const Error& a, const Error& b) { return a.reason() == b.reason() && a.where() == b.where(); }

// What __uint/__type/__array build: a struct whose members are all pointers, one named `type`.
bool looks_like_map_definition(const BtfTypes& btf, uint32_t type_id) {
  const btf_type* t = btf.type(btf.skip_modifiers(type_id));
  if (!btf_is_struct(t) || btf_vlen(t) == 0) return false;
  bool has_type = false;
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i) {
    if (!btf_is_ptr(btf.type(btf.skip_modifiers(m[i].type)))) return false;
    has_type = has_type || btf.name(m[i].name_off) == "type";
  }
  return has_type;
}

// A map definition without SEC(".maps") compiles into a global variable: programs would pass
// the variable's address as a map and fault at run time.
void find_maps_in_global_data(const ElfFile& elf, const BtfTypes& btf, std::vector<Error>& problems) {
  for (const ElfSection& section : elf.sections()) {
    if (section.index == 0 || !is_global_data_section(section.name)) continue;
    const std::optional<uint32_t> datasec = btf.find_datasec(section.name);
    if (!datasec) continue;
    const btf_type* sec = btf.type(*datasec);
    const btf_var_secinfo* vars = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
      const btf_type* var = btf.type(vars[i].type);
      if (!btf_is_var(var) || !looks_like_map_definition(btf, var->type)) continue;
      problems.emplace_back("map '" + btf.name(var->name_off) + "' is defined outside SEC(\".maps\"), as a global variable",
                            at_section(elf.file_name(), section.name),
                            "declare it as struct { __uint(type, …); … } " + btf.name(var->name_off) +
                                " SEC(\".maps\");");
    }
  }
}

void check_elf(std::span<const uint8_t> bytes, const std::string& name, ObjectCheck& out) {
  const ElfFile elf(bytes, name);
  for (const ElfSection& s : elf.sections())
    if (s.index != 0) out.sections.push_back({s.name, s.executable(), (s.flags & SHF_ALLOC) != 0, s.size});
  if (const ElfSection* legacy = elf.find_section("maps"); legacy && legacy->size != 0)
    out.problems.emplace_back("legacy map definitions are not supported", at_section(name, "maps"),
                              "declare maps with BTF: struct { __uint(type, …); … } name SEC(\".maps\");");
  if (const ElfSection* s = elf.find_section(".BTF")) {
    try {
      const BtfTypes btf(s->data, at_section(name, s->name));
      find_maps_in_global_data(elf, btf, out.problems);
    } catch (const Error&) {
      // load_object reports broken BTF below.
    }
  }
}

}  // namespace

ObjectCheck check_object(std::span<const uint8_t> elf_bytes, const std::string& name, const LoadOptions& opts) {
  ObjectCheck out;
  try {
    check_elf(elf_bytes, name, out);
  } catch (const Error& e) {  // not an ELF object at all: nothing else to look at
    out.sections.clear();
    out.problems.push_back(e);
    return out;
  }
  try {
    out.spec = load_object(elf_bytes, name, opts);
  } catch (const Error& e) {
    bool known = false;
    for (const Error& p : out.problems) known = known || same(p, e);
    if (!known) out.problems.push_back(e);
  }
  return out;
}

ObjectCheck check_object(const std::string& path, const LoadOptions& opts) {
  std::vector<uint8_t> bytes;
  try {
    bytes = read_object_file(path);  // refuses folders, devices and huge files before reading
  } catch (const Error& e) {
    ObjectCheck out;
    out.problems.push_back(e);
    return out;
  }
  return check_object(bytes, path, opts);
}

}  // namespace bpfq::loader
