// The native fq_codel (sched::FqCodelQdisc), the C++ twin of progs/fq_codel.bpf.c: it takes the
// program's parameters, by the same names and in the same units.
#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/fq_codel_qdisc.hpp>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

namespace {

constexpr const char* kParams = "limit, flows, target, interval, quantum, ecn|noecn, ce_threshold, memory_limit, drop_batch";

sched::FqCodelParams fq_codel_params(const QdiscSpec& spec, const sched::DeviceParams& device) {
  sched::FqCodelParams f = sched::FqCodelParams::for_device(device);
  for (const ProgramParam& p : spec.params) {
    const uint64_t v = p.value.value;
    // The units of progs/fq_codel.bpf.c's parameters; a bare number is the raw value.
    auto in = [&](ValueKind unit) {
      if (p.value.kind != unit && p.value.kind != ValueKind::Integer)
        throw Error("fq_codel's " + p.name + " takes a " + std::string(value_kind_name(unit)) + ", not '" + p.token + "'",
                    spec.where);
      return v;
    };
    auto u32 = [&](ValueKind unit) {
      if (in(unit) > UINT32_MAX) throw Error("value " + p.token + " does not fit fq_codel's " + p.name, spec.where);
      return static_cast<uint32_t>(v);
    };
    if (p.name == "limit") f.limit = u32(ValueKind::Integer);
    else if (p.name == "flows") f.flows = u32(ValueKind::Integer);
    else if (p.name == "target") f.target_ns = in(ValueKind::Time);
    else if (p.name == "interval") f.interval_ns = in(ValueKind::Time);
    else if (p.name == "quantum") f.quantum = u32(ValueKind::Size);
    else if (p.name == "ecn") f.ecn = in(ValueKind::Integer) != 0;
    else if (p.name == "noecn" && p.token.empty()) f.ecn = false;
    else if (p.name == "ce_threshold") f.ce_threshold_ns = in(ValueKind::Time) == 0 ? sched::FqCodelParams::kCeThresholdOff : v;
    else if (p.name == "memory_limit") f.memory_limit = u32(ValueKind::Size);
    else if (p.name == "drop_batch") f.drop_batch = u32(ValueKind::Integer);
    else throw Error("unknown fq_codel parameter '" + p.name + "'", spec.where, kParams);
  }
  return f;
}

}  // namespace

const QdiscKind kNativeFqCodel{
    "native_fq_codel", "native_fq_codel [limit N] [flows N] [target TIME] [interval TIME] [quantum BYTES] [ecn|noecn] ...",
    false, parse_program_params,
    [](const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle, const BeforeInit&) -> std::unique_ptr<sched::Qdisc> {
      return std::make_unique<sched::FqCodelQdisc>(fq_codel_params(spec, site.device), handle);
    },
    [](sched::Qdisc& q, const QdiscSpec*, QdiscRow& row) {
      const sched::FqCodelParams& p = static_cast<sched::FqCodelQdisc&>(q).params();
      row.options = fmt::format("limit {}p flows {} quantum {} target {} interval {} memory_limit {} {}drop_batch {}",
                                p.limit, p.flows, p.quantum, format_value(p.target_ns, ValueKind::Time),
                                format_value(p.interval_ns, ValueKind::Time),
                                format_value(p.memory_limit, ValueKind::Size), p.ecn ? "ecn " : "", p.drop_batch);
      row.options_json = {{"limit", p.limit},           {"flows", p.flows},
                          {"quantum", p.quantum},       {"target", p.target_ns},
                          {"interval", p.interval_ns},  {"memory_limit", p.memory_limit},
                          {"ecn", p.ecn},               {"drop_batch", p.drop_batch}};
    },
    false};

}  // namespace bpfq::tc::kinds
