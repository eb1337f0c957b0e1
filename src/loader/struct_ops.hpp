#pragma once
// SEC(".struct_ops") and SEC(".struct_ops.link") variables (libbpf's struct_ops maps): their
// struct as the program's BTF declares it, their initial bytes, and which program each
// function-pointer slot holds (the R_BPF_64_ABS64 relocations of .rel.struct_ops).
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "btf_types.hpp"
#include "elf_file.hpp"

namespace bpfq::loader {

// Whether an ELF section holds struct_ops variables: .struct_ops, .struct_ops.link, or either
// with libbpf's '?' prefix (not auto-created).
bool is_struct_ops_section(std::string_view name);

// Every struct_ops variable of the object, in section order, then by offset. btf may be null
// only when the object has no such section.
std::vector<StructOpsMap> read_struct_ops(const ElfFile& elf, const BtfTypes* btf);

}  // namespace bpfq::loader
