#include "elf_file.hpp"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <limits>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>

#include "location.hpp"

namespace bpfq::loader {

namespace {

constexpr const char* kCompileHint = "build eBPF objects with: clang -O2 -g -target bpf -c prog.bpf.c";

std::string libelf_message() {
  const char* msg = elf_errmsg(-1);
  return msg ? msg : "unknown libelf error";
}

// Both endpoints inside the file, without overflowing.
bool fits(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

}  // namespace

bool ElfSection::executable() const { return (flags & SHF_EXECINSTR) != 0; }
bool ElfSection::nobits() const { return type == SHT_NOBITS; }

struct ElfFile::ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
  }
};

ElfFile::ElfFile(std::span<const uint8_t> bytes, std::string file_name) : file_name_(std::move(file_name)) {
  if (bytes.size() > kMaxObjectBytes)  // before the copy below
    throw Error("the object has " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                    std::to_string(kMaxObjectBytes),
                file_name_, "an eBPF object is at most a few MiB; is this the right file?");
  image_.assign(bytes.begin(), bytes.end());
  check_header();
  static const bool libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!libelf_ready) throw Error("libelf is unusable: " + libelf_message(), file_name_);
  elf_ = std::make_unique<ElfHandle>();
  elf_->elf = elf_memory(reinterpret_cast<char*>(image_.data()), image_.size());
  if (!elf_->elf || elf_kind(elf_->elf) != ELF_K_ELF)
    throw Error("libelf cannot read the object: " + libelf_message(), file_name_, kCompileHint);
  read_sections();
  read_symbols();
}

ElfFile::~ElfFile() = default;

// Checked by hand before libelf sees the file, so each mistake gets its own message.
void ElfFile::check_header() const {
  const std::string& at = file_name_;
  if (image_.empty()) throw Error("file is empty", at, kCompileHint);
  if (image_.size() < SELFMAG || std::memcmp(image_.data(), ELFMAG, SELFMAG) != 0)
    throw Error("not an ELF file (bad magic)", at, kCompileHint);
  if (image_.size() < EI_NIDENT) throw Error("truncated ELF header", at);
  if (image_[EI_CLASS] != ELFCLASS64)
    throw Error("not a 64-bit ELF object (ELF class " + std::to_string(image_[EI_CLASS]) + ")", at,
                "eBPF objects are ELF64; " + std::string(kCompileHint));
  if (image_[EI_DATA] == ELFDATA2MSB)
    throw Error("big-endian eBPF objects are not supported", at,
                "compile with -target bpfel (or -target bpf on a little-endian host)");
  if (image_[EI_DATA] != ELFDATA2LSB)
    throw Error("unknown ELF byte order " + std::to_string(image_[EI_DATA]), at);
  if (image_.size() < sizeof(Elf64_Ehdr)) throw Error("truncated ELF header", at);

  Elf64_Ehdr eh;
  std::memcpy(&eh, image_.data(), sizeof eh);
  if (eh.e_type != ET_REL)
    throw Error("not a relocatable object (ELF type " + std::to_string(eh.e_type) + ")", at,
                "load the .o produced by clang -c, not a linked or shared file");
  if (eh.e_machine != EM_BPF)
    throw Error("not an eBPF object (machine " + std::to_string(eh.e_machine) + ", expected " +
                    std::to_string(EM_BPF) + ")",
                at, kCompileHint);
  if (eh.e_shoff == 0) throw Error("object has no section header table", at);
  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    throw Error("section header entries are " + std::to_string(eh.e_shentsize) + " bytes, expected " +
                    std::to_string(sizeof(Elf64_Shdr)),
                at);
  uint64_t count = eh.e_shnum;
  if (count == 0) {  // extended numbering: the count lives in section 0's sh_size
    if (!fits(eh.e_shoff, sizeof(Elf64_Shdr), image_.size()))
      throw Error("section header table lies outside the file", at);
    Elf64_Shdr first;
    std::memcpy(&first, image_.data() + eh.e_shoff, sizeof first);
    count = first.sh_size;
  }
  if (count > image_.size() / sizeof(Elf64_Shdr) ||
      !fits(eh.e_shoff, count * sizeof(Elf64_Shdr), image_.size()))
    throw Error("section header table lies outside the file (offset " + std::to_string(eh.e_shoff) +
                    ", " + std::to_string(count) + " entries, file size " +
                    std::to_string(image_.size()) + ")",
                at, "the file is truncated or corrupted");
}

void ElfFile::read_sections() {
  const std::string& at = file_name_;
  size_t count = 0, names_index = 0;
  if (elf_getshdrnum(elf_->elf, &count) != 0 || elf_getshdrstrndx(elf_->elf, &names_index) != 0)
    throw Error("cannot read the section header table: " + libelf_message(), at);
  if (names_index == SHN_UNDEF || names_index >= count)
    throw Error("section name table index " + std::to_string(names_index) + " is out of range", at);

  sections_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(elf_->elf, i);
    GElf_Shdr sh;
    if (!scn || !gelf_getshdr(scn, &sh))
      throw Error("cannot read section header " + std::to_string(i) + ": " + libelf_message(), at);
    ElfSection s;
    s.data = std::span<const uint8_t>(image_.data(), 0);  // see ElfSection::data
    s.index = i;
    s.type = sh.sh_type;
    s.flags = sh.sh_flags;
    s.size = sh.sh_size;
    s.link = sh.sh_link;
    s.info = sh.sh_info;
    if (i != 0) {
      const char* name = elf_strptr(elf_->elf, names_index, sh.sh_name);
      if (!name)
        throw Error("section " + std::to_string(i) + " has an invalid name (" + libelf_message() + ")",
                    at, "the file is corrupted");
      s.name = name;
    }
    if (s.type != SHT_NOBITS && s.type != SHT_NULL) {
      if (!fits(sh.sh_offset, sh.sh_size, image_.size()))
        throw Error("section data (offset " + std::to_string(sh.sh_offset) + ", size " +
                        std::to_string(sh.sh_size) + ") lies outside the file (size " +
                        std::to_string(image_.size()) + ")",
                    at_section(at, s.name), "the file is truncated or corrupted");
      s.data = std::span<const uint8_t>(image_.data() + sh.sh_offset, sh.sh_size);
    }
    sections_.push_back(std::move(s));
  }
}

const ElfSection* ElfFile::find_section(std::string_view name) const {
  for (const ElfSection& s : sections_)
    if (s.index != 0 && s.name == name) return &s;
  return nullptr;
}

const ElfSymbol* ElfFile::find_object(std::string_view name, size_t section) const {
  for (const ElfSymbol& s : symbols_)
    if (s.section == section && s.type == STT_OBJECT && s.name == name) return &s;
  return nullptr;
}

void ElfFile::read_symbols() {
  const std::string& at = file_name_;
  const ElfSection* symtab = nullptr;
  for (const ElfSection& s : sections_) {
    if (s.type != SHT_SYMTAB) continue;
    if (symtab) throw Error("object has more than one symbol table", at);
    symtab = &s;
  }
  if (!symtab) return;
  const std::string where = at_section(at, symtab->name);
  if (symtab->size % sizeof(Elf64_Sym) != 0)
    throw Error("symbol table size " + std::to_string(symtab->size) + " is not a multiple of " +
                    std::to_string(sizeof(Elf64_Sym)),
                where);
  if (symtab->link == 0 || symtab->link >= sections_.size() ||
      sections_[symtab->link].type != SHT_STRTAB)
    throw Error("symbol table links to section " + std::to_string(symtab->link) +
                    ", which is not a string table",
                where);
  symtab_index_ = symtab->index;

  Elf_Data* data = elf_getdata(elf_getscn(elf_->elf, symtab->index), nullptr);
  if (!data) throw Error("cannot read the symbol table: " + libelf_message(), where);
  const size_t count = data->d_size / sizeof(Elf64_Sym);
  symbols_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym))
      throw Error("cannot read symbol " + std::to_string(i) + ": " + libelf_message(), where);
    ElfSymbol out;
    out.value = sym.st_value;
    out.size = sym.st_size;
    out.type = GELF_ST_TYPE(sym.st_info);
    out.bind = GELF_ST_BIND(sym.st_info);
    out.section = sym.st_shndx;
    if (sym.st_name != 0) {
      const char* name = elf_strptr(elf_->elf, symtab->link, sym.st_name);
      if (!name)
        throw Error("symbol " + std::to_string(i) + " has an invalid name (" + libelf_message() + ")",
                    where, "the file is corrupted");
      out.name = name;
    } else if (out.type == STT_SECTION && out.section < sections_.size()) {
      out.name = sections_[out.section].name;  // section symbols are named after their section
    }
    symbols_.push_back(std::move(out));
  }
}

std::vector<ElfRelocation> ElfFile::relocations(const ElfSection& rel) const {
  const std::string where = at_section(file_name_, rel.name);
  if (rel.type == SHT_RELA)
    throw Error("RELA relocations are not supported", where,
                "clang -target bpf emits REL sections; was the object built by another tool?");
  if (rel.type != SHT_REL) throw Error("not a relocation section", where);
  if (symbols_.empty() || rel.link != symtab_index_)
    throw Error("relocation section refers to symbol table " + std::to_string(rel.link) +
                    ", which is not the object's symbol table",
                where, "the file is corrupted");
  if (rel.size % sizeof(Elf64_Rel) != 0)
    throw Error("relocation section size " + std::to_string(rel.size) + " is not a multiple of " +
                    std::to_string(sizeof(Elf64_Rel)),
                where);
  Elf_Data* data = elf_getdata(elf_getscn(elf_->elf, rel.index), nullptr);
  if (!data) throw Error("cannot read relocations: " + libelf_message(), where);
  const size_t count = data->d_size / sizeof(Elf64_Rel);
  std::vector<ElfRelocation> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    GElf_Rel r;
    if (!gelf_getrel(data, static_cast<int>(i), &r))
      throw Error("cannot read relocation " + std::to_string(i) + ": " + libelf_message(), where);
    out.push_back({r.r_offset, static_cast<uint32_t>(GELF_R_TYPE(r.r_info)),
                   static_cast<uint32_t>(GELF_R_SYM(r.r_info))});
  }
  return out;
}

}  // namespace bpfq::loader
