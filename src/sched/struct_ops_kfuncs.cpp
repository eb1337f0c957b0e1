// The kfuncs of Linux 6.16's bpf qdisc (net/sched/bpf_qdisc.c) for StructOpsQdisc programs,
// and bpf_kptr_xchg for the packets and graph objects they keep. Every packet argument is
// checked to be a live packet of the qdisc's pool, every released one to be a reference the run
// holds; a bad one ends the run with a message naming the kfunc.
#include <cerrno>
#include <cstring>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "struct_ops_run.hpp"

namespace bpfq::sched {

StructOpsRun* current_struct_ops_run() {
  exec::RunContext* ctx = exec::RunContext::current();
  if (!ctx || !ctx->user()) return nullptr;
  // Every run of a StructOpsQdisc program passes a StructOpsRun; only those link these kfuncs.
  return static_cast<StructOpsRun*>(static_cast<runtime::RunEnv*>(ctx->user()));
}

namespace {

uint64_t fail(const char* detail) {
  exec::RunContext::current()->fail(detail);
  return 0;
}

Packet* live_packet(StructOpsRun& run, uint64_t arg) {
  Packet* pkt = run.qdisc->pool_packet(arg);
  return pkt && pkt->refcount > 0 ? pkt : nullptr;
}

uint64_t skb_get_hash(uint64_t skb, uint64_t, uint64_t, uint64_t, uint64_t) {
  StructOpsRun* run = current_struct_ops_run();
  if (!run) return fail("bpf_skb_get_hash: only bpf qdisc programs may call it");
  Packet* pkt = live_packet(*run, skb);
  if (!pkt) return fail("bpf_skb_get_hash: argument is not a packet");
  return pkt->get_hash();
}

// bpf_kfree_skb and bpf_qdisc_skb_drop (KF_RELEASE): the program drops a packet it holds.
uint64_t release_held(uint64_t skb, const char* not_held) {
  StructOpsRun* run = current_struct_ops_run();
  if (!run) return fail(not_held);
  Packet* pkt = live_packet(*run, skb);
  if (!pkt || !run->take(pkt)) return fail(not_held);
  run->qdisc->drop_held(pkt);
  return 0;
}

uint64_t kfree_skb(uint64_t skb, uint64_t, uint64_t, uint64_t, uint64_t) {
  return release_held(skb, "bpf_kfree_skb: not a packet reference the program holds");
}

uint64_t qdisc_skb_drop(uint64_t skb, uint64_t to_free, uint64_t, uint64_t, uint64_t) {
  if (!exec::RunContext::current()->may_access(to_free, 8, false))
    return fail("bpf_qdisc_skb_drop: to_free is not the enqueue program's to_free argument");
  return release_held(skb, "bpf_qdisc_skb_drop: not a packet reference the program holds");
}

bool is_own_qdisc(StructOpsRun& run, uint64_t sch) { return sch == reinterpret_cast<uint64_t>(&run.qdisc->view()); }

uint64_t qdisc_watchdog_schedule(uint64_t sch, uint64_t expire, uint64_t, uint64_t, uint64_t) {
  StructOpsRun* run = current_struct_ops_run();
  if (!run || !is_own_qdisc(*run, sch)) return fail("bpf_qdisc_watchdog_schedule: sch is not the program's qdisc");
  run->qdisc->watchdog_schedule(expire);
  return 0;
}

uint64_t qdisc_bstats_update(uint64_t sch, uint64_t skb, uint64_t, uint64_t, uint64_t) {
  StructOpsRun* run = current_struct_ops_run();
  if (!run || !is_own_qdisc(*run, sch)) return fail("bpf_qdisc_bstats_update: sch is not the program's qdisc");
  Packet* pkt = live_packet(*run, skb);
  if (!pkt) return fail("bpf_qdisc_bstats_update: argument is not a packet");
  run->qdisc->bstats_update(*pkt);
  return 0;
}

// Takes a packet out of a field into the run: the program now holds it (and may read it).
bool hold_taken(StructOpsRun& run, Packet* pkt) {
  if (!run.hold(pkt)) return false;
  exec::MemRegion regions[3];
  const int n = struct_ops_packet_regions(*pkt, regions);
  for (int i = 0; i < n; ++i)
    exec::RunContext::current()->grant(regions[i].begin, regions[i].end - regions[i].begin, regions[i].writable);
  return true;
}

// bpf_kptr_xchg(field, new): `new` (a packet or an object the program holds, or NULL) moves into
// the field, what the field held moves to the program. Fields of objects are the heap's (it
// knows what each holds); a map value's field holds packets, read from its bytes and checked.
uint64_t kptr_xchg(uint64_t field, uint64_t p, uint64_t, uint64_t, uint64_t) {
  exec::RunContext& rc = *exec::RunContext::current();
  StructOpsRun* run = current_struct_ops_run();
  if (!run) return fail("bpf_kptr_xchg: only bpf qdisc programs may call it");
  if (!rc.may_access(field, 8, true) || field % 8 != 0)
    return fail("bpf_kptr_xchg: kptr field outside writable program memory or misaligned");
  Packet* incoming = p ? live_packet(*run, p) : nullptr;
  if (incoming && !run->take(incoming))
    return fail("bpf_kptr_xchg: the new value is a packet the program does not hold");
  uint64_t old = 0;
  runtime::GraphHeap* heap = run->graph;
  if (heap && heap->handles_xchg(field, p)) {
    old = heap->kptr_xchg(field, p);
    if (rc.failed()) {
      if (incoming) run->hold(incoming);
      return 0;
    }
  } else {
    if (p && !incoming) return fail("bpf_kptr_xchg: the new value is neither a packet nor an object of the program");
    std::memcpy(&old, reinterpret_cast<const void*>(field), 8);
    std::memcpy(reinterpret_cast<void*>(field), &p, 8);
  }
  if (incoming) run->qdisc->note_stored(incoming);
  if (old == 0 || (heap && heap->in_arena(old))) return old;
  Packet* outgoing = live_packet(*run, old);
  if (!outgoing || outgoing->queued_in != run->qdisc) {
    std::memset(reinterpret_cast<void*>(field), 0, 8);  // a forged or stale pointer: forgotten
    return fail("bpf_kptr_xchg: the field held something that is not a packet queued here");
  }
  if (!hold_taken(*run, outgoing)) {
    Qdisc::release_reference(outgoing, DropReason::LeakedReference);
    return fail("bpf_kptr_xchg: the program holds too many packet references (64)");
  }
  return old;
}

// ---- dynptrs over packets (bpf_dynptr_from_skb): read-only views of a packet the run holds ----
// The program's 16-byte struct bpf_dynptr holds {packet, magic, size}. Every use checks that the
// run still holds the packet: a dynptr used after its packet was dropped or stored away (Linux's
// verifier invalidates it then) ends the run instead of reading a packet that is gone.
struct SkbDynptr {
  uint64_t packet;
  uint32_t magic;
  uint32_t size;
};
static_assert(sizeof(SkbDynptr) == 16, "struct bpf_dynptr");
constexpr uint32_t kDynptrMagic = 0xd7a5b0f1;
constexpr int32_t kDynptrRead = 201;   // BPF_FUNC_dynptr_read
constexpr int32_t kDynptrWrite = 202;  // BPF_FUNC_dynptr_write

uint64_t dynptr_from_skb(uint64_t skb, uint64_t flags, uint64_t ptr, uint64_t, uint64_t) {
  exec::RunContext& rc = *exec::RunContext::current();
  StructOpsRun* run = current_struct_ops_run();
  if (!run || !rc.may_access(ptr, sizeof(SkbDynptr), true))
    return fail("bpf_dynptr_from_skb: ptr is not 16 bytes of writable program memory");
  SkbDynptr d{};  // zeroed: an invalid dynptr, as Linux leaves it on error
  Packet* pkt = live_packet(*run, skb);
  if (pkt && run->holds(pkt) && flags == 0) d = {skb, kDynptrMagic, pkt->len()};
  std::memcpy(reinterpret_cast<void*>(ptr), &d, sizeof d);
  if (!pkt || !run->holds(pkt)) return fail("bpf_dynptr_from_skb: skb is not a packet the program holds");
  return flags == 0 ? 0 : static_cast<uint64_t>(-EINVAL);
}

// The packet behind a dynptr, or null with the run failed (`what` names the function).
Packet* dynptr_packet(uint64_t ptr, const char* not_dynptr, const char* released) {
  exec::RunContext& rc = *exec::RunContext::current();
  StructOpsRun* run = current_struct_ops_run();
  SkbDynptr d{};
  if (run && rc.may_access(ptr, sizeof d, false)) std::memcpy(&d, reinterpret_cast<const void*>(ptr), sizeof d);
  if (!run || d.magic != kDynptrMagic) {
    fail(not_dynptr);
    return nullptr;
  }
  Packet* pkt = live_packet(*run, d.packet);
  if (!pkt || !run->holds(pkt)) {
    fail(released);
    return nullptr;
  }
  return pkt;
}

uint64_t dynptr_read(uint64_t dst, uint64_t len_arg, uint64_t src, uint64_t offset_arg, uint64_t flags) {
  Packet* pkt = dynptr_packet(src, "bpf_dynptr_read: src is not a dynptr of bpf_dynptr_from_skb",
                              "bpf_dynptr_read: the dynptr's packet was dropped or stored away (a dynptr used "
                              "after its packet was released)");
  if (!pkt) return 0;
  const auto len = static_cast<uint32_t>(len_arg), offset = static_cast<uint32_t>(offset_arg);
  if (!exec::RunContext::current()->may_access(dst, len, true))
    return fail("bpf_dynptr_read: dst outside writable program memory");
  if (flags != 0) return static_cast<uint64_t>(-EINVAL);
  if (offset > pkt->len() || len > pkt->len() - offset) return static_cast<uint64_t>(-E2BIG);
  std::memmove(reinterpret_cast<void*>(dst), pkt->data() + offset, len);
  return 0;
}

// A qdisc's packets are read-only to its programs.
uint64_t dynptr_write(uint64_t dst, uint64_t, uint64_t, uint64_t, uint64_t) {
  if (!dynptr_packet(dst, "bpf_dynptr_write: dst is not a dynptr of bpf_dynptr_from_skb",
                     "bpf_dynptr_write: the dynptr's packet was dropped or stored away"))
    return 0;
  return static_cast<uint64_t>(-EINVAL);
}

// bpf_dynptr_slice(p, offset, buffer, size): a read-only pointer to `size` bytes of the packet
// at offset, or NULL when they are not all in it.
uint64_t dynptr_slice(uint64_t ptr, uint64_t offset_arg, uint64_t, uint64_t size_arg, uint64_t) {
  Packet* pkt = dynptr_packet(ptr, "bpf_dynptr_slice: not a dynptr of bpf_dynptr_from_skb",
                              "bpf_dynptr_slice: the dynptr's packet was dropped or stored away (a dynptr used "
                              "after its packet was released)");
  if (!pkt) return 0;
  const auto offset = static_cast<uint32_t>(offset_arg), size = static_cast<uint32_t>(size_arg);
  if (offset > pkt->len() || size > pkt->len() - offset) return 0;
  const auto at = reinterpret_cast<uint64_t>(pkt->data() + offset);
  exec::RunContext::current()->grant(at, size, false);
  return at;
}

// A failed CO-RE relocation that a run reached (the loader poisons such instructions into a
// call of this id, as libbpf does; harmless in code that never runs).
uint64_t core_relocation_failed(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return fail("reached an instruction whose CO-RE relocation failed: bpfq's kernel lacks that field or type "
              "(bpfq btf dump lists what it has)");
}

}  // namespace

// The embedder's side of packets in object kptr fields: packets of the running qdisc's pool.
bool struct_ops_is_packet(uint64_t p) {
  StructOpsRun* run = current_struct_ops_run();
  return run && live_packet(*run, p);
}
void struct_ops_release_packet(void* p) { Qdisc::release_reference(static_cast<Packet*>(p), DropReason::ReleasedByMap); }

const exec::HelperRegistry& struct_ops_helpers() {
  static const exec::HelperRegistry registry = [] {
    exec::HelperRegistry r = runtime::standard_helpers();
    runtime::add_graph_kfuncs(r);
    r.add_helper(runtime::helper_id::kKptrXchg, "bpf_kptr_xchg", kptr_xchg);
    r.add_kfunc("bpf_skb_get_hash", skb_get_hash);
    r.add_kfunc("bpf_kfree_skb", kfree_skb);
    r.add_kfunc("bpf_qdisc_skb_drop", qdisc_skb_drop);
    r.add_kfunc("bpf_qdisc_watchdog_schedule", qdisc_watchdog_schedule);
    r.add_kfunc("bpf_qdisc_bstats_update", qdisc_bstats_update);
    r.add_helper(loader::kCorePoisonHelper, "bpf_core_relocation_failed", core_relocation_failed);
    r.add_kfunc("bpf_dynptr_from_skb", dynptr_from_skb);
    r.add_kfunc("bpf_dynptr_slice", dynptr_slice);
    r.add_helper(kDynptrRead, "bpf_dynptr_read", dynptr_read);
    r.add_helper(kDynptrWrite, "bpf_dynptr_write", dynptr_write);
    return r;
  }();
  return registry;
}

}  // namespace bpfq::sched
