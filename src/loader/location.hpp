#pragma once
// The "where" part of loader errors: "<file>", "<file> section <sec>", "<file> section <sec>
// insn <n>".
#include <cstddef>
#include <string>
#include <string_view>

namespace bpfq::loader {

inline std::string at_section(std::string_view file, std::string_view section) {
  return std::string(file) + " section " + std::string(section);
}

inline std::string at_insn(std::string_view file, std::string_view section, size_t insn) {
  return at_section(file, section) + " insn " + std::to_string(insn);
}

}  // namespace bpfq::loader
