#include <bpfq/tc/filter_spec.hpp>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/u32_filter.hpp>

// The fw filter arrives in the engine separately; the CLI offers it once its header exists.
#if __has_include(<bpfq/sched/fw_filter.hpp>)
#include <bpfq/sched/fw_filter.hpp>
#define BPFQ_CLI_HAS_FW 1
#else
#define BPFQ_CLI_HAS_FW 0
#endif

namespace bpfq::tc {

namespace {

void parse_bpf(TcLine& line, FilterSpec& spec) {
  const char* options = "obj, sec, classid, da, a parameter or the end of the line";
  while (!line.done()) {
    const std::string word = line.take(options);
    if (const std::string* next = line.peek(); next && looks_like_value(*next) && word != "classid" && word != "flowid") {
      const std::string token = line.take("a value");
      spec.params.push_back(ProgramParam{word, token, parse_param_value(token, line.where())});
      continue;
    }
    if (word == "obj" || word == "object-file") {
      spec.object = line.take("an eBPF object file (FILE.bpf.o)");
    } else if (word == "sec" || word == "section") {
      spec.section = line.take("a section name (tc, classifier, ...)");
    } else if (word == "classid" || word == "flowid") {
      spec.classid = line.take_handle("a class id (1:10)");
    } else if (word == "da" || word == "direct-action") {
      spec.direct_action = true;
    } else {
      line.bad_previous(options);
    }
  }
  if (spec.object.empty()) line.fail("bpf filter without 'obj FILE.bpf.o'", "bpf obj cls.bpf.o [sec tc] [classid 1:10] [da]");
}

}  // namespace

std::string filter_kinds() { return BPFQ_CLI_HAS_FW ? "u32, fw or bpf" : "u32 or bpf"; }

FilterSpec parse_filter_spec(TcLine& line, sched::Handle parent, std::optional<std::string> handle) {
  FilterSpec spec;
  spec.where = line.where();
  spec.parent = parent;
  spec.handle = std::move(handle);
  spec.text = line.remaining_text();
  spec.kind = line.take("a filter kind: " + filter_kinds());
  if (spec.kind == "u32" || (BPFQ_CLI_HAS_FW && spec.kind == "fw")) {
    spec.args = line.take_rest();
  } else if (spec.kind == "bpf") {
    parse_bpf(line, spec);
  } else {
    line.bad_previous(filter_kinds());
  }
  if (spec.handle && spec.kind != "fw")
    line.fail("a " + spec.kind + " filter takes no handle", "only fw filters take `handle MARK[/MASK]`");
  if (spec.kind == "bpf") {
    // A tc program in a qdisc's object runs in that qdisc's object (it may call the qdisc's
    // kfuncs), which is built later: check here only that the section exists.
    const loader::ObjectSpec obj = loader::load_object(spec.object);
    bool has_qdisc = false, has_section = false;
    std::string sections;
    for (const loader::ProgramSpec& p : obj.programs) {
      has_qdisc = has_qdisc || p.section.starts_with("qdisc/");
      has_section = has_section || p.section == spec.section || p.name == spec.section;
      sections += (sections.empty() ? "" : " ") + p.section;
    }
    if (has_qdisc) {
      if (!has_section) line.fail(spec.object + ": no program in section or named '" + spec.section + "'", "its sections: " + sections);
      return spec;
    }
  }
  // Build once now so that a bad selector or program is reported on this line.
  runtime::ManualClock clock;
  runtime::PinnedMaps pins;
  make_filter(spec, FilterSite{clock, &pins});
  return spec;
}

namespace {

// make_tc_program without naming the line (its callers do).
sched::TcProgram open_tc_program(const FilterSpec& spec, const FilterSite& site) {
  if (!spec.params.empty() && site.same_object)
    throw Error("parameters of " + spec.object + " are set on its qdisc line", spec.object,
                "the filter runs in the qdisc's object and shares its parameters");
  sched::TcProgram program = site.same_object ? sched::TcProgram::of_qdisc(*site.same_object, spec.section)
                                              : sched::TcProgram::open(spec.object, spec.section, site.pins, site.verification);
  for (const ProgramParam& p : spec.params) set_parameter(program.object(), p, spec.object);
  program.set_env(runtime::RunEnv{&site.clock, site.prng, nullptr});
  return program;
}

}  // namespace

sched::TcProgram make_tc_program(const FilterSpec& spec, const FilterSite& site) {
  try {
    return open_tc_program(spec, site);
  } catch (const Error& e) {
    throw on_line(e, spec.where);
  }
}

std::unique_ptr<sched::Filter> make_filter(const FilterSpec& spec, const FilterSite& site) {
  try {  // the engine's parser names the token; the line is ours to add
    if (spec.kind == "u32") return sched::U32Filter::parse(spec.args);
#if BPFQ_CLI_HAS_FW
    if (spec.kind == "fw") {
      std::vector<std::string> words = spec.args;
      if (spec.handle) words.insert(words.begin(), {"handle", *spec.handle});
      return sched::FwFilter::parse(words, spec.parent);
    }
#endif
    return std::make_unique<sched::BpfFilter>(open_tc_program(spec, site), spec.classid ? spec.classid->value : 0,
                                              spec.direct_action);
  } catch (const Error& e) {
    throw on_line(e, spec.where);
  }
}

}  // namespace bpfq::tc
