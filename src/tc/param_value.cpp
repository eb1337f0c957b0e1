#include <bpfq/tc/param_value.hpp>

#include <cstdio>
#include <initializer_list>

#include <algorithm>
#include <cctype>

#include <bpfq/error.hpp>

namespace bpfq::tc {

namespace {

using u128 = unsigned __int128;

struct Unit {
  const char* suffix;
  ValueKind kind;
  u128 numerator;    // value = number * numerator / denominator
  u128 denominator;
};

constexpr u128 kKi = 1024;
constexpr u128 kBitsPerByte = 8;

// tc's suffixes (case-insensitive, as tc compares them). "bit" units are rates: tc also takes
// kbit for sizes, but a program parameter has one meaning per unit here.
const Unit kUnits[] = {
    {"ns", ValueKind::Time, 1, 1},
    {"nsec", ValueKind::Time, 1, 1},
    {"us", ValueKind::Time, 1'000, 1},
    {"usec", ValueKind::Time, 1'000, 1},
    {"usecs", ValueKind::Time, 1'000, 1},
    {"ms", ValueKind::Time, 1'000'000, 1},
    {"msec", ValueKind::Time, 1'000'000, 1},
    {"msecs", ValueKind::Time, 1'000'000, 1},
    {"s", ValueKind::Time, 1'000'000'000, 1},
    {"sec", ValueKind::Time, 1'000'000'000, 1},
    {"secs", ValueKind::Time, 1'000'000'000, 1},
    {"bit", ValueKind::Rate, 1, kBitsPerByte},
    {"kbit", ValueKind::Rate, 1'000, kBitsPerByte},
    {"mbit", ValueKind::Rate, 1'000'000, kBitsPerByte},
    {"gbit", ValueKind::Rate, 1'000'000'000, kBitsPerByte},
    {"tbit", ValueKind::Rate, 1'000'000'000'000, kBitsPerByte},
    {"kibit", ValueKind::Rate, kKi, kBitsPerByte},
    {"mibit", ValueKind::Rate, kKi * kKi, kBitsPerByte},
    {"gibit", ValueKind::Rate, kKi * kKi * kKi, kBitsPerByte},
    {"tibit", ValueKind::Rate, kKi * kKi * kKi * kKi, kBitsPerByte},
    {"bps", ValueKind::Rate, 1, 1},
    {"kbps", ValueKind::Rate, 1'000, 1},
    {"mbps", ValueKind::Rate, 1'000'000, 1},
    {"gbps", ValueKind::Rate, 1'000'000'000, 1},
    {"tbps", ValueKind::Rate, 1'000'000'000'000, 1},
    {"b", ValueKind::Size, 1, 1},
    {"k", ValueKind::Size, kKi, 1},
    {"kb", ValueKind::Size, kKi, 1},
    {"m", ValueKind::Size, kKi * kKi, 1},
    {"mb", ValueKind::Size, kKi * kKi, 1},
    {"g", ValueKind::Size, kKi * kKi * kKi, 1},
    {"gb", ValueKind::Size, kKi * kKi * kKi, 1},
    {"%", ValueKind::Percent, 0xffffffffu, 100},
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void bad(const std::string& token, const std::string& where, const std::string& why) {
  throw Error("bad value '" + token + "'" + (why.empty() ? "" : " (" + why + ")") + ": expected " +
                  std::string(value_forms()),
              where);
}

// "0x1f": a plain hexadecimal integer.
std::optional<uint64_t> hex_integer(const std::string& token) {
  if (token.size() < 3 || token[0] != '0' || (token[1] != 'x' && token[1] != 'X')) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 2; i < token.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(token[i])));
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (digit < 0 || v >> 60 != 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(digit);
  }
  return v;
}

}  // namespace

std::string_view value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Integer: return "integer";
    case ValueKind::Time: return "time";
    case ValueKind::Rate: return "rate";
    case ValueKind::Size: return "size";
    case ValueKind::Percent: return "percentage";
  }
  return "value";
}

std::string_view value_forms() {
  return "an integer (100, 0x1f), a time (10ms, 5us, 1s), a rate (10mbit, 1gbit, 1mbps), a size "
         "(1514b, 64kb, 1mb) or a percentage (1%)";
}

bool looks_like_value(std::string_view token) {
  return !token.empty() && (std::isdigit(static_cast<unsigned char>(token[0])) || token[0] == '.');
}

ParamValue parse_param_value(const std::string& token, const std::string& where) {
  if (const auto hex = hex_integer(token)) return {*hex, ValueKind::Integer};

  // number = whole[.fraction], kept exact as digits / 10^scale.
  size_t i = 0;
  u128 digits = 0, scale = 1;
  bool any_digit = false, seen_dot = false;
  for (; i < token.size(); ++i) {
    const char c = token[i];
    if (c == '.' && !seen_dot) {
      seen_dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    any_digit = true;
    if (digits > (u128{1} << 100)) bad(token, where, "too large");
    digits = digits * 10 + static_cast<unsigned>(c - '0');
    if (seen_dot) scale *= 10;
  }
  if (!any_digit) bad(token, where, "");
  const std::string suffix = lower(std::string_view(token).substr(i));

  const Unit* unit = nullptr;
  for (const Unit& u : kUnits)
    if (suffix == u.suffix) unit = &u;
  if (suffix.empty()) {
    if (seen_dot) bad(token, where, "an integer has no fraction; add a unit");
    if (digits > UINT64_MAX) bad(token, where, "too large");
    return {static_cast<uint64_t>(digits), ValueKind::Integer};
  }
  if (!unit) bad(token, where, "unknown unit '" + token.substr(i) + "'");

  const u128 denominator = scale * unit->denominator;
  if (digits > (u128{1} << 80)) bad(token, where, "too large");
  u128 value = digits * unit->numerator;
  if (unit->kind == ValueKind::Percent) {
    if (digits > 100 * scale) bad(token, where, "a percentage is at most 100%");
    value = (2 * value + denominator) / (2 * denominator);  // round to nearest, as rint()
  } else {
    value /= denominator;
  }
  if (value > UINT64_MAX) bad(token, where, "too large");
  return {static_cast<uint64_t>(value), unit->kind};
}

std::string format_value(uint64_t value, ValueKind kind) {
  auto scaled = [&](uint64_t v, std::initializer_list<std::pair<uint64_t, const char*>> units, const char* base) {
    for (const auto& [factor, suffix] : units)
      if (v != 0 && v % factor == 0) return std::to_string(v / factor) + suffix;
    return std::to_string(v) + base;
  };
  switch (kind) {
    case ValueKind::Time: return scaled(value, {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}}, "ns");
    case ValueKind::Rate:
      if (value > UINT64_MAX / 8) return std::to_string(value) + "bps";
      return scaled(value * 8, {{1'000'000'000, "gbit"}, {1'000'000, "mbit"}, {1'000, "kbit"}}, "bit");
    case ValueKind::Size: return scaled(value, {{1u << 30, "gb"}, {1u << 20, "mb"}, {1u << 10, "kb"}}, "b");
    case ValueKind::Percent: {
      const double pct = static_cast<double>(value) * 100.0 / 4294967295.0;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g%%", pct);
      return buf;
    }
    case ValueKind::Integer: break;
  }
  return std::to_string(value);
}

}  // namespace bpfq::tc
