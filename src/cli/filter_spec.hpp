#pragma once
// A filter described the way tc describes one, after `filter add dev D parent H: prio P`:
//   u32 match ip dport 22 0xffff [match ...] classid 1:10      (sched/u32_filter.hpp)
//   fw [handle MARK[/MASK]] classid 1:10                         (when the engine has fw)
//   bpf obj FILE.bpf.o [sec SECTION] [classid 1:10] [da]         (cls_bpf, sched/bpf_filter.hpp)
// The words are checked when parsed (u32's selector, bpf's object and section are loaded), so a
// bad filter is reported on its line.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/filter.hpp>
#include <bpfq/sched/handle.hpp>

#include "tc_line.hpp"

namespace bpfq::cli {

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
};

// The filter words from the kind to the end of the line; parent and handle come from the words
// before the kind.
FilterSpec parse_filter_spec(TcLine& line, sched::Handle parent, std::optional<std::string> handle = {});

// A new filter; bpf programs read time from clock.
std::unique_ptr<sched::Filter> make_filter(const FilterSpec& spec, const runtime::Clock& clock);

// The filter kinds this build knows, for messages: "u32, fw or bpf".
std::string filter_kinds();

}  // namespace bpfq::cli
