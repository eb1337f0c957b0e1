#pragma once
// Shared by the loader tests: the test objects built from progs/tests, an independent
// (test-side) ELF reader used as an oracle and for patching headers, and error matchers.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>

#include "support/test_objects.hpp"

namespace bpfq::loader::test {

using bpfq::test::test_object;

std::vector<uint8_t> read_bytes(const std::string& path);

// A raw ELF64 little-endian reader, written independently of the loader.
struct RawSection {
  size_t index;
  std::string name;
  size_t header_offset;  // of this section's header in the file
  uint32_t sh_name, sh_type;
  uint64_t sh_flags, sh_offset, sh_size;
  uint32_t sh_link, sh_info;
};
struct RawSymbol {
  std::string name;
  uint64_t value, size;
  uint8_t type, bind;
  uint16_t shndx;
};
struct RawRelocation {
  uint64_t offset;
  uint32_t type;
  RawSymbol symbol;
};

class RawElf {
 public:
  explicit RawElf(std::vector<uint8_t> bytes);
  std::vector<uint8_t>& bytes() { return bytes_; }
  const std::vector<RawSection>& sections() const { return sections_; }
  const RawSection& section(std::string_view name) const;  // fails the test if absent
  std::vector<RawSymbol> symbols() const;
  const RawSymbol& symbol(std::string_view name) const;
  // Instructions of a function symbol, as compiled.
  std::vector<ebpf::Insn> function_insns(std::string_view name) const;
  // Relocations applying to section `target` ("qdisc/enqueue").
  std::vector<RawRelocation> relocations_of(std::string_view target) const;

  template <typename T>
  T read(size_t offset) const;
  template <typename T>
  void write(size_t offset, T value);

 private:
  std::vector<uint8_t> bytes_;
  std::vector<RawSection> sections_;
  std::vector<RawSymbol> symbols_;
};

// Runs fn, which must throw bpfq::Error with exactly this where() and a reason() containing
// reason_part; returns the error for further checks.
bpfq::Error expect_error(const std::function<void()>& fn, const std::string& where,
                         const std::string& reason_part);

}  // namespace bpfq::loader::test
