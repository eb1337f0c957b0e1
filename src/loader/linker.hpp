#pragma once
// Links each entry program: copies its function, appends every sub-program it calls or takes
// the address of (each once, in order of first use, transitively), and rewrites instructions
// to the conventions documented in object_spec.hpp.
#include <string>
#include <vector>

#include <bpfq/loader/object_spec.hpp>

#include "code_sections.hpp"
#include "line_info.hpp"

namespace bpfq::loader {

// Entry programs are the global functions of every executable section except .text, in section
// order then by offset. lines may be empty.
std::vector<ProgramSpec> link_programs(const std::string& file, const std::vector<CodeSection>& code,
                                       const LineTable& lines);

}  // namespace bpfq::loader
