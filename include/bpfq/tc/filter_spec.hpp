#pragma once
// A filter described the way tc describes one, after `filter add dev D parent H: prio P`:
//   u32 match ip dport 22 0xffff [match ...] classid 1:10      (sched/u32_filter.hpp)
//   fw [handle MARK[/MASK]] classid 1:10                         (when the engine has fw)
//   bpf obj FILE.bpf.o [sec SECTION] [classid 1:10] [da] [NAME VALUE]...
//                                           (cls_bpf, sched/bpf_filter.hpp; NAME VALUE: the
//                                           program's parameters, as for a bpf qdisc)
// The words are checked when parsed (u32's selector, bpf's object and section are loaded), so a
// bad filter is reported on its line.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/filter.hpp>
#include <bpfq/sched/handle.hpp>

#include <bpfq/tc/program_params.hpp>
#include <bpfq/tc/tc_line.hpp>

namespace bpfq::tc {

struct FilterSpec {
  std::string text;   // as written, from the kind on
  std::string where;
  std::string kind;   // "u32", "fw", "bpf"
  std::vector<std::string> args;  // u32, fw: the words after the kind
  sched::Handle parent;           // what it is attached to (fw's old method reads its major)
  std::optional<std::string> handle;  // fw: `handle MARK[/MASK]`, before or after `fw`
  // bpf
  std::string object;
  std::string section = "tc";
  std::optional<sched::Handle> classid;
  bool direct_action = false;
  std::vector<ProgramParam> params;
};

// What a filter's program runs against.
struct FilterSite {
  const runtime::Clock& clock;
  runtime::PinnedMaps* pins = nullptr;  // maps shared by name with the setup's other objects
  runtime::Prng* prng = nullptr;        // bpf_get_prandom_u32; must outlive the filter
  // A qdisc of the setup whose object is the filter's: the program runs in that object, sharing
  // all its maps (the seed's use case 2: one object with tc and qdisc programs).
  sched::BpfQdisc* same_object = nullptr;
  runtime::Verification verification = runtime::Verification::Enforce;  // sim --unverified: RunUnverifiedChecked
};

// The filter words from the kind to the end of the line; parent and handle come from the words
// before the kind.
FilterSpec parse_filter_spec(TcLine& line, sched::Handle parent, std::optional<std::string> handle = {});

// A new filter.
std::unique_ptr<sched::Filter> make_filter(const FilterSpec& spec, const FilterSite& site);
// The program of a bpf filter, parameterised (for clsact, which runs it without a filter).
sched::TcProgram make_tc_program(const FilterSpec& spec, const FilterSite& site);

// The filter kinds this build knows, for messages: "u32, fw or bpf".
std::string filter_kinds();

}  // namespace bpfq::tc
