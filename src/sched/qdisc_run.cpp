// The per-run state of qdisc programs: which run is in progress, the memory of a packet a
// checked program may touch, and how a fault is reported.
#include "qdisc_run.hpp"

#include <cstddef>

#include <bpfq/sched/kernel_view.hpp>
#include <bpfq/verifier/program_types.hpp>

namespace bpfq::sched {

namespace {
// The __sk_buff's writable fields as offsets, adjacent ones merged into one region (one store
// may cover two: mark and queue_mapping). Worked out once from the program-type table.
struct WritableSkbFields {
  exec::MemRegion at[kPacketRegions - 2];  // offsets from the __sk_buff
  int n = 0;
};
const WritableSkbFields& writable_skb_fields() {
  static const WritableSkbFields fields = [] {
    WritableSkbFields w;
    for (const verifier::CtxField& f : verifier::sk_buff_layout().fields) {
      if (!f.writable) continue;
      if (w.n > 0 && w.at[w.n - 1].end == f.offset) w.at[w.n - 1].end = f.offset + f.size;
      else if (w.n < kPacketRegions - 2) w.at[w.n++] = {f.offset, f.offset + f.size, true};
    }
    return w;
  }();
  return fields;
}
}  // namespace

int packet_regions(const Packet& pkt, QdiscApi api, exec::MemRegion* out) {
  const auto base = reinterpret_cast<uint64_t>(&pkt.skb);
  int n = 0;
  if (api == QdiscApi::RfcV7) {
    out[n++] = {base, base + kernel_skb::kSize, false};
    out[n++] = {base + kernel_skb::kTstamp, base + kernel_skb::kTstamp + 8, true};
    out[n++] = {base + kernel_skb::kCb, base + kernel_skb::kCb + sizeof pkt.kernel.cb, true};
    return n;
  }
  out[n++] = {base, base + sizeof(struct __sk_buff), false};
  const WritableSkbFields& fields = writable_skb_fields();
  for (int i = 0; i < fields.n; ++i) out[n++] = {base + fields.at[i].begin, base + fields.at[i].end, true};
  out[n++] = {reinterpret_cast<uint64_t>(pkt.data()), reinterpret_cast<uint64_t>(pkt.data_end()), true};
  return n;
}

void grant_packet_checked(const Packet& pkt) {
  const QdiscRun* run = current_qdisc_run();
  exec::MemRegion regions[kPacketRegions];
  const int n = packet_regions(pkt, run && run->qdisc ? run->qdisc->api() : QdiscApi::Seed, regions);
  exec::RunContext& ctx = *exec::RunContext::current();
  for (int i = 0; i < n; ++i) ctx.grant(regions[i].begin, regions[i].end - regions[i].begin, regions[i].writable);
}

bool qdisc_kptr_is_packet(uint64_t p) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return true;
  if (!run->qdisc) return false;
  const Packet* pkt = run->qdisc->pool().packet_at(reinterpret_cast<const void*>(p));
  return pkt && pkt->refcount > 0;
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
