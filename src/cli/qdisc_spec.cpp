#include "qdisc_spec.hpp"

#include <charconv>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/fq_codel_qdisc.hpp>
#include <bpfq/sched/pfifo_fast_qdisc.hpp>

namespace bpfq::cli {

namespace {

constexpr const char* kKinds = "pfifo, bfifo, pfifo_head_drop, pfifo_fast, fq_codel or bpf";

// `limit N` of the fifos: packets (pfifo) or bytes (bfifo, which also takes sizes: 64kb).
uint32_t parse_limit(TcLine& line, bool bytes) {
  const std::string word = line.take(bytes ? "a limit in bytes" : "a limit in packets");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && p == word.data() + word.size())) {
    if (ec != std::errc() || v > UINT32_MAX) line.fail("limit " + word + " is too large", "at most 4294967295");
    return static_cast<uint32_t>(v);
  }
  if (!bytes) line.fail("expected a number, got '" + word + "'", "pfifo limit PACKETS");
  const ParamValue size = parse_param_value(word, line.where());
  if (size.kind != ValueKind::Size) line.bad_previous("a size (1514b, 64kb, 1mb)");
  if (size.value > UINT32_MAX) line.fail("limit " + word + " is too large", "at most 4294967295 bytes");
  return static_cast<uint32_t>(size.value);
}

void parse_program_params(TcLine& line, QdiscSpec& spec) {
  while (!line.done()) {
    const std::string name = line.take("a parameter name");
    if (looks_like_value(name)) line.bad_previous("a parameter name (a global variable of the program)");
    ProgramParam p{name, {}, ParamValue{1, ValueKind::Integer}};
    if (const std::string* next = line.peek(); next && looks_like_value(*next)) {
      p.token = line.take("a value");
      p.value = parse_param_value(p.token, line.where());
    }
    spec.params.push_back(std::move(p));
  }
}

const loader::GlobalVariable* find_global(const runtime::Object& obj, const std::string& name) {
  for (const loader::GlobalVariable& g : obj.spec().globals)
    if (g.name == name) return &g;
  return nullptr;
}

std::string global_names(const runtime::Object& obj) {
  std::string s;
  for (const loader::GlobalVariable& g : obj.spec().globals) s += (s.empty() ? "" : ", ") + g.name;
  return s.empty() ? "the program has no global variables" : "its globals are " + s;
}

void set_parameter(runtime::Object& obj, const ProgramParam& p, const std::string& where) {
  const loader::GlobalVariable* var = param_global(obj, p);
  const uint64_t value = var && var->name != p.name ? 0 : p.value.value;  // `noecn`: ecn = 0
  if (!var) throw Error("unknown parameter '" + p.name + "'", where, global_names(obj));
  const std::string& name = var->name;
  if (var->size != 1 && var->size != 2 && var->size != 4 && var->size != 8)
    throw Error("parameter '" + name + "' is a " + std::to_string(var->size) + "-byte variable", where,
                "only integer parameters (1, 2, 4 or 8 bytes) can be set from the command line");
  if (var->size < 8 && value >> (8 * var->size) != 0)
    throw Error("value " + p.token + " (" + std::string(value_kind_name(p.value.kind)) + " " + std::to_string(value) +
                    ") does not fit parameter '" + name + "' (" + std::to_string(var->size) + " bytes)",
                where);
  obj.set_global(name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), var->size));
}

// The native fq_codel's parameters, named and scaled as progs/fq_codel.bpf.c's globals.
sched::FqCodelParams fq_codel_params(const QdiscSpec& spec, const sched::DeviceParams& device) {
  sched::FqCodelParams f = sched::FqCodelParams::for_device(device);
  for (const ProgramParam& p : spec.params) {
    const uint64_t v = p.value.value;
    auto u32 = [&] {
      if (v > UINT32_MAX) throw Error("value " + p.token + " does not fit fq_codel's " + p.name, spec.where);
      return static_cast<uint32_t>(v);
    };
    if (p.name == "limit") f.limit = u32();
    else if (p.name == "flows") f.flows = u32();
    else if (p.name == "target") f.target_ns = v;
    else if (p.name == "interval") f.interval_ns = v;
    else if (p.name == "quantum") f.quantum = u32();
    else if (p.name == "ecn") f.ecn = v != 0;
    else if (p.name == "noecn" && p.token.empty()) f.ecn = false;
    else if (p.name == "ce_threshold") f.ce_threshold_ns = v == 0 ? sched::FqCodelParams::kCeThresholdOff : v;
    else if (p.name == "memory_limit") f.memory_limit = u32();
    else if (p.name == "drop_batch") f.drop_batch = u32();
    else
      throw Error("unknown fq_codel parameter '" + p.name + "'", spec.where,
                  "limit, flows, target, interval, quantum, ecn|noecn, ce_threshold, memory_limit, drop_batch");
  }
  return f;
}

}  // namespace

const loader::GlobalVariable* param_global(const runtime::Object& obj, const ProgramParam& p) {
  if (const loader::GlobalVariable* var = find_global(obj, p.name)) return var;
  if (p.token.empty() && p.name.size() > 2 && p.name.compare(0, 2, "no") == 0) return find_global(obj, p.name.substr(2));
  return nullptr;
}

QdiscSpec parse_qdisc_spec(TcLine& line) {
  QdiscSpec spec;
  spec.where = line.where();
  spec.text = line.remaining_text();
  spec.kind = line.take("a qdisc kind: " + std::string(kKinds));
  if (spec.kind == "bpf") {
    line.expect("obj");
    spec.object = line.take("an eBPF object file (FILE.bpf.o)");
    parse_program_params(line, spec);
  } else if (spec.kind.ends_with(".o")) {
    spec.object = spec.kind;
    spec.kind = "bpf";
    parse_program_params(line, spec);
  } else if (spec.kind == "pfifo" || spec.kind == "bfifo" || spec.kind == "pfifo_head_drop") {
    if (line.accept("limit")) {
      spec.limit = parse_limit(line, spec.kind == "bfifo");
      line.expect_end("the end of the line");
    } else {
      line.expect_end("limit or the end of the line");
    }
  } else if (spec.kind == "pfifo_fast") {
    line.expect_end("the end of the line (pfifo_fast takes no options)");
  } else if (spec.kind == "fq_codel") {
    parse_program_params(line, spec);  // the native twin takes the program's parameters
  } else {
    line.fail("unknown qdisc '" + spec.kind + "': expected " + kKinds, "bpf obj FILE.bpf.o runs an eBPF qdisc");
  }
  return spec;
}

QdiscSpec parse_qdisc_spec(const std::string& text) {
  TcLine line = TcLine::split(text, "qdisc '" + text + "'");
  return parse_qdisc_spec(line);
}

std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle,
                                         const BeforeInit& before_init) {
  if (spec.kind == "pfifo") return std::make_unique<sched::PfifoQdisc>(spec.limit, handle, site.device);
  if (spec.kind == "bfifo") return std::make_unique<sched::BfifoQdisc>(spec.limit, handle, site.device);
  if (spec.kind == "pfifo_head_drop")
    return std::make_unique<sched::PfifoHeadDropQdisc>(spec.limit, handle, site.device);
  try {
    if (spec.kind == "pfifo_fast") return std::make_unique<sched::PfifoFastQdisc>(handle, site.device);
    if (spec.kind == "fq_codel")
      return std::make_unique<sched::FqCodelQdisc>(fq_codel_params(spec, site.device), handle);
    sched::BpfQdiscEnv env{&site.pool, &site.clock, nullptr, nullptr};
    auto q = sched::BpfQdisc::open(spec.object, handle, env);
    for (const ProgramParam& p : spec.params) set_parameter(q->object(), p, spec.object);
    if (before_init) before_init(*q);
    q->init();
    return q;
  } catch (const Error& e) {
    throw on_line(e, spec.where);
  }
}

}  // namespace bpfq::cli
