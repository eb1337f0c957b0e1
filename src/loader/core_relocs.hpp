#pragma once
// CO-RE (compile once, run everywhere): the .BTF.ext core_relo records, resolved against a
// target BTF (the kernel's types) and applied to the code sections' instructions before
// linking, as libbpf does when it loads an object. A program compiled against one layout of
// struct sk_buff then reads the fields where the target says they are.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "btf_types.hpp"
#include "code_sections.hpp"

namespace bpfq::loader {

// Per ELF section name: the relocations applied, CoreAccess::insn counted from the section
// start, sorted by it.
using CoreTable = std::map<std::string, std::vector<CoreAccess>, std::less<>>;

// A type name without its ___flavor suffix, as libbpf matches names ("sk_buff___old" ->
// "sk_buff"): CO-RE candidates and struct_ops types.
std::string_view essential_name(std::string_view name);

// Patches code in place. target_btf: raw BTF bytes; may be empty when every record is
// TYPE_ID_LOCAL (answered from the object's own BTF), otherwise the object is refused. Errors
// name "<file> section .BTF.ext" for malformed records and "<file> section <sec> insn <n>" for
// a record that cannot be applied.
CoreTable apply_core_relocations(std::span<const uint8_t> btf_ext, const BtfTypes& local,
                                 std::span<const uint8_t> target_btf,
                                 std::vector<CodeSection>& code, const std::string& file);

}  // namespace bpfq::loader
