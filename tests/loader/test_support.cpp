#include "test_support.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace bpfq::loader::test {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
T RawElf::read(size_t offset) const {
  if (offset + sizeof(T) > bytes_.size()) throw std::out_of_range("RawElf read");
  T v;
  std::memcpy(&v, bytes_.data() + offset, sizeof v);
  return v;
}

template <typename T>
void RawElf::write(size_t offset, T value) {
  if (offset + sizeof(T) > bytes_.size()) throw std::out_of_range("RawElf write");
  std::memcpy(bytes_.data() + offset, &value, sizeof value);
}

template uint8_t RawElf::read<uint8_t>(size_t) const;
template uint16_t RawElf::read<uint16_t>(size_t) const;
template uint32_t RawElf::read<uint32_t>(size_t) const;
template uint64_t RawElf::read<uint64_t>(size_t) const;
template void RawElf::write<uint8_t>(size_t, uint8_t);
template void RawElf::write<uint16_t>(size_t, uint16_t);
template void RawElf::write<uint32_t>(size_t, uint32_t);
template void RawElf::write<uint64_t>(size_t, uint64_t);
template int32_t RawElf::read<int32_t>(size_t) const;
template void RawElf::write<int32_t>(size_t, int32_t);
template Elf64_Ehdr RawElf::read<Elf64_Ehdr>(size_t) const;
template Elf64_Shdr RawElf::read<Elf64_Shdr>(size_t) const;

RawElf::RawElf(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {
  const auto eh = read<Elf64_Ehdr>(0);
  const auto header = [&](size_t i) { return read<Elf64_Shdr>(eh.e_shoff + i * sizeof(Elf64_Shdr)); };
  const Elf64_Shdr names = header(eh.e_shstrndx);
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = header(i);
    const char* name = reinterpret_cast<const char*>(bytes_.data() + names.sh_offset + sh.sh_name);
    sections_.push_back({i, name, eh.e_shoff + i * sizeof(Elf64_Shdr), sh.sh_name, sh.sh_type,
                         sh.sh_flags, sh.sh_offset, sh.sh_size, sh.sh_link, sh.sh_info});
  }
  for (const RawSection& s : sections_) {
    if (s.sh_type != SHT_SYMTAB) continue;
    const RawSection& strings = sections_[s.sh_link];
    for (size_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym)) {
      const auto sym = read<Elf64_Sym>(s.sh_offset + off);
      std::string name = reinterpret_cast<const char*>(bytes_.data() + strings.sh_offset + sym.st_name);
      if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION) name = sections_[sym.st_shndx].name;
      symbols_.push_back({name, sym.st_value, sym.st_size, static_cast<uint8_t>(ELF64_ST_TYPE(sym.st_info)),
                          static_cast<uint8_t>(ELF64_ST_BIND(sym.st_info)), sym.st_shndx});
    }
  }
}

const RawSection& RawElf::section(std::string_view name) const {
  for (const RawSection& s : sections_)
    if (s.name == name) return s;
  ADD_FAILURE() << "no section " << name;
  throw std::runtime_error("missing section");
}

std::vector<RawSymbol> RawElf::symbols() const { return symbols_; }

const RawSymbol& RawElf::symbol(std::string_view name) const {
  for (const RawSymbol& s : symbols_)
    if (s.name == name) return s;
  ADD_FAILURE() << "no symbol " << name;
  throw std::runtime_error("missing symbol");
}

std::vector<ebpf::Insn> RawElf::function_insns(std::string_view name) const {
  const RawSymbol& sym = symbol(name);
  const RawSection& sec = sections_.at(sym.shndx);
  std::vector<ebpf::Insn> out(sym.size / 8);
  std::memcpy(out.data(), bytes_.data() + sec.sh_offset + sym.value, sym.size);
  return out;
}

std::vector<RawRelocation> RawElf::relocations_of(std::string_view target) const {
  std::vector<RawRelocation> out;
  for (const RawSection& s : sections_) {
    if (s.sh_type != SHT_REL || sections_.at(s.sh_info).name != target) continue;
    for (size_t off = 0; off + sizeof(Elf64_Rel) <= s.sh_size; off += sizeof(Elf64_Rel)) {
      const auto rel = read<Elf64_Rel>(s.sh_offset + off);
      out.push_back({rel.r_offset, static_cast<uint32_t>(ELF64_R_TYPE(rel.r_info)),
                     symbols_.at(ELF64_R_SYM(rel.r_info))});
    }
  }
  return out;
}

bpfq::Error expect_error(const std::function<void()>& fn, const std::string& where,
                         const std::string& reason_part) {
  try {
    fn();
  } catch (const bpfq::Error& e) {
    EXPECT_EQ(e.where(), where) << e.what();
    EXPECT_NE(e.reason().find(reason_part), std::string::npos)
        << "reason: " << e.reason() << "\nexpected to contain: " << reason_part;
    return e;
  }
  ADD_FAILURE() << "no bpfq::Error thrown; expected: " << reason_part;
  return bpfq::Error("not thrown");
}

}  // namespace bpfq::loader::test
