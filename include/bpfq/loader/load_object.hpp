#pragma once
// ELF relocatable object (clang -O2 -g -target bpf) -> ObjectSpec. Creates no maps and runs
// nothing. Every failure is a bpfq::Error whose where() is "<file>", "<file> section <sec>" or
// "<file> section <sec> insn <n>" (n counts instructions from the start of that ELF section,
// as llvm-objdump numbers them). Nothing is returned half-loaded.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
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

// What an object is loaded against: the kernel it was written for, as far as bpfq stands in
// for it.
struct LoadOptions {
  // The kernel's BTF (raw .BTF bytes, as /sys/kernel/btf/vmlinux or an object's .BTF section)
  // that CO-RE relocations are resolved against. Empty: an object with CO-RE relocations is
  // refused (except TYPE_ID_LOCAL ones, which need only the object's own BTF).
  std::span<const uint8_t> target_btf;
  // Values of __kconfig externs (CONFIG_HZ, …) by name: integers of the extern's size;
  // bool/char/tristate are 0/1/2. An extern missing here is 0 if __weak, an error otherwise.
  std::map<std::string, uint64_t, std::less<>> kconfig;
};

// path must be a regular file (not a folder or a device) of at most kMaxObjectBytes.
ObjectSpec load_object(const std::string& path);
ObjectSpec load_object(const std::string& path, const LoadOptions& opts);
// The bytes of the object file at path, with load_object(path)'s checks and errors.
std::vector<uint8_t> read_object_file(const std::string& path);
// name: used in error messages and for global data map names ("<first 8 chars>.data").
ObjectSpec load_object(std::span<const uint8_t> elf_bytes, const std::string& name);
// With CO-RE relocations applied against opts.target_btf (each recorded in
// ProgramSpec::core_accesses; a field the target lacks poisons its instruction into
// `call 195896080`, as libbpf does) and __kconfig externs placed in a read-only ".kconfig"
// global data map (also listed in ObjectSpec::globals). The overloads without options use
// LoadOptions{}.
ObjectSpec load_object(std::span<const uint8_t> elf_bytes, const std::string& name,
                       const LoadOptions& opts);

// Whether the object has SEC(".struct_ops") variables (Linux's struct_ops API), read from its
// section names only: how callers choose the options to load it with.
bool declares_struct_ops(std::span<const uint8_t> elf_bytes, const std::string& name);

}  // namespace bpfq::loader
