#include "code_sections.hpp"

#include <elf.h>

#include <algorithm>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>

#include "location.hpp"

namespace bpfq::loader {

namespace {

constexpr uint32_t kRelocLddw = 1;   // R_BPF_64_64: imm of an lddw
constexpr uint32_t kRelocCall = 10;  // R_BPF_64_32: imm of a call

std::string section_name_of(const ElfFile& elf, uint32_t index) {
  return index < elf.sections().size() ? elf.sections()[index].name : "#" + std::to_string(index);
}

std::string relocation_type_name(uint32_t type) {
  switch (type) {
    case 0: return "R_BPF_NONE";
    case 2: return "R_BPF_64_ABS64";
    case 3: return "R_BPF_64_ABS32";
    case 4: return "R_BPF_64_NODYLD32";
    default: return "type " + std::to_string(type);
  }
}

class RelocationResolver {
 public:
  RelocationResolver(const ElfFile& elf, const RelocationTargets& targets,
                     const std::vector<CodeSection>& code,
                     const std::unordered_map<size_t, size_t>& code_index_of_elf)
      : elf_(elf), targets_(targets), code_(code), code_index_of_elf_(code_index_of_elf) {}

  ResolvedRelocation resolve(const CodeSection& sec, const ElfRelocation& rel) const {
    const std::string where_sec = at_section(elf_.file_name(), sec.name);
    if (rel.offset % sizeof(ebpf::Insn) != 0 || rel.offset / sizeof(ebpf::Insn) >= sec.insns.size())
      throw Error("relocation at byte offset " + std::to_string(rel.offset) +
                      " does not name an instruction of the section",
                  where_sec, "the file is corrupted");
    const size_t idx = rel.offset / sizeof(ebpf::Insn);
    where_ = at_insn(elf_.file_name(), sec.name, idx);
    if (rel.symbol == 0 || rel.symbol >= elf_.symbols().size())
      throw Error("relocation refers to symbol #" + std::to_string(rel.symbol) + ", which does not exist",
                  where_, "the file is corrupted");
    const ElfSymbol& sym = elf_.symbols()[rel.symbol];
    const ebpf::Insn& insn = sec.insns[idx];

    if (rel.type == kRelocLddw) {
      if (insn.code != ebpf::LDDW_OPCODE || idx + 1 >= sec.insns.size())
        throw Error("R_BPF_64_64 relocation against '" + sym.name +
                        "' on an instruction that is not a 64-bit immediate load",
                    where_, "the file is corrupted");
      return resolve_address(sym, insn.imm);
    }
    if (rel.type == kRelocCall) {
      if (!is_call(insn) || insn.src != ebpf::CALL_LOCAL)
        throw Error("R_BPF_64_32 relocation against '" + sym.name + "' on an instruction that is not a call",
                    where_, "the file is corrupted");
      return resolve_call(sym, insn.imm);
    }
    throw Error("unsupported relocation " + relocation_type_name(rel.type) + " against '" + sym.name + "'",
                where_, "code sections take only R_BPF_64_64 (lddw) and R_BPF_64_32 (call) relocations");
  }

 private:
  // lddw: the implicit addend is the instruction's imm, a byte offset from the symbol.
  ResolvedRelocation resolve_address(const ElfSymbol& sym, int32_t addend) const {
    ResolvedRelocation r;
    r.symbol = sym.name;
    if (sym.section == SHN_UNDEF) {
      if (auto it = targets_.kconfig_externs.find(sym.name); it != targets_.kconfig_externs.end()) {
        if (addend < 0 || static_cast<uint32_t>(addend) > it->second.size)
          throw Error("reference to '" + sym.name + "' + " + std::to_string(addend) +
                          " lies outside the extern",
                      where_, "the file is corrupted");
        r.target = RelocationTarget::GlobalData;
        r.map_index = targets_.kconfig_map;
        r.data_offset = it->second.offset + static_cast<uint32_t>(addend);
        return r;
      }
      const bool ksym = targets_.ksym_variables.count(sym.name) != 0;
      throw Error("reference to undefined symbol '" + sym.name + "'", where_,
                  ksym ? "__ksym variables (typed kernel symbols) are not supported"
                       : "of extern variables only __kconfig ones are supported (compile with "
                         "-g so that BTF lists them); define the variable in this object");
    }
    const int64_t offset = static_cast<int64_t>(sym.value) + addend;
    if (sym.value > INT32_MAX || offset < 0)
      throw Error("reference to '" + sym.name + "' at offset " + std::to_string(offset) +
                      " is out of range",
                  where_, "the file is corrupted");

    if (targets_.maps_section != 0 && sym.section == targets_.maps_section) {
      auto it = targets_.map_at_offset.find(static_cast<uint64_t>(offset));
      if (it == targets_.map_at_offset.end())
        throw Error("reference into .maps at offset " + std::to_string(offset) +
                        " does not name the start of a map",
                    where_, "the file is corrupted");
      r.target = RelocationTarget::Map;
      r.map_index = it->second;
      return r;
    }
    if (auto it = targets_.data_map_of_section.find(sym.section);
        it != targets_.data_map_of_section.end()) {
      const ElfSection& data = elf_.sections()[sym.section];
      if (static_cast<uint64_t>(offset) > data.size)  // one past the end is a valid address
        throw Error("reference to '" + sym.name + "' + " + std::to_string(addend) +
                        " lies outside section " + data.name,
                    where_, "the file is corrupted");
      r.target = RelocationTarget::GlobalData;
      r.map_index = it->second;
      r.data_offset = static_cast<uint32_t>(offset);
      return r;
    }
    if (auto it = code_index_of_elf_.find(sym.section); it != code_index_of_elf_.end()) {
      const CodeSection& target = code_[it->second];
      if (offset % sizeof(ebpf::Insn) != 0 ||
          static_cast<uint64_t>(offset) / sizeof(ebpf::Insn) >= target.insns.size())
        throw Error("address of '" + sym.name + "' + " + std::to_string(addend) +
                        " is not an instruction of section " + target.name,
                    where_, "the file is corrupted");
      r.target = RelocationTarget::FunctionAddress;
      r.code_section = it->second;
      r.target_insn = static_cast<size_t>(offset) / sizeof(ebpf::Insn);
      return r;
    }
    const std::string section = section_name_of(elf_, sym.section);
    throw Error("reference to '" + sym.name + "' in section " + section +
                    ", which holds neither maps, global data nor code",
                where_,
                section == "maps" ? "legacy 'maps' definitions are not supported; declare maps "
                                    "with BTF in SEC(\".maps\")"
                                  : "");
  }

  // call: the target is the symbol's instruction index + imm + 1 (imm is -1 for a call of a
  // global function symbol, the pc-relative offset for a call of a section symbol).
  ResolvedRelocation resolve_call(const ElfSymbol& sym, int32_t imm) const {
    ResolvedRelocation r;
    r.symbol = sym.name;
    if (sym.section == SHN_UNDEF) {
      if (targets_.kfuncs.count(sym.name) == 0)
        throw Error("call to undefined function '" + sym.name + "'", where_,
                    "declare kernel functions as 'extern … __ksym' (and compile with -g), or "
                    "define the function in this object");
      r.target = RelocationTarget::Kfunc;
      return r;
    }
    auto it = code_index_of_elf_.find(sym.section);
    if (it == code_index_of_elf_.end())
      throw Error("call to '" + sym.name + "', which is not code (section " +
                      section_name_of(elf_, sym.section) + ")",
                  where_, "the file is corrupted");
    const CodeSection& target = code_[it->second];
    const int64_t index = static_cast<int64_t>(sym.value / sizeof(ebpf::Insn)) + imm + 1;
    if (sym.value % sizeof(ebpf::Insn) != 0 || sym.value / sizeof(ebpf::Insn) > target.insns.size() ||
        index < 0 || static_cast<uint64_t>(index) >= target.insns.size())
      throw Error("call to '" + sym.name + "' lands outside section " + target.name, where_,
                  "the file is corrupted");
    r.target = RelocationTarget::LocalCall;
    r.code_section = it->second;
    r.target_insn = static_cast<size_t>(index);
    return r;
  }

  const ElfFile& elf_;
  const RelocationTargets& targets_;
  const std::vector<CodeSection>& code_;
  const std::unordered_map<size_t, size_t>& code_index_of_elf_;
  mutable std::string where_;
};

std::vector<CodeFunction> read_functions(const ElfFile& elf, const ElfSection& section) {
  const std::string where = at_section(elf.file_name(), section.name);
  std::vector<CodeFunction> functions;
  for (const ElfSymbol& sym : elf.symbols()) {
    if (sym.type != STT_FUNC || sym.section != section.index) continue;
    if (sym.value % sizeof(ebpf::Insn) != 0 || sym.size % sizeof(ebpf::Insn) != 0 || sym.size == 0 ||
        sym.value > section.size || sym.size > section.size - sym.value)
      throw Error("function '" + sym.name + "' (offset " + std::to_string(sym.value) + ", size " +
                      std::to_string(sym.size) + ") does not fit the section's instructions",
                  where, "the file is corrupted");
    functions.push_back({sym.name, sym.value / sizeof(ebpf::Insn), sym.size / sizeof(ebpf::Insn),
                         sym.bind == STB_GLOBAL || sym.bind == STB_WEAK});
  }
  std::sort(functions.begin(), functions.end(), [](const CodeFunction& a, const CodeFunction& b) {
    return a.start != b.start ? a.start < b.start : a.global > b.global;
  });
  for (size_t i = 1; i < functions.size(); ++i)
    if (functions[i].start < functions[i - 1].start + functions[i - 1].count)
      throw Error("functions '" + functions[i - 1].name + "' and '" + functions[i].name + "' overlap",
                  where, "the file is corrupted");
  return functions;
}

}  // namespace

const CodeFunction* CodeSection::function_starting_at(size_t insn) const {
  auto it = std::lower_bound(functions.begin(), functions.end(), insn,
                             [](const CodeFunction& f, size_t at) { return f.start < at; });
  return it != functions.end() && it->start == insn ? &*it : nullptr;
}

std::vector<CodeSection> read_code_sections(const ElfFile& elf, const RelocationTargets& targets) {
  std::vector<CodeSection> code;
  std::unordered_map<size_t, size_t> code_index_of_elf;
  for (const ElfSection& s : elf.sections()) {
    if (s.index == 0 || !s.executable()) continue;
    const std::string where = at_section(elf.file_name(), s.name);
    if (s.type != SHT_PROGBITS)
      throw Error("executable section has type " + std::to_string(s.type) + ", expected PROGBITS",
                  where, "the file is corrupted");
    if (s.size % sizeof(ebpf::Insn) != 0)
      throw Error("code size " + std::to_string(s.size) + " is not a multiple of 8 bytes", where,
                  "the file is corrupted");
    if (s.size / sizeof(ebpf::Insn) > kMaxProgramInsns)
      throw Error("section has " + std::to_string(s.size / sizeof(ebpf::Insn)) +
                      " instructions, more than the limit of " + std::to_string(kMaxProgramInsns),
                  where, "split the program, or move work into bounded loops (bpf_loop)");
    CodeSection c;
    c.elf_index = s.index;
    c.name = s.name;
    // An empty .text is common (clang emits it when there are no sub-programs); skip the copy
    // so from_bytes never memcpy()s from a null span.
    if (!s.data.empty()) c.insns = ebpf::from_bytes(s.data);
    c.functions = read_functions(elf, s);
    code_index_of_elf[s.index] = code.size();
    code.push_back(std::move(c));
  }

  const RelocationResolver resolver(elf, targets, code, code_index_of_elf);
  for (const ElfSection& rel : elf.sections()) {
    if (rel.type != SHT_REL && rel.type != SHT_RELA) continue;
    auto it = code_index_of_elf.find(rel.info);
    if (it == code_index_of_elf.end()) continue;  // data/debug relocations are checked elsewhere
    CodeSection& sec = code[it->second];
    for (const ElfRelocation& entry : elf.relocations(rel)) {
      ResolvedRelocation resolved = resolver.resolve(sec, entry);
      const size_t idx = entry.offset / sizeof(ebpf::Insn);
      if (!sec.relocations.emplace(idx, std::move(resolved)).second)
        throw Error("two relocations apply to one instruction", at_insn(elf.file_name(), sec.name, idx),
                    "the file is corrupted");
    }
  }
  return code;
}

}  // namespace bpfq::loader
