#include "struct_ops.hpp"

#include <elf.h>

#include <algorithm>

#include <bpf/btf.h>

#include <bpfq/error.hpp>

#include "core_relocs.hpp"
#include "location.hpp"

namespace bpfq::loader {

namespace {

constexpr uint32_t kRelBpf64Abs64 = 2;  // R_BPF_64_ABS64: a function-pointer slot

bool is_function_pointer(const BtfTypes& btf, uint32_t type) {
  const btf_type* t = btf.type(btf.skip_modifiers(type));
  if (!btf_is_ptr(t)) return false;
  return btf_is_func_proto(btf.type(btf.skip_modifiers(t->type)));
}

StructOpsMap read_variable(const BtfTypes& btf, const ElfSection& section, const btf_var_secinfo& info,
                           const ElfFile& elf, const std::string& where) {
  const btf_type* var = btf.type(info.type);
  if (!btf_is_var(var)) throw Error("DATASEC " + section.name + " lists a type that is not a variable", where, "the file is corrupted");
  StructOpsMap m;
  m.name = btf.name(var->name_off);
  m.section = section.name;
  m.link = section.name.find(".struct_ops.link") != std::string::npos;
  const uint32_t type_id = btf.skip_modifiers(var->type);
  const btf_type* type = btf.type(type_id);
  if (!btf_is_struct(type) || type->name_off == 0)
    throw Error("struct_ops variable '" + m.name + "' is not of a named struct type", where,
                "declare it as `SEC(\".struct_ops\") struct Qdisc_ops " + m.name + " = { … };`");
  m.type_name = std::string(essential_name(btf.name(type->name_off)));

  const ElfSymbol* sym = elf.find_object(m.name, section.index);
  const uint64_t offset = sym ? sym->value : info.offset;  // clang leaves DATASEC offsets 0
  const uint64_t size = type->size;
  if (offset > section.data.size() || size > section.data.size() - offset)
    throw Error("struct_ops variable '" + m.name + "' (" + std::to_string(size) + " bytes at offset " +
                    std::to_string(offset) + ") lies outside its section",
                where, "the file is corrupted");
  m.data.assign(section.data.begin() + static_cast<ptrdiff_t>(offset),
                section.data.begin() + static_cast<ptrdiff_t>(offset + size));

  const btf_member* members = btf_members(type);
  for (uint16_t i = 0; i < btf_vlen(type); ++i) {
    StructOpsMember member;
    member.name = btf.name(members[i].name_off);
    member.index = i;
    if (btf_member_bitfield_size(type, i) != 0 || btf_member_bit_offset(type, i) % 8 != 0)
      throw Error("member '" + member.name + "' of struct_ops variable '" + m.name + "' is a bitfield", where,
                  "struct_ops structs have no bitfields");
    member.offset = btf_member_bit_offset(type, i) / 8;
    member.size = static_cast<uint32_t>(btf.size_of(members[i].type, "member '" + member.name + "' of " + m.name));
    if (member.offset > size || member.size > size - member.offset)
      throw Error("member '" + member.name + "' of struct_ops variable '" + m.name + "' lies outside the struct", where,
                  "the file is corrupted");
    member.is_function = is_function_pointer(btf, members[i].type);
    m.members.push_back(std::move(member));
  }
  return m;
}

}  // namespace

bool is_struct_ops_section(std::string_view name) {
  if (name.starts_with("?")) name.remove_prefix(1);
  return name == ".struct_ops" || name == ".struct_ops.link";
}

std::vector<StructOpsMap> read_struct_ops(const ElfFile& elf, const BtfTypes* btf) {
  std::vector<StructOpsMap> out;
  for (const ElfSection& section : elf.sections()) {
    if (section.index == 0 || !is_struct_ops_section(section.name)) continue;
    const std::string where = at_section(elf.file_name(), section.name);
    if (!btf) throw Error("struct_ops variables need BTF, but the object has no .BTF section", where, "compile with -g");
    const std::optional<uint32_t> datasec = btf->find_datasec(section.name);
    if (!datasec) throw Error("no BTF DATASEC describes section " + section.name, where, "compile with -g");

    // Variables of this section with their start offsets, to place each relocation in one.
    struct Placed {
      size_t index;  // into out
      uint64_t begin, end;
    };
    std::vector<Placed> placed;
    const btf_type* sec = btf->type(*datasec);
    const btf_var_secinfo* vars = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
      StructOpsMap m = read_variable(*btf, section, vars[i], elf, where);
      const ElfSymbol* sym = elf.find_object(m.name, section.index);
      const uint64_t begin = sym ? sym->value : vars[i].offset;
      placed.push_back({out.size(), begin, begin + m.data.size()});
      out.push_back(std::move(m));
    }
    std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.begin < b.begin; });

    for (const ElfSection& rel : elf.sections()) {
      if (rel.type != SHT_REL || rel.info != section.index) continue;
      const std::string rel_where = at_section(elf.file_name(), rel.name);
      for (const ElfRelocation& r : elf.relocations(rel)) {
        if (r.type != kRelBpf64Abs64)
          throw Error("relocation of type " + std::to_string(r.type) + " in " + section.name, rel_where,
                      "struct_ops slots take R_BPF_64_ABS64 relocations only; the file is corrupted");
        auto in = std::find_if(placed.begin(), placed.end(),
                               [&](const Placed& p) { return r.offset >= p.begin && r.offset < p.end; });
        if (in == placed.end())
          throw Error("relocation at offset " + std::to_string(r.offset) + " lies in no struct_ops variable",
                      rel_where, "the file is corrupted");
        StructOpsMap& m = out[in->index];
        const uint64_t at = r.offset - in->begin;
        auto member = std::find_if(m.members.begin(), m.members.end(),
                                   [&](const StructOpsMember& mb) { return mb.offset == at; });
        if (member == m.members.end() || !member->is_function)
          throw Error("relocation at offset " + std::to_string(at) + " of '" + m.name + "' is not a function slot",
                      rel_where, "only function-pointer members of a struct_ops struct may name programs");
        if (r.symbol >= elf.symbols().size())
          throw Error("relocation names symbol " + std::to_string(r.symbol) + ", which does not exist", rel_where,
                      "the file is corrupted");
        const ElfSymbol& sym = elf.symbols()[r.symbol];
        if (sym.type != STT_FUNC || sym.section >= elf.sections().size() || !elf.sections()[sym.section].executable())
          throw Error("slot '" + member->name + "' of '" + m.name + "' names '" + sym.name + "', which is not a program",
                      rel_where, "assign a SEC(\"struct_ops/…\") program: `." + member->name + " = (void *)prog,`");
        member->program = sym.name;
      }
    }
  }
  return out;
}

}  // namespace bpfq::loader
