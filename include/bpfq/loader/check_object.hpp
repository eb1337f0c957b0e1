#pragma once
// The loader's part of `bpfq prog check`: everything wrong with an object that can be told
// from the file, collected instead of thrown at the first, plus the spec when the object loads.
//
// Problems are bpfq::Errors (what, where, hint) in the order found: a file that cannot be read
// or is no eBPF ELF object (nothing else is looked at), maps declared in a legacy SEC("maps")
// section, map definitions left in global data (a `struct { __uint(type, …); … } m;` without
// SEC(".maps")), then the first error load_object() throws, if any. Which section names mean
// something is the caller's business (the program types live above the loader); `sections`
// gives them.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/loader/object_spec.hpp>

namespace bpfq::loader {

struct SectionInfo {
  std::string name;
  bool code = false;   // SHF_EXECINSTR: holds programs or sub-programs
  bool alloc = false;  // SHF_ALLOC: code or data the program uses (not BTF, symbols, debug info)
  uint64_t size = 0;
};

struct ObjectCheck {
  std::vector<SectionInfo> sections;  // in file order, without the null section; empty if not ELF
  std::optional<ObjectSpec> spec;     // set when load_object() accepts the object
  std::vector<Error> problems;
};

// opts: as load_object() takes them (the kernel BTF CO-RE relocations resolve against).
ObjectCheck check_object(const std::string& path, const LoadOptions& opts = {});
ObjectCheck check_object(std::span<const uint8_t> elf_bytes, const std::string& name, const LoadOptions& opts = {});

}  // namespace bpfq::loader
