#include "prog_commands.hpp"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <bpfq/ebpf/disassembler.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/maps/map.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/skb_write_check.hpp>

namespace bpfq::cli {

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

// Loads, creates the maps, links every program against the qdisc helpers and kfuncs and checks
// which packet fields qdisc and tc programs write: what `tc qdisc add … bpf obj` would do,
// without running anything.
void check(const std::string& path) {
  runtime::ObjectOptions opts;
  opts.helpers = &sched::qdisc_helpers();
  const runtime::Object obj = runtime::Object::open(path, opts);
  for (const loader::ProgramSpec& p : obj.spec().programs) {
    if (p.section.starts_with("qdisc/")) sched::check_skb_writes(p, sched::ContextKind::QdiscCtx, path);
    if (p.section == "tc" || p.section.starts_with("tc/") || p.section.starts_with("classifier"))
      sched::check_skb_writes(p, sched::ContextKind::SkBuff, path);
  }
  for (const runtime::ProgramInfo& p : obj.programs())
    fmt::print("{}: {} ({}): {} insns, ok\n", path, p.section, p.name, p.insn_count);
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
  CLI::App* check_cmd = prog->add_subcommand("check", "load and link an object; report what is wrong");
  check_cmd->add_option("OBJ", check_path, "eBPF object file")->required();
  check_cmd->callback([] { check(check_path); });
}

}  // namespace bpfq::cli
