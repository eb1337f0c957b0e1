#pragma once
// A validated view of an eBPF ELF relocatable object (libelf underneath). The constructor
// checks the header (class, byte order, type, machine) and that every section lies inside the
// file, so later stages can trust section data, symbols and relocation entries.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpfq::loader {

struct ElfSection {
  size_t index = 0;
  std::string name;
  uint32_t type = 0;   // SHT_*
  uint64_t flags = 0;  // SHF_*
  uint64_t size = 0;   // sh_size, also for SHT_NOBITS
  uint32_t link = 0;
  uint32_t info = 0;
  // File bytes; empty for SHT_NOBITS. Never a null pointer, even when empty, so readers may
  // pass data.data() to memcpy/strnlen without checking the size first.
  std::span<const uint8_t> data;

  bool executable() const;
  bool nobits() const;
};

struct ElfSymbol {
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;        // STT_*
  uint8_t bind = 0;        // STB_*
  uint32_t section = 0;    // st_shndx (SHN_UNDEF, a section index, or SHN_ABS…)
};

struct ElfRelocation {
  uint64_t offset = 0;  // r_offset, bytes into the target section
  uint32_t type = 0;    // R_BPF_*
  uint32_t symbol = 0;  // index into ElfFile::symbols()
};

class ElfFile {
 public:
  // file_name is used in error messages only.
  ElfFile(std::span<const uint8_t> bytes, std::string file_name);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& file_name() const { return file_name_; }
  const std::vector<ElfSection>& sections() const { return sections_; }
  // First section with that name, or nullptr.
  const ElfSection* find_section(std::string_view name) const;
  // The symbol table; index 0 is the null symbol. Empty if the object has none.
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  // The variable (STT_OBJECT) symbol `name` placed in section `section`, or nullptr.
  const ElfSymbol* find_object(std::string_view name, size_t section) const;
  // Entries of a SHT_REL section (throws for SHT_RELA: clang emits REL for BPF).
  std::vector<ElfRelocation> relocations(const ElfSection& rel_section) const;

 private:
  void check_header() const;
  void read_sections();
  void read_symbols();

  std::string file_name_;
  std::vector<uint8_t> image_;  // libelf reads from (and may point into) this copy
  struct ElfHandle;
  std::unique_ptr<ElfHandle> elf_;
  std::vector<ElfSection> sections_;
  std::vector<ElfSymbol> symbols_;
  size_t symtab_index_ = 0;
};

}  // namespace bpfq::loader
