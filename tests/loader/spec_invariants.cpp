#include "spec_invariants.hpp"

#include <bpfq/loader/load_object.hpp>

namespace bpfq::loader::test {

namespace {

bool is_map_in_map(uint32_t type) {
  return type == static_cast<uint32_t>(maps::MapType::ArrayOfMaps) ||
         type == static_cast<uint32_t>(maps::MapType::HashOfMaps) ||
         type == static_cast<uint32_t>(maps::MapType::RbtreeOfMaps);
}

std::string map_violation(const maps::MapSpec& m, bool inner) {
  if (m.initial_value.size() > m.value_size) return "initial value of " + m.name + " exceeds value_size";
  if (!m.initial_value.empty() && !m.global_data) return m.name + " has an initial value but is not global data";
  if (m.inner && (inner || !is_map_in_map(m.type))) return m.name + " has an unexpected inner map";
  if (!inner && is_map_in_map(m.type)) {
    if (!m.inner) return m.name + " is a map-in-map without inner template";
    if (m.value_size != 4) return m.name + " map-in-map value_size is not 4";
    if (std::string r = map_violation(*m.inner, true); !r.empty()) return r;
  }
  for (size_t i = 0; i < m.kptr_offsets.size(); ++i) {
    if (m.kptr_offsets[i] % 8 != 0) return m.name + " has a misaligned kptr offset";
    if (i > 0 && m.kptr_offsets[i] <= m.kptr_offsets[i - 1]) return m.name + " kptr offsets unsorted";
  }
  return {};
}

std::string program_violation(const ObjectSpec& spec, const ProgramSpec& p) {
  using namespace ebpf;
  const std::string at = "program " + p.name + ": ";
  if (p.insns.empty()) return at + "no instructions";
  if (p.insns.size() > kMaxProgramInsns) return at + "over the instruction limit";
  if (p.functions.empty() || p.functions[0].name != p.name || p.functions[0].start != 0)
    return at + "entry function is not first";
  size_t next = 0;
  for (const FunctionRange& f : p.functions) {
    if (f.start != next || f.count == 0) return at + "functions do not tile the instructions";
    next = f.start + f.count;
  }
  if (next != p.insns.size()) return at + "functions do not cover the instructions";
  auto starts_function = [&](int64_t target) {
    for (const FunctionRange& f : p.functions)
      if (static_cast<int64_t>(f.start) == target) return true;
    return false;
  };
  for (size_t i = 0; i < p.insns.size(); ++i) {
    const Insn& insn = p.insns[i];
    const std::string here = at + "insn " + std::to_string(i) + ": ";
    if (insn.code == LDDW_OPCODE) {
      if (i + 1 >= p.function_at(i)->start + p.function_at(i)->count) return here + "lddw cut off";
      const Insn& next_slot = p.insns[i + 1];
      switch (insn.src) {
        case LDDW_IMM64:
          break;
        case PSEUDO_MAP_IDX:
          if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= spec.maps.size())
            return here + "map index out of range";
          if (next_slot.imm != 0) return here + "map lddw with an offset";
          break;
        case PSEUDO_MAP_IDX_VALUE: {
          if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= spec.maps.size())
            return here + "data map index out of range";
          const maps::MapSpec& m = spec.maps[static_cast<size_t>(insn.imm)];
          if (!m.global_data || m.value_size == 0)
            return here + "value lddw of a map that is not global data";
          if (next_slot.imm < 0 || static_cast<uint32_t>(next_slot.imm) > m.value_size)
            return here + "value offset out of range";
          break;
        }
        case PSEUDO_FUNC:
          if (!starts_function(static_cast<int64_t>(i) + insn.imm + 1))
            return here + "function address does not start a function";
          break;
        default:
          return here + "unexpected lddw src " + std::to_string(insn.src);
      }
      ++i;
      continue;
    }
    if (insn.code == (JMP | CALL)) {
      if (insn.src == CALL_LOCAL && !starts_function(static_cast<int64_t>(i) + insn.imm + 1))
        return here + "local call does not land on a function";
      if (insn.src == CALL_KFUNC &&
          (insn.imm < 0 || static_cast<size_t>(insn.imm) >= p.kfunc_names.size()))
        return here + "kfunc index out of range";
      if (insn.src > CALL_KFUNC) return here + "unexpected call src";
    }
  }
  for (size_t i = 0; i < p.lines.size(); ++i) {
    if (p.lines[i].insn >= p.insns.size()) return at + "line info beyond the program";
    if (i > 0 && p.lines[i].insn < p.lines[i - 1].insn) return at + "line info unsorted";
  }
  return {};
}

}  // namespace

std::string spec_violation(const ObjectSpec& spec) {
  for (const maps::MapSpec& m : spec.maps)
    if (std::string r = map_violation(m, false); !r.empty()) return r;
  for (const ProgramSpec& p : spec.programs)
    if (std::string r = program_violation(spec, p); !r.empty()) return r;
  return {};
}

}  // namespace bpfq::loader::test
