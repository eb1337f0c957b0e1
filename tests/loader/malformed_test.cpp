// Corrupted and truncated objects: each is rejected with a bpfq::Error saying where and why,
// never a crash and never a half-loaded spec.
#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "spec_invariants.hpp"
#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

const std::string kName = "calls.bpf.o";

std::string at(std::string_view section) { return kName + " section " + std::string(section); }

class Malformed : public ::testing::Test {
 protected:
  ObjectSpec load() { return load_object(elf.bytes(), kName); }
  void expect_rejected(const std::string& where, const std::string& reason) {
    expect_error([&] { load(); }, where, reason);
  }
  size_t symbol_offset(std::string_view name) {
    const RawSection& symtab = elf.section(".symtab");
    const std::vector<RawSymbol> symbols = elf.symbols();
    for (size_t i = 0; i < symbols.size(); ++i)
      if (symbols[i].name == name) return symtab.sh_offset + i * sizeof(Elf64_Sym);
    throw std::runtime_error("no symbol");
  }
  size_t relocation_offset(std::string_view rel_section, size_t k) {
    return elf.section(rel_section).sh_offset + k * sizeof(Elf64_Rel);
  }
  size_t header_of(std::string_view section) { return elf.section(section).header_offset; }

  RawElf elf{read_bytes(test_object("loader_calls"))};
};

TEST_F(Malformed, UnmodifiedCopyLoads) {
  const ObjectSpec spec = load();
  EXPECT_EQ(spec.programs.size(), 5u);
  EXPECT_EQ(spec_violation(spec), "");
}

// The section header table sits at the end of clang's objects, so every proper prefix loses it.
TEST(Truncated, EveryPrefixOfEveryObjectIsRejected) {
  for (const char* object : {"loader_calls", "loader_maps", "loader_kfuncs"}) {
    const std::vector<uint8_t> full = read_bytes(test_object(object));
    for (size_t len = 0; len < full.size(); ++len) {
      const std::span<const uint8_t> prefix(full.data(), len);
      const std::string reason = len == 0                        ? "file is empty"
                                 : len < SELFMAG                 ? "not an ELF file (bad magic)"
                                 : len < sizeof(Elf64_Ehdr)      ? "truncated ELF header"
                                                                 : "section header table lies outside the file";
      try {
        load_object(prefix, kName);
        ADD_FAILURE() << object << " prefix of " << len << " bytes loaded";
      } catch (const Error& e) {
        ASSERT_EQ(e.where(), kName) << object << " len " << len;
        ASSERT_NE(e.reason().find(reason), std::string::npos) << object << " len " << len << ": " << e.reason();
      }
    }
  }
}

// Cut the file at every 8th byte but keep (relocate) the section header table, so the cut
// lands in section data instead: the result must be a consistent spec or an Error.
TEST(Truncated, PrefixWithSectionTableKeptIsRejectedOrConsistent) {
  const std::vector<uint8_t> full = read_bytes(test_object("loader_maps"));
  const RawElf raw(full);
  const auto eh = raw.read<Elf64_Ehdr>(0);
  const size_t table_bytes = size_t{eh.e_shnum} * sizeof(Elf64_Shdr);
  uint64_t data_end = 0;
  for (const RawSection& sec : raw.sections())
    if (sec.sh_type != SHT_NOBITS) data_end = std::max(data_end, sec.sh_offset + sec.sh_size);
  size_t rejected = 0, loaded = 0;
  std::set<std::string> reasons;
  for (size_t cut = sizeof(Elf64_Ehdr); cut < eh.e_shoff; cut += 8) {
    std::vector<uint8_t> bytes(full.begin(), full.begin() + static_cast<long>(cut));
    bytes.insert(bytes.end(), full.begin() + static_cast<long>(eh.e_shoff),
                 full.begin() + static_cast<long>(eh.e_shoff + table_bytes));
    const uint64_t new_shoff = cut;
    std::memcpy(bytes.data() + offsetof(Elf64_Ehdr, e_shoff), &new_shoff, sizeof new_shoff);
    try {
      const ObjectSpec spec = load_object(bytes, kName);
      EXPECT_EQ(spec_violation(spec), "") << "cut at " << cut;
      EXPECT_GE(cut + 8, data_end);  // at most the string table's last bytes were lost
      ++loaded;
    } catch (const Error& e) {
      EXPECT_EQ(e.where().rfind(kName, 0), 0u) << e.what();
      reasons.insert(e.reason().substr(0, 20));
      ++rejected;
    }
  }
  // Only cuts at the very end of the data (padding, the tail of the last string) still load.
  EXPECT_LE(loaded, 2u);
  EXPECT_GT(rejected, 2000u);
  EXPECT_GT(reasons.size(), 5u);  // failures are caught at many different stages
}

TEST_F(Malformed, WrongMachine) {
  elf.write<uint16_t>(offsetof(Elf64_Ehdr, e_machine), EM_X86_64);
  expect_rejected(kName, "not an eBPF object (machine 62, expected 247)");
}

TEST_F(Malformed, WrongClass) {
  elf.write<uint8_t>(EI_CLASS, ELFCLASS32);
  expect_rejected(kName, "not a 64-bit ELF object (ELF class 1)");
}

TEST_F(Malformed, BigEndian) {
  elf.write<uint8_t>(EI_DATA, ELFDATA2MSB);
  const Error e = expect_error([&] { load(); }, kName, "big-endian eBPF objects are not supported");
  EXPECT_NE(e.hint().find("bpfel"), std::string::npos);
}

TEST_F(Malformed, UnknownByteOrder) {
  elf.write<uint8_t>(EI_DATA, 7);
  expect_rejected(kName, "unknown ELF byte order 7");
}

TEST_F(Malformed, BadMagic) {
  elf.write<uint8_t>(1, 'X');
  expect_rejected(kName, "not an ELF file (bad magic)");
}

TEST_F(Malformed, NotRelocatable) {
  elf.write<uint16_t>(offsetof(Elf64_Ehdr, e_type), ET_EXEC);
  expect_rejected(kName, "not a relocatable object (ELF type 2)");
}

TEST_F(Malformed, SectionTableOffsetBeyondFile) {
  elf.write<uint64_t>(offsetof(Elf64_Ehdr, e_shoff), elf.bytes().size());
  expect_rejected(kName, "section header table lies outside the file");
  elf.write<uint64_t>(offsetof(Elf64_Ehdr, e_shoff), ~uint64_t{0} - 10);  // would overflow
  expect_rejected(kName, "section header table lies outside the file");
}

TEST_F(Malformed, NoSectionTable) {
  elf.write<uint64_t>(offsetof(Elf64_Ehdr, e_shoff), 0);
  expect_rejected(kName, "object has no section header table");
}

TEST_F(Malformed, SectionCountBeyondFile) {
  elf.write<uint16_t>(offsetof(Elf64_Ehdr, e_shnum), 0xff00);
  expect_rejected(kName, "section header table lies outside the file");
}

TEST_F(Malformed, SectionEntrySize) {
  elf.write<uint16_t>(offsetof(Elf64_Ehdr, e_shentsize), 40);
  expect_rejected(kName, "section header entries are 40 bytes, expected 64");
}

TEST_F(Malformed, SectionNameTableIndexOutOfRange) {
  elf.write<uint16_t>(offsetof(Elf64_Ehdr, e_shstrndx), 200);
  expect_rejected(kName, "section name table index 200 is out of range");
}

TEST_F(Malformed, SectionDataBeyondFile) {
  const size_t header = header_of(".text");
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_offset), elf.bytes().size());
  expect_rejected(at(".text"), "lies outside the file");
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_offset), 64);
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_size), ~uint64_t{0});  // would overflow
  expect_rejected(at(".text"), "lies outside the file");
}

TEST_F(Malformed, CodeSizeNotMultipleOfEight) {
  elf.write<uint64_t>(header_of("xdp") + offsetof(Elf64_Shdr, sh_size), 12);
  expect_rejected(at("xdp"), "code size 12 is not a multiple of 8 bytes");
}

TEST_F(Malformed, RelocationToMissingSymbol) {
  const size_t rel = relocation_offset(".relqdisc/enqueue", 0);
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(4000, 10));
  expect_rejected(at("qdisc/enqueue") + " insn 1", "relocation refers to symbol #4000, which does not exist");
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(0, 10));
  expect_rejected(at("qdisc/enqueue") + " insn 1", "relocation refers to symbol #0");
}

TEST_F(Malformed, RelocationToUndefinedSymbol) {
  // global_helper loses its definition: tc_first's call names an undefined function.
  elf.write<uint16_t>(symbol_offset("global_helper") + offsetof(Elf64_Sym, st_shndx), SHN_UNDEF);
  expect_rejected(at("tc") + " insn 5", "call to undefined function 'global_helper'");
}

TEST_F(Malformed, LddwOfUndefinedVariable) {
  elf.write<uint16_t>(symbol_offset("scale") + offsetof(Elf64_Sym, st_shndx), SHN_UNDEF);
  expect_rejected(at(".text") + " insn 21", "reference to undefined symbol 'scale'");
}

TEST_F(Malformed, RelocationOffsetOutsideSection) {
  const size_t rel = relocation_offset(".relqdisc/enqueue", 0);
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_offset), 24);  // the section has 3 insns
  expect_rejected(at("qdisc/enqueue"), "relocation at byte offset 24 does not name an instruction");
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_offset), 12);  // inside insn 1
  expect_rejected(at("qdisc/enqueue"), "relocation at byte offset 12 does not name an instruction");
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_offset), ~uint64_t{0} - 7);
  expect_rejected(at("qdisc/enqueue"), "does not name an instruction");
}

TEST_F(Malformed, RelocationOnWrongInstruction) {
  const size_t rel = relocation_offset(".relqdisc/enqueue", 0);
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_offset), 0);  // a load, not a call
  expect_rejected(at("qdisc/enqueue") + " insn 0",
                  "R_BPF_64_32 relocation against '.text' on an instruction that is not a call");
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_offset), 8);
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(elf.read<uint64_t>(rel + 8) >> 32, 1));
  expect_rejected(at("qdisc/enqueue") + " insn 1", "on an instruction that is not a 64-bit immediate load");
}

TEST_F(Malformed, UnsupportedRelocationType) {
  const size_t rel = relocation_offset(".relqdisc/enqueue", 0);
  elf.write<uint64_t>(rel + offsetof(Elf64_Rel, r_info), ELF64_R_INFO(elf.read<uint64_t>(rel + 8) >> 32, 2));
  expect_rejected(at("qdisc/enqueue") + " insn 1", "unsupported relocation R_BPF_64_ABS64 against '.text'");
}

TEST_F(Malformed, CallTargetOutsideSection) {
  // uses_chain's call: .text + imm + 1 must land inside .text.
  elf.write<int32_t>(elf.section("qdisc/enqueue").sh_offset + 8 + 4, 5000);
  expect_rejected(at("qdisc/enqueue") + " insn 1", "call to '.text' lands outside section .text");
}

TEST_F(Malformed, CallIntoTheMiddleOfAFunction) {
  elf.write<int32_t>(elf.section("qdisc/enqueue").sh_offset + 8 + 4, 4);  // .text insn 5, inside top
  expect_rejected(at("qdisc/enqueue") + " insn 1", "targets insn 5 of section .text, which does not start a function");
}

TEST_F(Malformed, RelocationSectionForMissingSection) {
  elf.write<uint32_t>(header_of(".relqdisc/enqueue") + offsetof(Elf64_Shdr, sh_info), 99);
  expect_rejected(at(".relqdisc/enqueue"), "relocation section applies to section 99, which does not exist");
}

TEST_F(Malformed, RelaSectionRejected) {
  elf.write<uint32_t>(header_of(".relqdisc/enqueue") + offsetof(Elf64_Shdr, sh_type), SHT_RELA);
  expect_rejected(at(".relqdisc/enqueue"), "RELA relocations are not supported");
}

TEST_F(Malformed, FunctionSymbolBeyondSection) {
  elf.write<uint64_t>(symbol_offset("uses_chain") + offsetof(Elf64_Sym, st_size), 1000 * 8);
  expect_rejected(at("qdisc/enqueue"), "function 'uses_chain' (offset 0, size 8000) does not fit");
}

TEST_F(Malformed, OverlappingFunctions) {
  elf.write<uint64_t>(symbol_offset("top") + offsetof(Elf64_Sym, st_size), 4 * 8);
  expect_rejected(at(".text"), "functions 'top' and 'add_index' overlap");
}

TEST_F(Malformed, SymbolTableSize) {
  elf.write<uint64_t>(header_of(".symtab") + offsetof(Elf64_Shdr, sh_size), elf.section(".symtab").sh_size - 5);
  expect_rejected(at(".symtab"), "is not a multiple of 24");
}

TEST_F(Malformed, SymbolNameOutOfRange) {
  elf.write<uint32_t>(symbol_offset("leaf") + offsetof(Elf64_Sym, st_name), 0x7fffff00);
  expect_rejected(at(".symtab"), "has an invalid name");
}

TEST_F(Malformed, BtfMagic) {
  elf.write<uint16_t>(elf.section(".BTF").sh_offset, 0x1234);
  expect_rejected(at(".BTF"), "bad BTF magic");
}

TEST_F(Malformed, BtfTruncated) {
  elf.write<uint64_t>(header_of(".BTF") + offsetof(Elf64_Shdr, sh_size), 10);
  expect_rejected(at(".BTF"), "BTF is truncated (10 bytes)");
  elf.write<uint64_t>(header_of(".BTF") + offsetof(Elf64_Shdr, sh_size), 100);
  expect_rejected(at(".BTF"), "invalid BTF");
}

TEST_F(Malformed, BtfExtMagic) {
  elf.write<uint16_t>(elf.section(".BTF.ext").sh_offset, 0x1234);
  expect_rejected(at(".BTF.ext"), "bad .BTF.ext magic");
}

TEST_F(Malformed, DuplicateLicenseSection) {
  // Rename .data to "license": two sections of that name.
  elf.write<uint32_t>(header_of(".data") + offsetof(Elf64_Shdr, sh_name), elf.section("license").sh_name);
  expect_rejected(kName, "object has 2 sections named license");
}

// A code section above the kernel's 1M instruction limit: point xdp at a large zero tail.
TEST_F(Malformed, TooManyInstructionsInSection) {
  const size_t start = elf.bytes().size();
  elf.bytes().resize(start + (kMaxProgramInsns + 1) * 8);
  const size_t header = header_of("xdp");
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_offset), start);
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_size), (kMaxProgramInsns + 1) * 8);
  const Error e = expect_error([&] { load(); }, at("xdp"), "section has 1000001 instructions, more than the limit of 1000000");
  EXPECT_NE(e.hint().find("bpf_loop"), std::string::npos);
}

// Exactly at the limit, the section is fine, but appending the sub-programs overflows it.
TEST_F(Malformed, TooManyInstructionsOnceLinked) {
  const RawSection& enqueue = elf.section("qdisc/enqueue");
  std::vector<uint8_t> code(kMaxProgramInsns * 8, 0);
  std::copy_n(elf.bytes().begin() + static_cast<long>(enqueue.sh_offset), enqueue.sh_size, code.begin());
  const size_t start = elf.bytes().size();
  elf.bytes().insert(elf.bytes().end(), code.begin(), code.end());
  const size_t header = header_of("qdisc/enqueue");
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_offset), start);
  elf.write<uint64_t>(header + offsetof(Elf64_Shdr, sh_size), code.size());
  elf.write<uint64_t>(symbol_offset("uses_chain") + offsetof(Elf64_Sym, st_size), code.size());
  expect_rejected(at("qdisc/enqueue"),
                  "program 'uses_chain' exceeds 1000000 instructions once its sub-programs are appended");
}

TEST(MalformedMaps, RelocationIntoMapsThatIsNotAMapStart) {
  RawElf elf(read_bytes(test_object("loader_maps")));
  // per_cpu_counters is addressed as .maps + 192; make it .maps + 196.
  elf.write<int32_t>(elf.section("qdisc/enqueue").sh_offset + 50 * 8 + 4, 196);
  expect_error([&] { load_object(elf.bytes(), kName); }, at("qdisc/enqueue") + " insn 50",
               "reference into .maps at offset 196 does not name the start of a map");
}

TEST(MalformedMaps, GlobalAddressBeyondItsSection) {
  RawElf elf(read_bytes(test_object("loader_maps")));
  // `drops` is .data + 8 (.data is 12 bytes); an addend of 8 puts it at 16.
  elf.write<int32_t>(elf.section("qdisc/enqueue").sh_offset + 59 * 8 + 4, 8);
  expect_error([&] { load_object(elf.bytes(), kName); }, at("qdisc/enqueue") + " insn 59",
               "reference to 'drops' + 8 lies outside section .data");
}

TEST(MalformedMaps, MapsWithoutBtf) {
  RawElf elf(read_bytes(test_object("loader_maps")));
  const RawSection& btf = elf.section(".BTF");
  elf.write<uint32_t>(btf.header_offset + offsetof(Elf64_Shdr, sh_name), elf.section(".strtab").sh_name);
  expect_error([&] { load_object(elf.bytes(), kName); }, at(".maps"),
               "map definitions need BTF, but the object has no .BTF section");
}

}  // namespace
}  // namespace bpfq::loader::test
