#include "run_health.hpp"

#include <fmt/core.h>

#include <bpfq/runtime/object.hpp>

namespace bpfq::cli {

RunHealth run_health(const tc::SetupSnapshot& end, uint64_t pool_exhausted) {
  RunHealth h;
  for (const tc::QdiscRow& q : end.qdiscs) {
    h.faults += q.program_faults.value_or(0);
    h.leaked_refs += q.leaked_refs.value_or(0);
    h.leaked_objects += q.leaked_objects;
    h.bad_dequeues += q.bad_dequeues.value_or(0);
    h.bad_verdicts += q.stats.drops(sched::DropReason::OutOfRangeVerdict);
    if (!q.last_fault.empty()) h.last_fault = q.last_fault;
    h.unverified += q.unverified.size();
  }
  for (const tc::DeviceRow& d : end.devices) h.faults += d.stats.egress_faults;
  h.pool_exhausted = pool_exhausted;
  return h;
}

std::string health_text(const RunHealth& h) {
  std::string s;
  auto add = [&](uint64_t n, const char* what) {
    if (n) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, what);
  };
  add(h.faults, "program faults");
  add(h.leaked_refs, "leaked references");
  add(h.leaked_objects, "leaked objects");
  add(h.bad_dequeues, "bad dequeues");
  add(h.bad_verdicts, "out-of-range verdicts");
  add(h.pool_exhausted, "packets not sent (packet pool exhausted)");
  add(h.unverified, "programs not verified (run checked)");
  if (!h.last_fault.empty()) s += "; last fault: " + h.last_fault;
  return s;
}

nlohmann::json health_json(const RunHealth& h) {
  return {{"clean", h.clean()},         {"program_faults", h.faults},   {"leaked_refs", h.leaked_refs}, {"leaked_objects", h.leaked_objects},
          {"bad_dequeues", h.bad_dequeues}, {"bad_verdicts", h.bad_verdicts}, {"pool_exhausted", h.pool_exhausted},
          {"unverified_programs", h.unverified}, {"last_fault", h.last_fault},
          {"verified_programs_run_on", exec::backend_name(runtime::default_backend())}};
}

}  // namespace bpfq::cli
