#pragma once
// A program parameter's value written the way tc writes qdisc options (docs/cli.md, "Units"):
//   integer   100, 0x1f
//   time      10ms, 5us, 1s, 250usec, 2msec, 1sec     -> nanoseconds
//   rate      10mbit, 1gbit, 500kbit, 2mibit, 1mbps    -> bytes per second (tc: 10mbit = 1250000)
//   size      1514b, 64k, 64kb, 1m, 1mb, 1g, 1gb       -> bytes (1024-based, as tc)
//   percent   1%, 0.5%                                 -> u32 probability, 100% = 0xffffffff (netem)
// Decimal fractions are allowed before a unit ("1.5mbit"); results are exact and round down,
// percentages round to nearest as netem's rint() does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bpfq::tc {

enum class ValueKind : uint8_t { Integer, Time, Rate, Size, Percent };
std::string_view value_kind_name(ValueKind kind);

struct ParamValue {
  uint64_t value = 0;
  ValueKind kind = ValueKind::Integer;
};

// Whether token is meant as a value (starts with a digit or '.'), not a parameter name.
bool looks_like_value(std::string_view token);

// The value, or bpfq::Error(what, where) naming the token and listing what is accepted.
ParamValue parse_param_value(const std::string& token, const std::string& where);

// What every value error says is accepted.
std::string_view value_forms();

// The value as show prints it, in the largest unit that divides it: 5ms, 10mbit, 64kb, 1%.
std::string format_value(uint64_t value, ValueKind kind);

}  // namespace bpfq::tc
