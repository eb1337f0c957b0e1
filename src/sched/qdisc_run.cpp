// The per-run state of qdisc programs: which run is in progress, the memory of a packet a
// checked program may touch, and how a fault is reported.
#include "qdisc_run.hpp"

#include <cstddef>

#include <bpfq/verifier/program_types.hpp>

namespace bpfq::sched {

QdiscRun::QdiscRun(const runtime::RunEnv& env, BpfQdisc* owner) : runtime::RunEnv(env), qdisc(owner) {}

QdiscRun* current_qdisc_run() {
  exec::RunContext* ctx = exec::RunContext::current();
  if (!ctx || !ctx->user()) return nullptr;
  // Every run of a BpfQdisc program passes a QdiscRun; other embedders never register these
  // kfuncs, so a RunEnv here is always a QdiscRun.
  return static_cast<QdiscRun*>(static_cast<runtime::RunEnv*>(ctx->user()));
}

int packet_regions(const Packet& pkt, exec::MemRegion* out) {
  const auto base = reinterpret_cast<uint64_t>(&pkt.skb);
  int n = 0;
  out[n++] = {base, base + sizeof(struct __sk_buff), false};
  // Adjacent writable fields form one region: one store may cover two (mark and queue_mapping).
  for (const verifier::CtxField& f : verifier::sk_buff_layout().fields) {
    if (!f.writable) continue;
    const uint64_t begin = base + f.offset, end = begin + f.size;
    if (n > 1 && out[n - 1].end == begin) out[n - 1].end = end;
    else if (n < kPacketRegions - 1) out[n++] = {begin, end, true};
  }
  out[n++] = {reinterpret_cast<uint64_t>(pkt.data()), reinterpret_cast<uint64_t>(pkt.data_end()), true};
  return n;
}

void grant_packet(const Packet& pkt) {
  exec::MemRegion regions[kPacketRegions];
  const int n = packet_regions(pkt, regions);
  exec::RunContext& ctx = *exec::RunContext::current();
  for (int i = 0; i < n; ++i) ctx.grant(regions[i].begin, regions[i].end - regions[i].begin, regions[i].writable);
}

std::string describe_fault(const runtime::Object& object, const std::string& section, const exec::RunResult& r) {
  std::string text = section + ": " + r.message();
  if (const loader::ProgramSpec* spec = object.spec().program(section)) {
    const std::string at = spec->source_location(r.pc);
    if (!at.empty()) text += " at " + at;
  }
  return text;
}

}  // namespace bpfq::sched
