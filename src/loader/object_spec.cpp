#include <bpfq/loader/object_spec.hpp>

#include <algorithm>

namespace bpfq::loader {

const SourceLine* ProgramSpec::line_at(size_t insn) const {
  auto it = std::upper_bound(lines.begin(), lines.end(), insn,
                             [](size_t at, const SourceLine& l) { return at < l.insn; });
  return it == lines.begin() ? nullptr : &*std::prev(it);
}

std::string ProgramSpec::source_location(size_t insn) const {
  const SourceLine* line = line_at(insn);
  if (!line || line->line == 0) return {};
  std::string file = line->file;
  if (size_t slash = file.rfind('/'); slash != std::string::npos) file.erase(0, slash + 1);
  return file + ":" + std::to_string(line->line);
}

const FunctionRange* ProgramSpec::function_at(size_t insn) const {
  for (const FunctionRange& f : functions)
    if (insn >= f.start && insn < f.start + f.count) return &f;
  return nullptr;
}

const ProgramSpec* ObjectSpec::program(std::string_view section_or_name) const {
  for (const ProgramSpec& p : programs)
    if (p.section == section_or_name) return &p;
  for (const ProgramSpec& p : programs)
    if (p.name == section_or_name) return &p;
  return nullptr;
}

int ObjectSpec::map_index(std::string_view name) const {
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i].name == name) return static_cast<int>(i);
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i].section == name && maps[i].section != ".maps") return static_cast<int>(i);
  return -1;
}

const LocalType* ObjectSpec::local_type(uint32_t id) const {
  auto it = std::lower_bound(local_types.begin(), local_types.end(), id,
                             [](const LocalType& t, uint32_t want) { return t.id < want; });
  return it != local_types.end() && it->id == id ? &*it : nullptr;
}

const StructOpsMember* StructOpsMap::member(std::string_view wanted) const {
  for (const StructOpsMember& m : members)
    if (m.name == wanted) return &m;
  return nullptr;
}

}  // namespace bpfq::loader
