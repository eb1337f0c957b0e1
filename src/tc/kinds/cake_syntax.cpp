// Linux tc's cake syntax (iproute2's q_cake.c), mostly bare keywords, turned into the parameters
// of progs/cake.bpf.c: `cake bandwidth 100mbit diffserv4 dual-dsthost ack-filter atm overhead 18`
// sets bandwidth, diffserv, flowmode, ack_filter, atm, overhead and raw. As tc does, `rtt TIME`
// also sets target to a twentieth of it, the framing keywords (pppoe-vcmux, ethernet, …) add to
// the overhead, and a later word overrides an earlier one. The program's own parameter names
// (`flowmode 5`, `ecn 0`, `target 5ms`, …; `raw` is tc's keyword) are taken as NAME VALUE pairs too. Anything else is
// an error naming the word.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

namespace {

// Linux's enum numbers (include/uapi/linux/pkt_sched.h), the program's parameter values.
const std::map<std::string, uint64_t>& diffserv_modes() {
  static const std::map<std::string, uint64_t> m = {{"diffserv3", 0}, {"diffserv4", 1}, {"diffserv", 1},
                                                     {"diffserv8", 2}, {"besteffort", 3}, {"precedence", 4}};
  return m;
}

const std::map<std::string, uint64_t>& flow_modes() {
  static const std::map<std::string, uint64_t> m = {
      {"flowblind", 0}, {"srchost", 1},      {"dsthost", 2},      {"hosts", 3},
      {"flows", 4},     {"dual-srchost", 5}, {"dual-dsthost", 6}, {"triple-isolate", 7}};
  return m;
}

// rtt presets: (target, interval) in microseconds, as tc's.
const std::map<std::string, std::pair<uint64_t, uint64_t>>& presets() {
  static const std::map<std::string, std::pair<uint64_t, uint64_t>> m = {
      {"datacentre", {5, 100}},          {"lan", {50, 1000}},         {"metro", {500, 10000}},
      {"regional", {1500, 30000}},       {"internet", {5000, 100000}}, {"oceanic", {15000, 300000}},
      {"satellite", {50000, 1000000}},   {"interplanetary", {50000000, 1000000000}}};
  return m;
}

// Framing keywords: (atm mode or -1 to keep it, bytes added to the overhead).
const std::map<std::string, std::pair<int, int>>& framings() {
  static const std::map<std::string, std::pair<int, int>> m = {
      {"ipoa-vcmux", {1, 8}},     {"ipoa-llcsnap", {1, 16}},  {"bridged-vcmux", {1, 24}},
      {"bridged-llcsnap", {1, 32}}, {"pppoa-vcmux", {1, 10}}, {"pppoa-llc", {1, 14}},
      {"pppoe-vcmux", {1, 32}},   {"pppoe-llcsnap", {1, 40}}, {"pppoe-ptm", {2, 30}},
      {"bridged-ptm", {2, 22}},   {"ether-vlan", {-1, 4}}};
  return m;
}

// tc options bpfq's cake does not implement, with why.
const std::map<std::string, std::string>& unsupported() {
  static const std::map<std::string, std::string> m = {
      {"nat", "bpfq has no conntrack to look NAT mappings up in (nonat is the default)"}};
  return m;
}

// The program's own parameters, accepted as NAME [VALUE] pairs beside tc's words.
bool is_program_param(const std::string& word) {
  static const char* const names[] = {"diffserv", "flowmode", "ack_filter", "ecn", "noecn", "limit", "mtu", "target"};
  for (const char* n : names)
    if (word == n) return true;
  return false;
}

// A decimal integer in [lo, hi] after `word` (tc's strtol for overhead and mpu).
int64_t take_int(TcLine& line, const std::string& word, int64_t lo, int64_t hi) {
  const std::string expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + " after '" +
                               word + "'";
  const std::string token = line.take(expected);
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(token, &used, 10);
  } catch (const std::exception&) {
    line.bad_previous(expected);
  }
  if (used != token.size() || v < lo || v > hi) line.bad_previous(expected);
  return v;
}

}  // namespace

void parse_cake_qdisc(TcLine& line, QdiscSpec& spec) {
  // What tc would send, in program parameters; absent: the program's default.
  std::map<std::string, ParamValue> set;
  std::vector<std::string> order;  // first-set order, for a stable spec
  const auto put = [&](const std::string& name, uint64_t value, ValueKind kind) {
    if (!set.contains(name)) order.push_back(name);
    set[name] = ParamValue{value, kind};
  };
  bool overhead_set = false, raw = false;
  int64_t overhead = 0;
  std::string preset_word;

  while (!line.done()) {
    const std::string word = *line.peek();
    if (is_program_param(word)) {
      QdiscSpec one;
      parse_program_param(line, one);
      for (ProgramParam& p : one.params) {
        if (p.name == "noecn") put("ecn", 0, ValueKind::Integer);
        else put(p.name, p.value.value, p.value.kind);
      }
      continue;
    }
    line.take("");
    if (word == "bandwidth") {
      put("bandwidth", take_tc_value(line, word, ValueKind::Rate), ValueKind::Rate);
    } else if (word == "unlimited") {
      put("bandwidth", 0, ValueKind::Rate);
    } else if (word == "rtt") {
      const uint64_t interval_us = take_tc_value(line, word, ValueKind::Time) / 1000;
      if (interval_us == 0) line.bad_previous("a round-trip time of at least 1us after 'rtt'");
      put("rtt", interval_us * 1000, ValueKind::Time);
      put("target", std::max<uint64_t>(interval_us / 20, 1) * 1000, ValueKind::Time);
    } else if (auto p = presets().find(word); p != presets().end()) {
      if (!preset_word.empty())
        line.fail("cake: '" + word + "' after '" + preset_word + "': one rtt preset at most", "tc refuses it too");
      preset_word = word;
      put("rtt", p->second.second * 1000, ValueKind::Time);
      put("target", p->second.first * 1000, ValueKind::Time);
    } else if (auto d = diffserv_modes().find(word); d != diffserv_modes().end()) {
      put("diffserv", d->second, ValueKind::Integer);
    } else if (auto f = flow_modes().find(word); f != flow_modes().end()) {
      put("flowmode", f->second, ValueKind::Integer);
    } else if (word == "wash" || word == "nowash") {
      put("wash", word == "wash" ? 1 : 0, ValueKind::Integer);
    } else if (word == "autorate-ingress") {
      put("autorate_ingress", 1, ValueKind::Integer);
    } else if (word == "nonat" || word == "split-gso" || word == "no-split-gso" ||
               word == "via-ethernet") {
      // the defaults (bpfq never splits a GSO bundle: docs/qdiscs/cake.md); via-ethernet is a no-op in tc too
    } else if (auto u = unsupported().find(word); u != unsupported().end()) {
      line.fail("cake: '" + word + "' is not supported", u->second);
    } else if (word == "noatm") {
      put("atm", 0, ValueKind::Integer);
    } else if (word == "atm") {
      put("atm", 1, ValueKind::Integer);
    } else if (word == "ptm") {
      put("atm", 2, ValueKind::Integer);
    } else if (word == "raw") {
      put("atm", 0, ValueKind::Integer);
      overhead = 0;
      overhead_set = true;
      raw = true;
    } else if (word == "conservative") {
      put("atm", 1, ValueKind::Integer);
      overhead = 48;
      overhead_set = true;
    } else if (auto fr = framings().find(word); fr != framings().end()) {
      if (fr->second.first >= 0) put("atm", static_cast<uint64_t>(fr->second.first), ValueKind::Integer);
      overhead += fr->second.second;
      overhead_set = true;
    } else if (word == "ethernet") {
      overhead += 38;
      overhead_set = true;
      put("mpu", 84, ValueKind::Size);
    } else if (word == "docsis") {
      put("atm", 0, ValueKind::Integer);
      overhead += 18;
      overhead_set = true;
      put("mpu", 64, ValueKind::Size);
    } else if (word == "overhead") {
      overhead = take_int(line, word, -64, 256);
      overhead_set = true;
    } else if (word == "mpu") {
      put("mpu", static_cast<uint64_t>(take_int(line, word, 0, 256)), ValueKind::Size);
    } else if (word == "ingress") {
      put("ingress", 1, ValueKind::Integer);
    } else if (word == "egress") {
      put("ingress", 0, ValueKind::Integer);
    } else if (word == "no-ack-filter") {
      put("ack_filter", 0, ValueKind::Integer);
    } else if (word == "ack-filter") {
      put("ack_filter", 1, ValueKind::Integer);
    } else if (word == "ack-filter-aggressive") {
      put("ack_filter", 2, ValueKind::Integer);
    } else if (word == "memlimit") {
      const uint64_t bytes = take_tc_value(line, word, ValueKind::Size);
      if (bytes > UINT32_MAX) line.bad_previous("a size up to 4gb after 'memlimit'");
      put("memlimit", bytes, ValueKind::Size);
    } else if (word == "fwmark") {
      put("fwmark", line.take_number("a mark mask after 'fwmark' (e.g. 0xff)", UINT32_MAX), ValueKind::Integer);
    } else {
      line.bad_previous(
          "a cake option: bandwidth RATE, unlimited, rtt TIME, a preset (lan, internet, …), besteffort, diffserv3, "
          "diffserv4, diffserv8, precedence, flowblind, srchost, dsthost, hosts, flows, dual-srchost, dual-dsthost, "
          "triple-isolate, ack-filter, ack-filter-aggressive, no-ack-filter, atm, ptm, noatm, overhead N, mpu N, raw, "
          "conservative, ethernet, docsis, memlimit SIZE, fwmark MASK, ingress, egress, wash, nowash, autorate-ingress");
    }
  }
  // TCA_CAKE_OVERHEAD turns the compensation on (raw 0); TCA_CAKE_RAW, sent by `raw`, off.
  if (overhead_set) {
    put("overhead", static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(overhead))), ValueKind::Integer);
    put("raw", raw ? 1 : 0, ValueKind::Integer);
  }
  for (const std::string& name : order) {
    const ParamValue& v = set[name];
    spec.params.push_back({name, std::to_string(v.value), v});
  }
}

}  // namespace bpfq::tc::kinds
