#include "linker.hpp"

#include <algorithm>
#include <map>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>

#include "location.hpp"

namespace bpfq::loader {

namespace {

using ebpf::Insn;

int32_t relative(size_t target, size_t from) {
  return static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(from + 1));
}

class ProgramLinker {
 public:
  ProgramLinker(const std::string& file, const std::vector<CodeSection>& code, const LineTable& lines,
                const CoreTable& core)
      : file_(file), code_(code), lines_(lines), core_(core) {}

  ProgramSpec link(size_t section, const CodeFunction& entry) {
    program_ = ProgramSpec{};
    program_.name = entry.name;
    program_.section = code_[section].name;
    placed_.clear();
    placements_.clear();
    kfunc_index_.clear();

    place(section, entry);
    // placements_ grows while we walk it: sub-programs are appended as they are discovered.
    for (size_t k = 0; k < placements_.size(); ++k) relocate(placements_[k]);
    return std::move(program_);
  }

 private:
  struct Placement {
    size_t section;
    const CodeFunction* function;
    size_t out_start;
  };

  // Appends a function once; returns its first instruction in the program.
  size_t place(size_t section, const CodeFunction& fn) {
    const auto key = std::make_pair(section, fn.start);
    if (auto it = placed_.find(key); it != placed_.end()) return it->second;
    const size_t start = program_.insns.size();
    if (fn.count > kMaxProgramInsns - start)
      throw Error("program '" + program_.name + "' exceeds " + std::to_string(kMaxProgramInsns) +
                      " instructions once its sub-programs are appended",
                  at_section(file_, program_.section), "split the program or shrink its sub-programs");
    const CodeSection& sec = code_[section];
    program_.insns.insert(program_.insns.end(), sec.insns.begin() + fn.start,
                          sec.insns.begin() + fn.start + fn.count);
    program_.functions.push_back({fn.name, start, fn.count});
    copy_records(lines_, sec.name, fn, start, program_.lines);
    copy_records(core_, sec.name, fn, start, program_.core_accesses);
    placed_.emplace(key, start);
    placements_.push_back({section, &fn, start});
    return start;
  }

  // Line or CO-RE records of fn's instructions, renumbered to where fn is placed. Functions are
  // appended in order, so out stays sorted.
  template <typename Table, typename Record>
  static void copy_records(const Table& table, const std::string& section, const CodeFunction& fn,
                           size_t out_start, std::vector<Record>& out) {
    auto it = table.find(section);
    if (it == table.end()) return;
    const std::vector<Record>& all = it->second;  // sorted by insn
    auto rec = std::lower_bound(all.begin(), all.end(), fn.start,
                                [](const Record& r, size_t at) { return r.insn < at; });
    for (; rec != all.end() && rec->insn < fn.start + fn.count; ++rec) {
      Record copy = *rec;
      copy.insn = out_start + (rec->insn - fn.start);
      out.push_back(std::move(copy));
    }
  }

  // The function a call or address lands on must start exactly there.
  size_t place_target(size_t section, size_t target_insn, size_t from_section, size_t from_insn) {
    const CodeFunction* fn = code_[section].function_starting_at(target_insn);
    if (!fn)
      throw Error("call or function address targets insn " + std::to_string(target_insn) +
                      " of section " + code_[section].name + ", which does not start a function",
                  at_insn(file_, code_[from_section].name, from_insn),
                  "the file is corrupted, or its function symbols were stripped");
    return place(section, *fn);
  }

  void relocate(const Placement p) {  // by value: placements_ grows meanwhile
    const CodeSection& sec = code_[p.section];
    const size_t end = p.function->start + p.function->count;
    for (size_t src = p.function->start; src < end; ++src) {
      const size_t out = p.out_start + (src - p.function->start);
      const Insn insn = program_.insns[out];  // a copy: placing sub-programs grows the vector
      const bool lddw = insn.code == ebpf::LDDW_OPCODE;
      if (lddw && src + 1 >= end)
        throw Error("64-bit immediate load is cut off by the end of function '" + p.function->name + "'",
                    at_insn(file_, sec.name, src), "the file is corrupted");

      if (auto it = sec.relocations.find(src); it != sec.relocations.end()) {
        apply(it->second, p.section, src, out);
      } else if (is_call(insn) && insn.src == ebpf::CALL_LOCAL) {
        // Calls within one section are pc-relative and carry no relocation.
        const int64_t target = static_cast<int64_t>(src) + insn.imm + 1;
        if (target < 0 || static_cast<uint64_t>(target) >= sec.insns.size())
          throw Error("call lands outside section " + sec.name + " (offset " + std::to_string(insn.imm) + ")",
                      at_insn(file_, sec.name, src), "the file is corrupted");
        const size_t placed = place_target(p.section, static_cast<size_t>(target), p.section, src);
        program_.insns[out].imm = relative(placed, out);
      } else if (is_call(insn) && insn.src != ebpf::CALL_HELPER) {
        throw Error("call with src_reg " + std::to_string(insn.src) + " has no relocation",
                    at_insn(file_, sec.name, src), "the file is corrupted");
      } else if (lddw && insn.src != ebpf::LDDW_IMM64) {
        throw Error("64-bit immediate load with src_reg " + std::to_string(insn.src) + " has no relocation",
                    at_insn(file_, sec.name, src),
                    "pseudo loads (map fds, map values) must come from relocations in the object");
      }
      if (lddw) ++src;  // the second slot is data
    }
  }

  void apply(const ResolvedRelocation& r, size_t section, size_t src, size_t out) {
    switch (r.target) {
      case RelocationTarget::Map:
        set_lddw(out, ebpf::PSEUDO_MAP_IDX, static_cast<int32_t>(r.map_index), 0);
        break;
      case RelocationTarget::GlobalData:
        set_lddw(out, ebpf::PSEUDO_MAP_IDX_VALUE, static_cast<int32_t>(r.map_index),
                 static_cast<int32_t>(r.data_offset));
        break;
      case RelocationTarget::FunctionAddress: {
        const size_t placed = place_target(r.code_section, r.target_insn, section, src);
        set_lddw(out, ebpf::PSEUDO_FUNC, relative(placed, out), 0);
        break;
      }
      case RelocationTarget::LocalCall: {
        const size_t placed = place_target(r.code_section, r.target_insn, section, src);
        program_.insns[out].imm = relative(placed, out);
        break;
      }
      case RelocationTarget::Kfunc: {
        auto [it, added] = kfunc_index_.emplace(r.symbol, program_.kfunc_names.size());
        if (added) program_.kfunc_names.push_back(r.symbol);
        program_.insns[out].src = ebpf::CALL_KFUNC;
        program_.insns[out].imm = static_cast<int32_t>(it->second);
        break;
      }
    }
  }

  void set_lddw(size_t out, uint8_t src_reg, int32_t imm, int32_t next_imm) {
    program_.insns[out].src = src_reg;
    program_.insns[out].imm = imm;
    program_.insns[out + 1].imm = next_imm;
  }

  const std::string& file_;
  const std::vector<CodeSection>& code_;
  const LineTable& lines_;
  const CoreTable& core_;
  ProgramSpec program_;
  std::map<std::pair<size_t, size_t>, size_t> placed_;  // (section, function start) -> out start
  std::vector<Placement> placements_;
  std::map<std::string, size_t> kfunc_index_;
};

}  // namespace

std::vector<ProgramSpec> link_programs(const std::string& file, const std::vector<CodeSection>& code,
                                       const LineTable& lines, const CoreTable& core) {
  ProgramLinker linker(file, code, lines, core);
  std::vector<ProgramSpec> programs;
  for (size_t s = 0; s < code.size(); ++s) {
    if (code[s].name == ".text") continue;  // sub-programs only
    for (const CodeFunction& fn : code[s].functions) {
      if (!fn.global)
        throw Error("program '" + fn.name + "' is static", at_section(file, code[s].name),
                    "entry programs must be global; keep static helpers in .text (no SEC())");
      programs.push_back(linker.link(s, fn));
    }
  }
  return programs;
}

}  // namespace bpfq::loader
