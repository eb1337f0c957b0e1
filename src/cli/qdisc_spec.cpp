#include "qdisc_spec.hpp"

#include <charconv>
#include <cstring>
#include <sstream>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/pfifo_fast_qdisc.hpp>

namespace bpfq::cli {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

uint64_t parse_unsigned(const std::string& token, const std::string& where) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || p != token.data() + token.size())
    throw Error("expected a number, got '" + token + "'", where);
  return v;
}

// An integer, or a time with a unit, in nanoseconds.
uint64_t parse_value(const std::string& token, const std::string& where) {
  static const std::pair<const char*, uint64_t> units[] = {
      {"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
  for (const auto& [unit, scale] : units) {
    if (ends_with(token, unit) && token.size() > std::strlen(unit)) {
      const std::string digits = token.substr(0, token.size() - std::strlen(unit));
      if (digits.find_first_not_of("0123456789") == std::string::npos) return parse_unsigned(digits, where) * scale;
    }
  }
  return parse_unsigned(token, where);
}

void set_parameter(runtime::Object& obj, const std::string& name, const std::string& token,
                   const std::string& where) {
  const uint64_t value = parse_value(token, where);
  const loader::GlobalVariable& var = obj.global(name);  // bpfq::Error names the variable
  if (var.size != 1 && var.size != 2 && var.size != 4 && var.size != 8)
    throw Error("parameter '" + name + "' is a " + std::to_string(var.size) + "-byte variable", where,
                "only integer parameters (1, 2, 4 or 8 bytes) can be set from the command line");
  if (var.size < 8 && value >> (8 * var.size) != 0)
    throw Error("value " + token + " does not fit parameter '" + name + "' (" + std::to_string(var.size) + " bytes)", where);
  obj.set_global(name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), var.size));
}

}  // namespace

QdiscSpec parse_qdisc_spec(const std::string& text) {
  QdiscSpec spec{text, {}, {}};
  std::istringstream in(text);
  for (std::string t; in >> t;) spec.tokens.push_back(t);
  const std::string where = "qdisc '" + text + "'";
  if (spec.tokens.empty()) throw Error("empty qdisc", where, "e.g. pfifo limit 100, or bpf obj progs/fifo.bpf.o");
  const std::string& kind = spec.tokens[0];
  if (kind == "bpf") {
    if (spec.tokens.size() < 3 || spec.tokens[1] != "obj")
      throw Error("expected 'obj FILE' after 'bpf'", where, "bpf obj progs/fifo.bpf.o [NAME VALUE]...");
    spec.tokens.erase(spec.tokens.begin(), spec.tokens.begin() + 2);
    spec.tokens.insert(spec.tokens.begin(), "bpf");
  } else if (ends_with(kind, ".o")) {
    spec.tokens.insert(spec.tokens.begin(), "bpf");
  } else if (kind == "pfifo" || kind == "bfifo") {
    if (spec.tokens.size() != 1 && (spec.tokens.size() != 3 || spec.tokens[1] != "limit"))
      throw Error("unexpected '" + spec.tokens[1] + "'", where, kind + " [limit N]");
    if (spec.tokens.size() == 3) {
      const uint64_t limit = parse_unsigned(spec.tokens[2], where);
      if (limit > UINT32_MAX) throw Error("limit " + spec.tokens[2] + " is too large", where, "at most 4294967295");
      spec.limit = static_cast<uint32_t>(limit);
    }
    return spec;
  } else if (kind == "pfifo_fast") {
    if (spec.tokens.size() != 1) throw Error("unexpected '" + spec.tokens[1] + "'", where, "pfifo_fast takes no options");
    return spec;
  } else {
    throw Error("unknown qdisc '" + kind + "'", where, "pfifo, bfifo, pfifo_fast, or bpf obj FILE.bpf.o");
  }
  if ((spec.tokens.size() - 2) % 2 != 0)
    throw Error("parameter '" + spec.tokens.back() + "' has no value", where, "parameters come as NAME VALUE pairs");
  return spec;
}

std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site) {
  const std::string& kind = spec.tokens[0];
  const sched::Handle root = sched::Handle::make(1, 0);
  if (kind == "pfifo") return std::make_unique<sched::PfifoQdisc>(spec.limit, root, site.device);
  if (kind == "bfifo") return std::make_unique<sched::BfifoQdisc>(spec.limit, root, site.device);
  if (kind == "pfifo_fast") return std::make_unique<sched::PfifoFastQdisc>(root, site.device);
  const std::string where = "qdisc '" + spec.text + "'";
  sched::BpfQdiscEnv env{&site.pool, &site.clock, nullptr, nullptr};
  auto q = sched::BpfQdisc::open(spec.tokens[1], root, env);
  for (size_t i = 2; i + 1 < spec.tokens.size(); i += 2) set_parameter(q->object(), spec.tokens[i], spec.tokens[i + 1], where);
  q->init();
  return q;
}

}  // namespace bpfq::cli
