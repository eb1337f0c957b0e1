#pragma once
// Links each entry program: copies its function, appends every sub-program it calls or takes
// the address of (each once, in order of first use, transitively), and rewrites instructions
// to the conventions documented in object_spec.hpp.
#include <string>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "code_sections.hpp"
#include "core_relocs.hpp"
#include "line_info.hpp"

namespace bpfq::loader {

// Entry programs are the global functions of every executable section except .text, in section
// order then by offset. lines and core may be empty.
std::vector<ProgramSpec> link_programs(const std::string& file, const std::vector<CodeSection>& code,
                                       const LineTable& lines, const CoreTable& core = {});

}  // namespace bpfq::loader
