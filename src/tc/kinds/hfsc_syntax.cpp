// Linux tc's own option syntax for the library programs whose tc options are not NAME VALUE
// pairs (iproute2's q_hfsc.c), turned into the program's parameters: the qdisc's
// `hfsc default 20` is `defcls 0x20`, a class's `hfsc [ [rt SC] [ls SC] | [sc SC] ] [ul SC]` is
// class_rt_m1/_d/_m2, class_ls_* and class_ul_* (SC := [ [m1 RATE] d TIME ] m2 RATE, or
// [ [umax BYTES] dmax TIME ] rate RATE). Any other word is a NAME [VALUE] pair as usual
// (`parent 0x1`, or a raw `rt_m2 10mbit`).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

namespace {

struct Curve {
  uint64_t m1 = 0, d = 0, m2 = 0;  // bytes/s, ns, bytes/s
};

// hfsc_get_sc2: the curve that sends umax bytes within dmax, then rate. Concave (m1 = umax/dmax
// up to dmax) if that is faster than rate, else convex (nothing until dmax - umax/rate).
Curve umax_dmax_rate(TcLine& line, uint64_t umax, uint64_t dmax_ns, uint64_t rate) {
  if (umax != 0 && dmax_ns == 0) line.fail("hfsc: umax given but dmax is zero");
  const double dmax_us = static_cast<double>(dmax_ns / 1000);
  Curve c;
  c.m2 = rate;
  if (dmax_us != 0 && std::ceil(1e6 * static_cast<double>(umax) / dmax_us) > static_cast<double>(rate)) {
    const double m1 = std::ceil(1e6 * static_cast<double>(umax) / dmax_us);
    if (m1 >= 0x1p63) line.fail("hfsc: umax/dmax is too large a rate");
    c.m1 = static_cast<uint64_t>(m1);
    c.d = dmax_ns / 1000 * 1000;
  } else if (rate != 0) {  // dmax >= umax/rate here: no negative delay
    c.d = static_cast<uint64_t>(std::max(0.0, std::ceil(dmax_us - 1e6 * static_cast<double>(umax) / static_cast<double>(rate)))) * 1000;
  }
  return c;
}

// hfsc_get_sc: one service curve after rt, ls, sc or ul.
Curve take_curve(TcLine& line, const std::string& name) {
  Curve c;
  const std::string* next = line.peek();
  if (next && (*next == "umax" || *next == "dmax" || *next == "rate")) {
    uint64_t umax = 0, dmax = 0;
    if (line.accept("umax")) umax = take_tc_value(line, "umax", ValueKind::Size);
    if (line.accept("dmax")) dmax = take_tc_value(line, "dmax", ValueKind::Time);
    line.expect("rate");
    c = umax_dmax_rate(line, umax, dmax, take_tc_value(line, "rate", ValueKind::Rate));
  } else {
    if (line.accept("m1")) c.m1 = take_tc_value(line, "m1", ValueKind::Rate);
    if (line.accept("d")) c.d = take_tc_value(line, "d", ValueKind::Time);
    if (!line.accept("m2"))
      line.unexpected("m2 RATE: hfsc's " + name + " takes [ [m1 RATE] d TIME ] m2 RATE or [ [umax BYTES] dmax TIME ] rate RATE");
    c.m2 = take_tc_value(line, "m2", ValueKind::Rate);
  }
  if (c.m1 == 0 && c.m2 == 0) line.fail("hfsc: the " + name + " service curve has two zero slopes");
  return c;
}

void add_curve(QdiscSpec& spec, const std::string& prefix, const Curve& c) {
  spec.params.push_back({prefix + "_m1", std::to_string(c.m1), ParamValue{c.m1, ValueKind::Rate}});
  spec.params.push_back({prefix + "_d", std::to_string(c.d), ParamValue{c.d, ValueKind::Time}});
  spec.params.push_back({prefix + "_m2", std::to_string(c.m2), ParamValue{c.m2, ValueKind::Rate}});
}

void parse_hfsc_qdisc(TcLine& line, QdiscSpec& spec) {
  while (!line.done()) {
    if (!line.accept("default")) {
      parse_program_param(line, spec);
      continue;
    }
    // tc reads `default` in hex (get_u16(&defcls, arg, 16)): `default 20` is class 1:20.
    const std::string token = line.take("a class minor in hex (default 20 is class 1:20)");
    std::string_view digits = token;
    if (digits.starts_with("0x") || digits.starts_with("0X")) digits.remove_prefix(2);
    uint32_t minor = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), minor, 16);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || minor > 0xffff)
      line.bad_previous("a class minor in hex, 1 to ffff (default 20 is class 1:20)");
    spec.params.push_back({"defcls", token, ParamValue{minor, ValueKind::Integer}});
  }
}

void parse_hfsc_class(TcLine& line, QdiscSpec& spec) {
  bool ls = false, ul = false;
  while (!line.done()) {
    const std::string word = *line.peek();
    if (word != "rt" && word != "ls" && word != "sc" && word != "ul") {
      parse_program_param(line, spec);
      continue;
    }
    line.take("");
    const Curve c = take_curve(line, word);
    if (word == "rt" || word == "sc") add_curve(spec, "rt", c);
    if (word == "ls" || word == "sc") add_curve(spec, "ls", c);
    ls |= word == "ls" || word == "sc";
    ul |= word == "ul";
    if (word == "ul") add_curve(spec, "ul", c);
  }
  if (ul && !ls) line.fail("hfsc: an upper-limit curve (ul) without a link-sharing curve (ls or sc)", "tc refuses it too");
}

}  // namespace

uint64_t take_tc_value(TcLine& line, const std::string& word, ValueKind kind) {
  const std::string expected = std::string("a ") + std::string(value_kind_name(kind)) + " after '" + word + "'";
  const std::string token = line.take(expected);
  const ParamValue v = parse_param_value(token, line.where());
  if (v.kind == kind) return v.value;
  if (v.kind != ValueKind::Integer) line.bad_previous(expected);
  if (kind == ValueKind::Rate) return v.value / 8;
  if (kind == ValueKind::Time) return v.value * 1000;
  return v.value;
}

bool parse_library_qdisc_options(const std::string& program, TcLine& line, QdiscSpec& spec) {
  if (program == "cake") {
    parse_cake_qdisc(line, spec);
    return true;
  }
  if (program != "hfsc") return false;
  parse_hfsc_qdisc(line, spec);
  return true;
}

bool parse_library_class_options(const std::string& program, TcLine& line, QdiscSpec& spec) {
  if (program != "hfsc") return false;
  parse_hfsc_class(line, spec);
  return true;
}

}  // namespace bpfq::tc::kinds
