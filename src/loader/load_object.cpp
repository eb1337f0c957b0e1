// The loader's pipeline: ELF -> BTF -> map specs -> code sections with resolved relocations ->
// linked programs. Every stage validates what it reads, so a corrupted file fails with a
// bpfq::Error before anything is returned.
#include <bpfq/loader/load_object.hpp>

#include <elf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <bpf/btf.h>

#include <bpfq/error.hpp>

#include "btf_maps.hpp"
#include "btf_types.hpp"
#include "code_sections.hpp"
#include "core_relocs.hpp"
#include "elf_file.hpp"
#include "global_data.hpp"
#include "global_vars.hpp"
#include "graph_records.hpp"
#include "kconfig_externs.hpp"
#include "line_info.hpp"
#include "linker.hpp"
#include "location.hpp"
#include "struct_ops.hpp"

namespace bpfq::loader {

namespace {

void reject_duplicate_sections(const ElfFile& elf) {
  for (const char* unique : {".maps", "maps", ".BTF", ".BTF.ext", "license"}) {
    size_t count = 0;
    for (const ElfSection& s : elf.sections())
      if (s.index != 0 && s.name == unique) ++count;
    if (count > 1)
      throw Error("object has " + std::to_string(count) + " sections named " + unique,
                  elf.file_name(), "the file is corrupted");
  }
}

std::string read_license(const ElfFile& elf) {
  const ElfSection* s = elf.find_section("license");
  if (!s) return {};
  const auto* chars = reinterpret_cast<const char*>(s->data.data());
  return std::string(chars, strnlen(chars, s->data.size()));
}

// Kernel functions are the FUNC entries of BTF DATASEC .ksyms (extern … __ksym); a plain
// extern function is not listed there.
void read_ksyms(const BtfTypes& btf, RelocationTargets& targets) {
  const std::optional<uint32_t> ksyms = btf.find_datasec(".ksyms");
  if (!ksyms) return;
  const btf_type* sec = btf.type(*ksyms);
  const btf_var_secinfo* vars = btf_var_secinfos(sec);
  for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
    const btf_type* t = btf.type(vars[i].type);
    if (btf_is_func(t))
      targets.kfuncs.insert(btf.name(t->name_off));
    else if (btf_is_var(t))
      targets.ksym_variables.insert(btf.name(t->name_off));
  }
}

// Relocations inside data would mean pointers stored in maps or globals, which have no
// meaning once those live in runtime memory.
void reject_data_relocations(const ElfFile& elf) {
  for (const ElfSection& rel : elf.sections()) {
    if (rel.type != SHT_REL && rel.type != SHT_RELA) continue;
    if (rel.info >= elf.sections().size())
      throw Error("relocation section applies to section " + std::to_string(rel.info) +
                      ", which does not exist",
                  at_section(elf.file_name(), rel.name), "the file is corrupted");
    const ElfSection& target = elf.sections()[rel.info];
    if (rel.size == 0) continue;
    if (target.name == ".maps")
      throw Error("map definitions carry relocations (initialised map-in-map 'values')",
                  at_section(elf.file_name(), rel.name),
                  "initial inner maps in the definition are not supported; insert them from user "
                  "space");
    if (is_global_data_section(target.name))
      throw Error("global variables in " + target.name + " hold addresses of other symbols",
                  at_section(elf.file_name(), rel.name),
                  "eBPF global variables cannot hold pointers; store indexes or arrays instead");
  }
}

}  // namespace

ObjectSpec load_object(std::span<const uint8_t> elf_bytes, const std::string& name) {
  return load_object(elf_bytes, name, LoadOptions{});
}

ObjectSpec load_object(std::span<const uint8_t> elf_bytes, const std::string& name,
                       const LoadOptions& opts) {
  const ElfFile elf(elf_bytes, name);
  reject_duplicate_sections(elf);

  ObjectSpec spec;
  spec.path = name;
  spec.license = read_license(elf);

  std::unique_ptr<BtfTypes> btf;
  if (const ElfSection* s = elf.find_section(".BTF"))
    btf = std::make_unique<BtfTypes>(s->data, at_section(name, s->name));

  RelocationTargets targets;
  if (const ElfSection* legacy = elf.find_section("maps"); legacy && legacy->size != 0)
    throw Error("legacy map definitions are not supported", at_section(name, "maps"),
                "declare maps with BTF: struct { __uint(type, …); … } name SEC(\".maps\");");
  if (const ElfSection* maps_section = elf.find_section(".maps")) {
    if (!btf)
      throw Error("map definitions need BTF, but the object has no .BTF section",
                  at_section(name, ".maps"), "compile with -g");
    for (DeclaredMap& m : read_btf_maps(*btf, elf, *maps_section)) {
      targets.map_at_offset[m.offset] = static_cast<uint32_t>(spec.maps.size());
      if (m.pin_by_name) spec.pinned_by_name.push_back(m.spec.name);
      spec.maps.push_back(std::move(m.spec));
    }
    targets.maps_section = maps_section->index;
  }
  for (GlobalDataMap& d : read_global_data(elf, name)) {
    targets.data_map_of_section[d.section_index] = static_cast<uint32_t>(spec.maps.size());
    spec.maps.push_back(std::move(d.spec));
  }
  if (btf) {
    read_ksyms(*btf, targets);
    spec.globals = read_global_variables(*btf, elf, targets.data_map_of_section, spec.maps);
    const auto kconfig_map = static_cast<uint32_t>(spec.maps.size());
    if (std::optional<KconfigExterns> k = read_kconfig_externs(*btf, elf, opts.kconfig, kconfig_map)) {
      targets.kconfig_map = kconfig_map;
      for (GlobalVariable& v : k->variables) {
        targets.kconfig_externs[v.name] = {v.offset, v.size};
        spec.globals.push_back(std::move(v));
      }
      spec.maps.push_back(std::move(k->spec));
    }
  }
  spec.struct_ops = read_struct_ops(elf, btf.get());
  if (btf) read_graph_records(*btf, spec);
  reject_data_relocations(elf);

  LineTable lines;
  const ElfSection* ext = btf ? elf.find_section(".BTF.ext") : nullptr;
  if (ext) lines = read_line_info(ext->data, *btf, at_section(name, ext->name));

  std::vector<CodeSection> code = read_code_sections(elf, targets);
  CoreTable core;  // patches code before it is linked
  if (ext) core = apply_core_relocations(ext->data, *btf, opts.target_btf, code, name);
  spec.programs = link_programs(name, code, lines, core);
  if (btf)
    for (ProgramSpec& p : spec.programs) p.ctx_struct = btf->first_param_struct(p.name);
  return spec;
}

std::vector<uint8_t> read_object_file(const std::string& path) {
  // Checked before reading: a folder fails midway through the read, a device never ends.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    const int err = ec ? ec.value() : ENOENT;
    throw Error(std::string("cannot open: ") + std::strerror(err), path);
  }
  if (std::filesystem::is_directory(status))
    throw Error("is a folder, not an object file", path, "name a .bpf.o file built by clang -target bpf");
  if (!std::filesystem::is_regular_file(status))
    throw Error("is not a regular file (a device, pipe or socket)", path, "name a .bpf.o file built by clang -target bpf");
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(std::string("cannot read the size: ") + ec.message(), path);
  if (size > kMaxObjectBytes)
    throw Error("the object has " + std::to_string(size) + " bytes, over the limit of " + std::to_string(kMaxObjectBytes),
                path, "an eBPF object is at most a few MiB; is this the right file?");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open: ") + std::strerror(errno), path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) throw Error("read failed", path);
  bytes.resize(static_cast<size_t>(in.gcount()));  // the file may have shrunk meanwhile
  return bytes;
}

bool declares_struct_ops(std::span<const uint8_t> elf_bytes, const std::string& name) {
  const ElfFile elf(elf_bytes, name);
  for (const ElfSection& s : elf.sections())
    if (is_struct_ops_section(s.name)) return true;
  return false;
}

ObjectSpec load_object(const std::string& path) { return load_object(path, LoadOptions{}); }

ObjectSpec load_object(const std::string& path, const LoadOptions& opts) {
  return load_object(read_object_file(path), path, opts);
}

}  // namespace bpfq::loader
