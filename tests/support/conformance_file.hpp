#pragma once
// Parser for bpf_conformance test files (tests/*.data).
//
// A file is a sequence of sections opened by "-- <name>" lines; text before the first section
// and '#' comments are ignored:
//   -- asm      assembly (kept verbatim for bpfq::ebpf::assemble)
//   -- raw      64-bit instruction words, hex with 0x or decimal
//   -- mem      hex bytes, any number per line, over any number of lines
//   -- result   the expected r0: hex if it contains "0x", else decimal
//   -- error    the expected error text (one line)
//   -- c, -- no register offset   ignored
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/ebpf/insn.hpp>

namespace bpfq::test {

struct ConformanceCase {
  std::string name;                   // file stem, e.g. "lock_cmpxchg"
  std::string asm_text;               // the asm section, one source line per line
  std::vector<uint64_t> raw;          // the raw section's instruction words
  std::vector<uint8_t> mem;           // input memory handed to the program in r1/r2
  std::optional<uint64_t> result;     // expected r0
  std::optional<std::string> error;   // expected failure message
  size_t asm_first_line = 0;          // file line of asm_text's first line (maps assembler errors back)
};

// Throws bpfq::Error ("file:line") on an unreadable file, an unknown section or a bad value.
ConformanceCase parse_conformance_file(const std::filesystem::path& file);

// The *.data files directly inside dir (not its subfolders), sorted by path.
std::vector<std::filesystem::path> conformance_files(const std::filesystem::path& dir);

// The case's program: its raw words, else its asm assembled; nullopt if it does not assemble.
std::optional<std::vector<ebpf::Insn>> conformance_program(const ConformanceCase& c);

}  // namespace bpfq::test
