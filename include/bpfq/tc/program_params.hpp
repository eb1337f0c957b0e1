#pragma once
// A qdisc program's parameters: its `const volatile` globals (.rodata), set from tc lines as
// NAME VALUE before qdisc/init runs. .data and .bss are the program's running state and cannot be
// set. A parameter declared with a unit type of bpfq/bpf/sch_bpf.h (bpfq_time_ns, bpfq_rate_Bps,
// bpfq_size_bytes, bpfq_count, bpfq_probability) takes values in that unit only.
#include <optional>
#include <string>

#include <bpfq/runtime/object.hpp>
#include <bpfq/tc/param_value.hpp>

namespace bpfq::tc {

struct ProgramParam {
  std::string name;   // as written: "limit", "ecn", "noecn"
  std::string token;  // the value as written; empty for a flag
  ParamValue value;   // a flag: 1
};

// Whether g is a parameter (a .rodata global of the program's own, not the compiler's).
bool is_parameter(const runtime::Object& obj, const loader::GlobalVariable& g);
// The unit a parameter's type declares, or nullopt (any value is taken as its number).
std::optional<ValueKind> parameter_unit(const loader::GlobalVariable& g);
// The global a parameter sets: NAME, or for a flag noNAME without a parameter of that name,
// NAME (set to 0). Null if neither exists.
const loader::GlobalVariable* param_global(const runtime::Object& obj, const ProgramParam& p);
// Sets it; bpfq::Error (at where) for an unknown name, program state, a wrong unit or a value
// that does not fit, listing the program's parameters.
void set_parameter(runtime::Object& obj, const ProgramParam& p, const std::string& where);
// The parameter's value as the program holds it now.
uint64_t parameter_value(const runtime::Object& obj, const loader::GlobalVariable& g);

}  // namespace bpfq::tc
