#pragma once
// ELF relocatable object (clang -O2 -g -target bpf) -> ObjectSpec. Creates no maps and runs
// nothing. Every failure is a bpfq::Error whose where() is "<file>", "<file> section <sec>" or
// "<file> section <sec> insn <n>" (n counts instructions from the start of that ELF section,
// as llvm-objdump numbers them). Nothing is returned half-loaded.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

namespace bpfq::loader {

// The kernel's instruction limit for privileged programs; sections and linked programs above
// it are rejected.
inline constexpr size_t kMaxProgramInsns = 1'000'000;

// Objects above this size are refused before they are read (clang's objects are KiBs to a few MiB).
inline constexpr size_t kMaxObjectBytes = size_t{256} << 20;

// path must be a regular file (not a folder or a device) of at most kMaxObjectBytes.
ObjectSpec load_object(const std::string& path);
// The bytes of the object file at path, with load_object(path)'s checks and errors.
std::vector<uint8_t> read_object_file(const std::string& path);
// name: used in error messages and for global data map names ("<first 8 chars>.data").
ObjectSpec load_object(std::span<const uint8_t> elf_bytes, const std::string& name);

}  // namespace bpfq::loader
