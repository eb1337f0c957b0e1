// Helper names of the installed uapi, and the calls of a program that a registry lacks: what
// lets a load error say "bpf_skb_store_bytes" and the source line instead of "id 9".
#include <linux/bpf.h>

#include <bpfq/runtime/helpers.hpp>

namespace bpfq::runtime {

namespace {

// The generated list is checked against the header it came from, so a misparse fails the build.
#define BPFQ_UAPI_HELPER(id, name) static_assert(BPF_FUNC_##name == (id));
#include "uapi_helper_names.inc"
#undef BPFQ_UAPI_HELPER

struct UapiHelper {
  int32_t id;
  const char* name;
};

constexpr UapiHelper kUapiHelpers[] = {
#define BPFQ_UAPI_HELPER(id, name) {(id), "bpf_" #name},
#include "uapi_helper_names.inc"
#undef BPFQ_UAPI_HELPER
};

std::string located(const loader::ProgramSpec& prog, const std::string& where, size_t insn) {
  std::string at = where + " insn " + std::to_string(insn);
  if (const std::string line = prog.source_location(insn); !line.empty()) at += " (" + line + ")";
  return at;
}

constexpr const char* kHint = "bpfq's qdisc and tc programs may call what docs/helpers.md lists (bpfq prog helpers)";

}  // namespace

const char* uapi_helper_name(int32_t id) {
  for (const UapiHelper& h : kUapiHelpers)
    if (h.id == id && id != BPF_FUNC_unspec) return h.name;
  return nullptr;
}

std::vector<Error> unknown_calls(const loader::ProgramSpec& prog, const exec::HelperRegistry& helpers,
                                 const std::string& where) {
  std::vector<Error> problems;
  for (size_t i = 0; i < prog.insns.size(); ++i) {
    const ebpf::Insn& insn = prog.insns[i];
    if (insn.code == ebpf::LDDW_OPCODE) {
      ++i;  // the second slot is data
      continue;
    }
    if (insn.code != (ebpf::JMP | ebpf::CALL)) continue;
    if (insn.src == ebpf::CALL_HELPER && !helpers.helper(insn.imm)) {
      const char* name = uapi_helper_name(insn.imm);
      problems.emplace_back(name ? "unknown helper " + std::string(name) + " (id " + std::to_string(insn.imm) + ")"
                                 : "unknown helper id " + std::to_string(insn.imm),
                            located(prog, where, i), kHint);
    } else if (insn.src == ebpf::CALL_KFUNC && insn.imm >= 0 &&
               static_cast<size_t>(insn.imm) < prog.kfunc_names.size() &&
               !helpers.kfunc(prog.kfunc_names[static_cast<size_t>(insn.imm)])) {
      problems.emplace_back("unknown kfunc '" + prog.kfunc_names[static_cast<size_t>(insn.imm)] + "'",
                            located(prog, where, i), kHint);
    }
  }
  return problems;
}

}  // namespace bpfq::runtime
