#include <bpfq/tc/program_params.hpp>

#include <cstring>
#include <span>

#include <bpfq/error.hpp>

namespace bpfq::tc {

namespace {

const loader::GlobalVariable* find_global(const runtime::Object& obj, const std::string& name) {
  for (const loader::GlobalVariable& g : obj.spec().globals)
    if (g.name == name) return &g;
  return nullptr;
}

const loader::GlobalVariable* find_parameter(const runtime::Object& obj, const std::string& name) {
  const loader::GlobalVariable* g = find_global(obj, name);
  return g && is_parameter(obj, *g) ? g : nullptr;
}

std::string with_article(std::string_view noun) {
  return (std::string_view("aeiou").find(noun.front()) == std::string_view::npos ? "a " : "an ") + std::string(noun);
}

std::string parameter_names(const runtime::Object& obj) {
  std::string s;
  for (const loader::GlobalVariable& g : obj.spec().globals)
    if (is_parameter(obj, g)) s += (s.empty() ? "" : ", ") + g.name;
  return s.empty() ? "the program has no parameters (const volatile globals)" : "its parameters are " + s;
}

}  // namespace

bool is_parameter(const runtime::Object& obj, const loader::GlobalVariable& g) {
  // bpf_printk's format strings are .rodata too, under names the compiler made ("f.____fmt.1").
  return obj.spec().maps[g.map_index].section.starts_with(".rodata") && g.name.find('.') == std::string::npos;
}

std::optional<ValueKind> parameter_unit(const loader::GlobalVariable& g) {
  if (g.type_name == "bpfq_time_ns") return ValueKind::Time;
  if (g.type_name == "bpfq_rate_Bps") return ValueKind::Rate;
  if (g.type_name == "bpfq_size_bytes") return ValueKind::Size;
  if (g.type_name == "bpfq_count") return ValueKind::Integer;
  if (g.type_name == "bpfq_probability") return ValueKind::Percent;
  return std::nullopt;
}

const loader::GlobalVariable* param_global(const runtime::Object& obj, const ProgramParam& p) {
  if (const loader::GlobalVariable* var = find_parameter(obj, p.name)) return var;
  if (p.token.empty() && p.name.size() > 2 && p.name.compare(0, 2, "no") == 0) return find_parameter(obj, p.name.substr(2));
  return nullptr;
}

void set_parameter(runtime::Object& obj, const ProgramParam& p, const std::string& where) {
  const loader::GlobalVariable* var = param_global(obj, p);
  if (!var) {
    if (const loader::GlobalVariable* state = find_global(obj, p.name))
      throw Error("'" + p.name + "' is program state (" + obj.spec().maps[state->map_index].section +
                      "), not a parameter",
                  where, "parameters are `const volatile` globals; " + parameter_names(obj));
    throw Error("unknown parameter '" + p.name + "'", where, parameter_names(obj));
  }
  const uint64_t value = var->name != p.name ? 0 : p.value.value;  // `noecn`: ecn = 0
  const std::string& name = var->name;
  if (const std::optional<ValueKind> unit = parameter_unit(*var);
      unit && p.value.kind != *unit && p.value.kind != ValueKind::Integer)
    throw Error("parameter '" + name + "' takes " + with_article(value_kind_name(*unit)) + " (" + var->type_name +
                    "), not " + with_article(value_kind_name(p.value.kind)) + ": '" + p.token + "'",
                where, "e.g. " + name + " " + format_value(1, *unit) + ", or a bare number for the raw value");
  if (var->size != 1 && var->size != 2 && var->size != 4 && var->size != 8)
    throw Error("parameter '" + name + "' is a " + std::to_string(var->size) + "-byte variable", where,
                "only integer parameters (1, 2, 4 or 8 bytes) can be set from the command line");
  if (var->size < 8 && value >> (8 * var->size) != 0)
    throw Error("value " + p.token + " (" + std::string(value_kind_name(p.value.kind)) + " " + std::to_string(value) +
                    ") does not fit parameter '" + name + "' (" + std::to_string(var->size) + " bytes)",
                where);
  obj.set_global(name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), var->size));
}

uint64_t parameter_value(const runtime::Object& obj, const loader::GlobalVariable& g) {
  uint64_t value = 0;  // little-endian: the low bytes
  if (g.size <= sizeof value)
    obj.get_global(g.name, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), g.size));
  return value;
}

}  // namespace bpfq::tc
