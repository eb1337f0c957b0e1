#pragma once
// Source line records from .BTF.ext, so errors can say "prog.bpf.c:42". The records name their
// ELF section and count bytes from its start; strings live in .BTF.
#include <map>
#include <span>
#include <string>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "btf_types.hpp"

namespace bpfq::loader {

// Per ELF section name: records with SourceLine::insn counted from the section start, sorted.
using LineTable = std::map<std::string, std::vector<SourceLine>, std::less<>>;

LineTable read_line_info(std::span<const uint8_t> btf_ext, const BtfTypes& btf,
                         const std::string& where);

}  // namespace bpfq::loader
