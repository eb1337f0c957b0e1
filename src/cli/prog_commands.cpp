#include "prog_commands.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/maps/map.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/loader/check_object.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>
#include <bpfq/tc/program_params.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/verifier/verifier.hpp>


namespace bpfq::cli {

using namespace bpfq::tc;  // the tc model: specs, setups, show

namespace {

std::string type_name(uint32_t type) {
  const char* name = maps::map_type_name(type);
  return name ? name : fmt::format("type {}", type);
}

void show(const std::string& path, const GlobalFlags& flags) {
  const loader::ObjectSpec obj = loader::load_object(path);
  if (flags.json) {
    nlohmann::json j;
    j["object"] = path;
    j["license"] = obj.license;
    for (const loader::ProgramSpec& p : obj.programs) {
      nlohmann::json functions = nlohmann::json::array();
      for (const loader::FunctionRange& f : p.functions) functions.push_back(f.name);
      j["programs"].push_back({{"section", p.section}, {"name", p.name}, {"insns", p.insns.size()},
                               {"functions", functions}, {"kfuncs", p.kfunc_names}});
    }
    for (const maps::MapSpec& m : obj.maps)
      j["maps"].push_back({{"name", m.name}, {"type", type_name(m.type)}, {"key_size", m.key_size},
                           {"value_size", m.value_size}, {"max_entries", m.max_entries},
                           {"flags", m.flags}, {"section", m.section}});
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{}: license \"{}\"\n", path, obj.license);
  fmt::print("programs:\n");
  for (const loader::ProgramSpec& p : obj.programs) {
    fmt::print("  {:<20} {:<24} {:>6} insns", p.section, p.name, p.insns.size());
    if (p.functions.size() > 1) fmt::print("  ({} sub-programs)", p.functions.size() - 1);
    fmt::print("\n");
  }
  fmt::print("maps:\n");
  for (const maps::MapSpec& m : obj.maps)
    fmt::print("  {:<20} {:<15} key {:>3}B  value {:>5}B  max_entries {}\n", m.name,
               type_name(m.type), m.key_size, m.value_size, m.max_entries);
}

void dump(const std::string& path, const std::string& section) {
  const loader::ObjectSpec obj = loader::load_object(path);
  bool found = false;
  for (const loader::ProgramSpec& p : obj.programs) {
    if (!section.empty() && p.section != section && p.name != section) continue;
    found = true;
    fmt::print("{} ({}):\n", p.section, p.name);
    const loader::SourceLine* last_line = nullptr;
    for (size_t i = 0; i < p.insns.size();) {
      if (const loader::FunctionRange* f = p.function_at(i); f && f->start == i)
        fmt::print("{}:\n", f->name);
      if (const loader::SourceLine* l = p.line_at(i); l && l != last_line && l->insn == i) {
        fmt::print("  ; {} [{}]\n", l->text, p.source_location(i));
        last_line = l;
      }
      size_t used = 1;
      const std::string text = ebpf::disassemble_one(&p.insns[i], p.insns.size() - i, &used);
      fmt::print("  {:>5}: {}\n", i, text);
      i += used == 0 ? 1 : used;
    }
  }
  if (!found) {
    std::string names;
    for (const loader::ProgramSpec& p : obj.programs) names += " " + p.section;
    throw Error("no program in section or named '" + section + "'", path,
                "the object has:" + names);
  }
}

// ---- prog check ----

constexpr std::string_view kDataSections[] = {".maps", "license", ".data", ".rodata", ".bss"};

// The program types' table decides which sections are qdisc and tc programs.
bool is_qdisc_section(std::string_view s) {
  const verifier::ProgramType* t = verifier::program_type_for_section(s);
  return t && t->ctx == verifier::CtxKind::QdiscCtx;
}

bool is_tc_section(std::string_view s) {
  const verifier::ProgramType* t = verifier::program_type_for_section(s);
  return t && t->ctx == verifier::CtxKind::SkBuff;
}

bool is_struct_ops_section(std::string_view s) {
  return s == ".struct_ops" || s == ".struct_ops.link" || s.starts_with("struct_ops/") || s.starts_with("struct_ops.s/");
}

bool is_known_data_section(std::string_view s) {
  for (std::string_view d : {".data", ".rodata", ".bss"})
    if (s == d || (s.starts_with(d) && s.size() > d.size() && s[d.size()] == '.')) return true;  // .rodata.str1.1
  return s == ".maps" || s == "license" || s == "maps";  // legacy maps: the loader's problem
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The known name a misspelt or shortened section most likely meant ("enqueue" ->
// "qdisc/enqueue"), or "" when none is close.
std::string nearest(std::string_view name, std::span<const std::string_view> known) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (std::string_view k : known) {
    const size_t slash = k.rfind('/');
    const bool tail = slash != std::string_view::npos && k.substr(slash + 1) == name;
    const size_t d = tail ? 1 : edit_distance(name, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

std::string listed(std::span<const std::string_view> names) {
  std::string s;
  for (std::string_view n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

std::string at_section(const std::string& path, const std::string& section) { return path + " section " + section; }

// Section names bpfq does not know (their programs never run, their data is ignored), and
// struct_ops programs without the Qdisc_ops that would run them (objects with one are checked
// by check_struct_ops).
void check_sections(const std::string& path, const loader::ObjectCheck& obj, std::vector<Error>& problems) {
  for (const loader::SectionInfo& s : obj.sections) {
    if (!s.alloc && !s.code) continue;  // BTF, symbols, relocations, debug info
    if (is_struct_ops_section(s.name)) {
      if (s.code)
        problems.emplace_back("struct_ops program outside any struct_ops Qdisc_ops: nothing runs it",
                              at_section(path, s.name),
                              "name it in a `SEC(\".struct_ops.link\") struct Qdisc_ops` (docs/struct_ops.md)");
      continue;
    }
    if (s.code ? s.name == ".text" || is_qdisc_section(s.name) || is_tc_section(s.name) : is_known_data_section(s.name))
      continue;
    const std::string near =
        s.code ? nearest(s.name, verifier::program_sections()) : nearest(s.name, kDataSections);
    problems.emplace_back(s.code ? "unknown program section: bpfq never runs its programs"
                                 : "unknown data section: bpfq ignores it",
                          at_section(path, s.name),
                          !near.empty() ? "did you mean " + near + "?"
                          : s.code      ? "program sections are " + listed(verifier::program_sections())
                                        : "data sections are " + listed(kDataSections));
  }
  bool has_license = false;
  for (const loader::SectionInfo& s : obj.sections) has_license = has_license || s.name == "license";
  if (!obj.sections.empty() && (!has_license || (obj.spec && obj.spec->license.empty())))
    problems.emplace_back("the object has no license", path,
                          "add char LICENSE[] SEC(\"license\") = \"GPL\"; (Linux refuses GPL-only helpers without a "
                          "GPL-compatible license)");
}

bool has_program(const loader::ObjectSpec& spec, std::string_view section) {
  for (const loader::ProgramSpec& p : spec.programs)
    if (p.section == section) return true;
  return false;
}

// The programs' calls, each program against what it runs with: qdisc programs with the qdisc's
// helpers and kfuncs, tc programs with a qdisc's object's (TcProgram::of_qdisc) when the
// object has qdisc programs, else with tc_helpers(); then the verifier, on every program of a
// known type.
struct ProgramsChecked {
  bool calls_resolve = true;
  bool verified = true;
  std::vector<verifier::VerifyResult> results;  // parallel to spec.programs
};

ProgramsChecked check_programs(const std::string& path, const loader::ObjectSpec& spec, bool verbose,
                               std::vector<Error>& problems) {
  bool qdisc = false;
  for (const loader::ProgramSpec& p : spec.programs) qdisc = qdisc || p.section.starts_with("qdisc/");
  if (qdisc)
    for (const char* required : {"qdisc/enqueue", "qdisc/dequeue"})
      if (!has_program(spec, required))
        problems.emplace_back(std::string("no ") + required + " program", path,
                              "a bpf qdisc needs SEC(\"qdisc/enqueue\") and SEC(\"qdisc/dequeue\") programs");
  ProgramsChecked checked;
  for (const loader::ProgramSpec& p : spec.programs) {
    if (is_struct_ops_section(p.section)) continue;  // reported with its section
    const exec::HelperRegistry& helpers =
        qdisc || p.section.starts_with("qdisc/") ? sched::qdisc_helpers() : sched::tc_helpers();
    for (Error& e : runtime::unknown_calls(p, helpers, at_section(path, p.section))) {
      problems.push_back(std::move(e));
      checked.calls_resolve = false;
    }
  }
  verifier::ObjectVerification v =
      verifier::verify_object(spec, path, {.log = verbose, .kernel_btf = sched::kernel_btf()});
  for (size_t i = 0; i < spec.programs.size(); ++i) {
    if (!v.refused(i)) continue;
    const std::string& why = v.results[i].error.message;
    // Calls the registry cannot link were reported above, with their names.
    if (why.starts_with("unknown func") || why.starts_with("calling kernel function")) continue;
    problems.push_back(v.results[i].to_error(path, spec.programs[i].section));
    checked.verified = false;
  }
  for (const Error& e : v.object_problems) {
    problems.push_back(e);
    checked.verified = false;
  }
  checked.results = std::move(v.results);
  return checked;
}

// `bpf obj FILE NAME VALUE …` as the setup and sim commands parse it.
std::vector<tc::ProgramParam> parse_params(const std::string& path, const std::vector<std::string>& words) {
  std::vector<std::string> line{"bpf", "obj", path};
  line.insert(line.end(), words.begin(), words.end());
  tc::TcLine tc_line(std::move(line), "bpf obj " + path);
  return tc::parse_qdisc_spec(tc_line).params;
}

// What `bpf obj` does with a parameter, reported instead of thrown.
void set_param(runtime::Object& obj, const tc::ProgramParam& p, const std::string& path, std::vector<Error>& problems) {
  try {
    tc::set_parameter(obj, p, path);
  } catch (const Error& e) {
    problems.push_back(e);
  }
}

// Sets the parameters and runs qdisc/init as `tc qdisc add … bpf obj` would, on the object
// linked already (with bpf_qdisc_object_options(env)).
std::unique_ptr<sched::BpfQdisc> run_init(runtime::Object linked, const sched::BpfQdiscEnv& env, const std::string& path,
                                          const std::vector<tc::ProgramParam>& params, std::vector<Error>& problems) {
  auto q = std::make_unique<sched::BpfQdisc>(std::move(linked), sched::Handle::make(1, 0), env);
  const size_t before = problems.size();
  for (const tc::ProgramParam& p : params) set_param(q->object(), p, path, problems);
  if (problems.size() != before) return q;  // init would run with other values than asked for
  try {
    q->init();
  } catch (const Error& e) {
    std::string fault = q->counters().last_fault;
    if (fault.starts_with("qdisc/init: ")) fault.erase(0, 12);
    problems.emplace_back(q->counters().faults != 0 ? "qdisc/init faulted: " + fault : e.reason(),
                          at_section(path, "qdisc/init"),
                          e.hint().empty() ? "init runs at setup, with the parameters given after the object" : e.hint());
  }
  return q;
}

// Everything `tc qdisc add … bpf obj FILE NAME VALUE …` and `filter add … bpf obj` would
// refuse, all at once: the sections, the license, the maps, each program's calls and packet
// writes, linking, the parameters and qdisc/init. Problems go to stderr; any is exit 1.
// An object of Linux's struct_ops API: opened as its qdisc would be (CO-RE against bpfq's kernel,
// every op present and supported, no write to a read-only kernel field), then initialised.
void check_struct_ops(const std::string& path, const std::vector<std::string>& param_words) {
  runtime::ManualClock clock;
  sched::PacketPool pool(sched::PacketPoolConfig{64});
  sched::BpfQdiscEnv env{&pool, &clock};
  const std::vector<ProgramParam> params = parse_params(path, param_words);
  auto q = sched::StructOpsQdisc::open(path, sched::Handle::make(1, 0), env);
  for (const ProgramParam& p : params) set_parameter(q->object(), p, path);
  q->init();
  const loader::ObjectSpec& spec = q->object().spec();
  const std::vector<runtime::ProgramInfo> programs = q->object().programs();
  for (const loader::StructOpsMap& ops : spec.struct_ops)
    for (const loader::StructOpsMember& m : ops.members) {
      if (m.program.empty()) continue;
      const auto info = std::find_if(programs.begin(), programs.end(),
                                     [&](const runtime::ProgramInfo& p) { return p.name == m.program; });
      if (info == programs.end()) continue;
      const std::string how = info->verified ? fmt::format("verified (runs on the {})", exec::backend_name(info->backend))
                              : info->unverified.empty() ? std::string("not verified, runs checked")
                                                         : "not verified, runs checked: " + info->unverified;
      fmt::print("{}: struct_ops {} '{}' (id {}): {} = {} ({}), {} insns, ok, {}\n", path, ops.type_name, ops.name,
                 q->id(), m.name, m.program, info->section, info->insn_count, how);
    }
}

// The file is read and loaded once: the spec that is checked and verified is the one linked,
// and a qdisc's linked object is the one qdisc/init runs in.
void check(const std::string& path, const std::vector<std::string>& param_words, bool verbose) {
  std::optional<std::vector<uint8_t>> bytes;
  bool struct_ops = false;
  try {
    bytes = loader::read_object_file(path);
    struct_ops = loader::declares_struct_ops(*bytes, path);
  } catch (const Error&) {  // reported below, with everything else wrong with the file
  }
  if (struct_ops) {
    try {
      return check_struct_ops(path, param_words);
    } catch (const Error& e) {
      fmt::print(stderr, "bpfq: error: {}\n", e.what());
      throw Error("1 problem", path);
    }
  }
  std::vector<Error> problems;
  std::vector<tc::ProgramParam> params;
  bool params_ok = true;
  try {
    params = parse_params(path, param_words);
  } catch (const Error& e) {
    problems.push_back(e);
    params_ok = false;
  }
  // Against bpfq's kernel BTF: programs of RFC v7 read struct sk_buff through CO-RE.
  const loader::LoadOptions load{.target_btf = sched::kernel_btf()};
  loader::ObjectCheck obj = bytes ? loader::check_object(*bytes, path, load) : loader::check_object(path, load);
  check_sections(path, obj, problems);
  problems.insert(problems.end(), obj.problems.begin(), obj.problems.end());

  const ProgramsChecked checked =
      obj.spec ? check_programs(path, *obj.spec, verbose, problems) : ProgramsChecked{false, false, {}};
  if (verbose && obj.spec)
    for (size_t i = 0; i < obj.spec->programs.size(); ++i)
      if (!checked.results[i].log.empty())
        fmt::print("{} ({}): verifier log\n{}", obj.spec->programs[i].section, obj.spec->programs[i].name,
                   checked.results[i].log);
  std::optional<runtime::Object> linked;
  const bool qdisc =
      obj.spec && has_program(*obj.spec, "qdisc/enqueue") && has_program(*obj.spec, "qdisc/dequeue");
  std::optional<sched::PacketPool> pool;
  sched::BpfQdiscEnv env;
  if (qdisc) env.pool = &pool.emplace(sched::PacketPoolConfig{64});
  env.verification = runtime::Verification::Off;  // verified above
  if (checked.calls_resolve && checked.verified) {
    try {
      runtime::ObjectOptions opts;
      if (qdisc) opts = sched::bpf_qdisc_object_options(env);  // as BpfQdisc::open opens it
      opts.helpers = &sched::qdisc_helpers();  // tc_helpers() and more: the calls were checked above
      opts.verification = runtime::Verification::Off;  // verified above
      opts.target_btf = sched::kernel_btf();
      linked = runtime::Object::open(std::move(*obj.spec), opts);
    } catch (const Error& e) {
      problems.push_back(e);
    }
  }
  std::unique_ptr<sched::BpfQdisc> q;
  if (linked && params_ok) {
    if (qdisc) {
      q = run_init(std::move(*linked), env, path, params, problems);
    } else {
      for (const tc::ProgramParam& p : params) set_param(*linked, p, path, problems);
    }
  }

  if (problems.empty()) {
    const runtime::Object& object = q ? q->object() : *linked;  // the checked spec moved into it
    const std::vector<runtime::ProgramInfo> programs = object.programs();
    for (size_t i = 0; i < programs.size(); ++i) {
      const runtime::ProgramInfo& p = programs[i];
      const verifier::VerifyResult& r = checked.results[i];
      if (const verifier::ProgramType* t =
              verifier::program_type_for_section(p.section, object.spec().programs[i].ctx_struct))
        fmt::print("{}: {} ({}): {}, {} insns, ok, verified ({} insns processed, {} states)\n", path, p.section, p.name,
                   t->api, p.insn_count, r.insns_processed, r.states_stored);
      else
        fmt::print("{}: {} ({}): {} insns, ok (no program type: not verified, runs checked)\n", path, p.section,
                   p.name, p.insn_count);
    }
    return;
  }
  for (const Error& e : problems) fmt::print(stderr, "bpfq: error: {}\n", e.what());
  throw Error(std::to_string(problems.size()) + (problems.size() == 1 ? " problem" : " problems"), path);
}

// ---- prog helpers ----

struct ProgramType {
  const char* name;
  const char* runs;
  const exec::HelperRegistry& (*registry)();
};

constexpr ProgramType kProgramTypes[] = {
    {"qdisc", "qdisc/enqueue, qdisc/dequeue, qdisc/init, qdisc/reset; tc programs of a qdisc's object",
     sched::qdisc_helpers},
    {"tc", "tc, classifier, action in an object without qdisc programs (filters, clsact)", sched::tc_helpers},
};

// What each program type may call, from the registries themselves (docs/helpers.md lists the
// same, and a test keeps the two equal).
void helpers(const GlobalFlags& flags) {
  nlohmann::json j;
  for (const ProgramType& t : kProgramTypes) {
    const exec::HelperRegistry& r = t.registry();
    std::vector<std::pair<int32_t, std::string>> ids;
    for (const auto& [id, entry] : r.helpers()) ids.emplace_back(id, entry.name);
    std::sort(ids.begin(), ids.end());
    std::vector<std::string> kfuncs;
    for (const auto& [name, entry] : r.kfuncs()) kfuncs.push_back(name);
    std::sort(kfuncs.begin(), kfuncs.end());
    if (flags.json) {
      nlohmann::json& type = j[t.name];
      type["sections"] = t.runs;
      type["helpers"] = nlohmann::json::array();
      for (const auto& [id, name] : ids) type["helpers"].push_back({{"id", id}, {"name", name}});
      type["kfuncs"] = kfuncs;
      continue;
    }
    fmt::print("{} ({}):\n", t.name, t.runs);
    for (const auto& [id, name] : ids) fmt::print("  helper {:>4}  {}\n", id, name);
    for (const std::string& name : kfuncs) fmt::print("  kfunc         {}\n", name);
  }
  if (flags.json) fmt::print("{}\n", j.dump(2));
}

}  // namespace

void add_prog_commands(CLI::App& app, const GlobalFlags& flags) {
  CLI::App* prog = app.add_subcommand("prog", "inspect eBPF objects (clang -O2 -g -target bpf)");
  prog->require_subcommand(1);

  static std::string show_path;
  CLI::App* show_cmd = prog->add_subcommand("show", "list programs and maps of an object");
  show_cmd->add_option("OBJ", show_path, "eBPF object file")->required();
  show_cmd->callback([&flags] { show(show_path, flags); });

  static std::string dump_path, dump_section;
  CLI::App* dump_cmd = prog->add_subcommand("dump", "disassemble programs with their source lines");
  dump_cmd->add_option("OBJ", dump_path, "eBPF object file")->required();
  dump_cmd->add_option("--section,-s", dump_section, "only this section or function");
  dump_cmd->callback([] { dump(dump_path, dump_section); });

  static std::string check_path;
  static std::vector<std::string> check_params;
  CLI::App* check_cmd = prog->add_subcommand(
      "check", "check an object as `bpf obj OBJ NAME VALUE …` would use it; report every problem");
  check_cmd->add_option("OBJ", check_path, "eBPF object file")->required();
  check_cmd->add_option("PARAMS", check_params, "NAME VALUE … parameters for qdisc/init, as after bpf obj");
  static bool check_verbose = false;
  check_cmd->add_flag("--verbose,-v", check_verbose, "print the verifier's whole log for every program");
  check_cmd->callback([] { check(check_path, check_params, check_verbose); });

  CLI::App* helpers_cmd = prog->add_subcommand("helpers", "list the helpers and kfuncs each program type may call");
  helpers_cmd->callback([&flags] { helpers(flags); });
}

}  // namespace bpfq::cli
