#include "kconfig_externs.hpp"

#include <elf.h>
#include <linux/bpf.h>

#include <algorithm>

#include <bpf/btf.h>

#include <bpfq/error.hpp>

#include "location.hpp"

namespace bpfq::loader {

namespace {

struct Extern {
  std::string name;
  uint32_t type = 0;  // the VAR's type
  uint32_t size = 0;
  uint32_t align = 0;
  bool is_signed = false;
  bool weak = false;
};

const ElfSymbol* undefined_symbol(const ElfFile& elf, std::string_view name) {
  for (const ElfSymbol& s : elf.symbols())
    if (s.section == SHN_UNDEF && s.name == name) return &s;
  return nullptr;
}

std::string provided(const std::map<std::string, uint64_t, std::less<>>& values) {
  std::string names;
  for (const auto& [name, value] : values) names += (names.empty() ? "" : ", ") + name;
  return "bpfq provides: " + (names.empty() ? std::string("none") : names) +
         "; declare the extern __weak to read 0 when it is not provided";
}

// Whether value, taken as an integer of size bytes (sign-extended if is_signed), is unchanged.
bool fits(uint64_t value, uint32_t size, bool is_signed) {
  if (size >= 8) return true;
  const unsigned bits = size * 8;
  if (value >> bits == 0) return true;
  const auto v = static_cast<int64_t>(value);
  return is_signed && v < 0 && v >= -(int64_t{1} << (bits - 1));
}

}  // namespace

std::optional<KconfigExterns> read_kconfig_externs(
    const BtfTypes& btf, const ElfFile& elf,
    const std::map<std::string, uint64_t, std::less<>>& values, uint32_t map_index) {
  const std::optional<uint32_t> datasec = btf.find_datasec(".kconfig");
  if (!datasec) return std::nullopt;
  const std::string& where = elf.file_name();

  std::vector<Extern> externs;
  const btf_type* sec = btf.type(*datasec);
  const btf_var_secinfo* vars = btf_var_secinfos(sec);
  for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
    const btf_type* var = btf.type(vars[i].type);
    if (!btf_is_var(var)) continue;
    Extern e;
    e.name = btf.name(var->name_off);
    const ElfSymbol* sym = undefined_symbol(elf, e.name);
    if (!sym) continue;  // declared but never used: libbpf ignores it too
    e.weak = sym->bind == STB_WEAK;
    e.type = var->type;
    const btf_type* t = btf.type(btf.skip_modifiers(var->type));
    if (btf_is_int(t))
      e.is_signed = (btf_int_encoding(t) & BTF_INT_SIGNED) != 0;
    else if (btf_is_any_enum(t))
      e.is_signed = btf_kflag(t);
    else
      throw Error("__kconfig extern '" + e.name + "' is not an integer", where,
                  "bpfq gives kconfig externs integer values only (int, bool, char, tristate)");
    e.size = static_cast<uint32_t>(btf.size_of(var->type, "__kconfig extern '" + e.name + "'"));
    const int align = btf__align_of(btf.raw(), var->type);
    if (e.size == 0 || e.size > 8 || align <= 0 || align > 8)
      throw Error("__kconfig extern '" + e.name + "' has " + std::to_string(e.size) +
                      " bytes and alignment " + std::to_string(align),
                  where, "the file is corrupted");
    e.align = static_cast<uint32_t>(align);
    externs.push_back(std::move(e));
  }
  if (externs.empty()) return std::nullopt;
  std::sort(externs.begin(), externs.end(), [](const Extern& a, const Extern& b) {
    if (a.align != b.align) return a.align > b.align;
    if (a.size != b.size) return a.size < b.size;
    return a.name < b.name;
  });
  for (size_t i = 1; i < externs.size(); ++i)
    if (externs[i].name == externs[i - 1].name)
      throw Error("__kconfig extern '" + externs[i].name + "' is declared twice", where,
                  "the file is corrupted");

  KconfigExterns out;
  uint32_t offset = 0;
  for (const Extern& e : externs) {
    offset = (offset + e.align - 1) / e.align * e.align;
    out.variables.push_back({e.name, map_index, offset, e.size, ""});
    offset += e.size;
  }
  maps::MapSpec& spec = out.spec;
  spec.name = ".kconfig";
  spec.section = ".kconfig";
  spec.type = static_cast<uint32_t>(maps::MapType::Array);
  spec.key_size = 4;
  spec.value_size = (offset + 7) / 8 * 8;
  spec.max_entries = 1;
  spec.flags = BPF_F_RDONLY_PROG;
  spec.read_only = true;
  spec.global_data = true;
  spec.initial_value.assign(spec.value_size, 0);

  for (size_t i = 0; i < externs.size(); ++i) {
    const Extern& e = externs[i];
    const auto value = values.find(e.name);
    if (value == values.end()) {
      if (e.weak) continue;  // stays 0
      throw Error("__kconfig extern '" + e.name + "' has no value", where, provided(values));
    }
    if (!fits(value->second, e.size, e.is_signed))
      throw Error("kconfig value " + std::to_string(value->second) + " of '" + e.name +
                      "' does not fit its " + std::to_string(e.size) + " bytes",
                  where, "give a value in the range of the extern's type");
    // Little-endian: the low `size` bytes of the value.
    for (uint32_t b = 0; b < e.size; ++b)
      spec.initial_value[out.variables[i].offset + b] = static_cast<uint8_t>(value->second >> (8 * b));
  }
  return out;
}

}  // namespace bpfq::loader
