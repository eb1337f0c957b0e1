// The kfuncs of qdisc programs (seed RFC v6 and its earlier skb-map API; RFC v7's
// bpf_qdisc_set_skb_dequeue and kfunc bpf_skb_tc_classify), bpf_kptr_xchg with reference
// tracking (packets in map values, and in graph objects), bpf_skb_tc_classify, and
// bpf_skb_load_bytes for qdisc and tc programs.
// Every packet argument is checked to be a live packet of the qdisc's pool; a bad one ends the
// run with a message naming the kfunc.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include <bpfq/bpf/map_types.h>
#include <bpfq/exec/program.hpp>
#include <bpfq/maps/pifo_map.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/packet_pool.hpp>

#include "qdisc_run.hpp"

namespace bpfq::sched {

namespace {

constexpr int32_t kFuncSkbTcClassify = 1000;  // BPFQ_FUNC_skb_tc_classify in sch_bpf.h
constexpr int32_t kFuncSkbEcnSetCe = 97;      // BPF_FUNC_skb_ecn_set_ce in linux/bpf.h
static_assert(QdiscRun::kMaxHeld == 32, "the kfuncs' messages say 32");

exec::RunContext& rc() { return *exec::RunContext::current(); }

uint64_t fail(const char* detail) {
  rc().fail(detail);
  return 0;
}

// A live packet of the run's pool at address `arg`, or null.
Packet* packet_arg(QdiscRun& run, uint64_t arg) {
  Packet* pkt = run.qdisc->pool().packet_at(reinterpret_cast<const void*>(arg));
  return pkt && pkt->refcount > 0 ? pkt : nullptr;
}

// Records a reference the program now holds and lets it read the packet.
bool hold(QdiscRun& run, Packet* pkt) {
  if (!run.hold(pkt)) return false;
  grant_packet(*pkt);
  return true;
}

// Takes a new reference for the program; `too_many` is the kfunc's message when it already
// holds QdiscRun::kMaxHeld.
uint64_t acquire_for(QdiscRun& run, Packet* pkt, const char* too_many) {
  PacketPool::acquire(pkt);
  if (!hold(run, pkt)) {
    PacketPool::release(pkt);
    return fail(too_many);
  }
  return reinterpret_cast<uint64_t>(pkt);
}

uint64_t skb_acquire(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_acquire: only qdisc programs may call it");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_acquire: argument is not a packet");
  return acquire_for(*run, pkt, "bpf_skb_acquire: the program holds too many packet references (32)");
}

uint64_t skb_kptr_get(uint64_t pp, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_kptr_get: only qdisc programs may call it");
  if (!rc().may_access(pp, 8, false)) return fail("bpf_skb_kptr_get: field outside program memory");
  uint64_t p;
  std::memcpy(&p, reinterpret_cast<const void*>(pp), 8);
  if (p == 0) return 0;
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_kptr_get: the field does not hold a packet");
  return acquire_for(*run, pkt, "bpf_skb_kptr_get: the program holds too many packet references (32)");
}

uint64_t skb_release(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_release: only qdisc programs may call it");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt || !run->take(pkt)) return fail("bpf_skb_release: not a packet reference the program holds");
  BpfQdisc::release_reference(pkt, DropReason::ReleasedByProgram);
  return 0;
}

uint64_t skb_get_hash(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_get_hash: only qdisc programs may call it");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_get_hash: argument is not a packet");
  return pkt->get_hash();
}

// bpf_kptr_xchg through the graph heap (a field of an object, or an object moving through a map
// value): the heap keeps what each object's field holds, the run which packets the program holds.
uint64_t graph_kptr_xchg(QdiscRun& run, runtime::GraphHeap& heap, uint64_t field, uint64_t p) {
  Packet* incoming = p ? packet_arg(run, p) : nullptr;
  if (incoming && !run.take(incoming))
    return fail("bpf_kptr_xchg: the new value is a packet the program does not hold");
  const uint64_t old = heap.kptr_xchg(field, p);
  if (rc().failed()) {
    if (incoming) run.hold(incoming);
    return 0;
  }
  if (old == 0 || heap.in_arena(old)) return old;
  Packet* outgoing = packet_arg(run, old);
  if (!outgoing) return fail("bpf_kptr_xchg: the field held something that is not a packet");
  if (!hold(run, outgoing)) {
    BpfQdisc::release_reference(outgoing, DropReason::LeakedReference);
    return fail("bpf_kptr_xchg: the program holds too many packet references (32)");
  }
  return old;
}

// bpf_kptr_xchg(field, new): the reference in `new` (held by the program, or NULL) moves into
// the field; the one the field held moves to the program.
uint64_t kptr_xchg(uint64_t field, uint64_t p, uint64_t, uint64_t, uint64_t) {
  if (!rc().may_access(field, 8, true)) return fail("bpf_kptr_xchg: field outside writable program memory");
  QdiscRun* run = current_qdisc_run();
  if (!run) {  // not a qdisc run: a plain exchange, as the standard helper does
    uint64_t old;
    std::memcpy(&old, reinterpret_cast<void*>(field), 8);
    std::memcpy(reinterpret_cast<void*>(field), &p, 8);
    return old;
  }
  if (run->graph && run->graph->handles_xchg(field, p)) return graph_kptr_xchg(*run, *run->graph, field, p);
  Packet* incoming = nullptr;
  if (p != 0) {
    incoming = packet_arg(*run, p);
    if (!incoming || !run->take(incoming))
      return fail("bpf_kptr_xchg: the new value is not a packet reference the program holds");
  }
  uint64_t old;
  std::memcpy(&old, reinterpret_cast<void*>(field), 8);
  Packet* outgoing = nullptr;
  if (old != 0) {
    outgoing = packet_arg(*run, old);
    if (!outgoing || !hold(*run, outgoing)) {
      if (incoming) run->hold(incoming);  // undo: the program still holds it
      return fail(outgoing ? "bpf_kptr_xchg: the program holds too many packet references (32)"
                           : "bpf_kptr_xchg: the field does not hold a packet");
    }
  }
  std::memcpy(reinterpret_cast<void*>(field), &p, 8);
  return old;
}

maps::PifoMap* skb_queue_arg(uint64_t map) {
  maps::Map* m = runtime::program_map(map);
  if (!m || m->type() != maps::MapType::Pifo || m->spec().value_size != 8) return nullptr;
  return static_cast<maps::PifoMap*>(m);
}

uint64_t skb_queue_push(uint64_t map, uint64_t p, uint64_t rank, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_queue_push: only qdisc programs may call it");
  maps::PifoMap* queue = skb_queue_arg(map);
  if (!queue) return fail("bpf_skb_queue_push: map is not a packet queue (BPFQ_SKB_QUEUE)");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_queue_push: argument is not a packet");
  run->qdisc->note_skb_queue(queue);
  PacketPool::acquire(pkt);  // the queue's own reference
  const int rc_push = queue->push(&p, rank);
  if (rc_push != 0) PacketPool::release(pkt);
  return static_cast<uint64_t>(static_cast<int64_t>(rc_push));
}

uint64_t skb_queue_pop(uint64_t map, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_queue_pop: only qdisc programs may call it");
  maps::PifoMap* queue = skb_queue_arg(map);
  if (!queue) return fail("bpf_skb_queue_pop: map is not a packet queue (BPFQ_SKB_QUEUE)");
  uint64_t p = 0;
  if (queue->pop(&p) != 0) return 0;
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_queue_pop: the queue held something that is not a packet");
  if (!hold(*run, pkt)) {
    BpfQdisc::release_reference(pkt, DropReason::LeakedReference);
    return fail("bpf_skb_queue_pop: the program holds too many packet references (32)");
  }
  return p;
}

uint64_t skb_queue_len(uint64_t map, uint64_t, uint64_t, uint64_t, uint64_t) {
  maps::PifoMap* queue = skb_queue_arg(map);
  if (!queue) return fail("bpf_skb_queue_len: map is not a packet queue (BPFQ_SKB_QUEUE)");
  return queue->size();
}

uint64_t skb_tc_classify(uint64_t p, uint64_t ifindex, uint64_t handle, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_tc_classify: only qdisc programs may call it");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_tc_classify: argument is not a packet");
  return run->qdisc->classify(*pkt, static_cast<int>(ifindex), static_cast<uint32_t>(handle));
}

// RFC v7's kfunc of the same name: classid << 32 | the tc action, TC_ACT_OK for a match and
// TC_ACT_UNSPEC (-1) with class 0 when no filter matched.
uint64_t skb_tc_classify_kfunc(uint64_t p, uint64_t ifindex, uint64_t handle, uint64_t, uint64_t) {
  const auto classid = static_cast<uint32_t>(skb_tc_classify(p, ifindex, handle, 0, 0));
  constexpr uint32_t kTcActOk = 0, kTcActUnspec = UINT32_MAX;
  return uint64_t{classid} << 32 | (classid != 0 ? kTcActOk : kTcActUnspec);
}

// bpf_qdisc_set_skb_dequeue(skb) (RFC v7, KF_RELEASE): the dequeue program hands out a packet
// it holds; with SCH_BPF_DEQUEUED it is the packet sent.
uint64_t qdisc_set_skb_dequeue(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run || !run->qdisc) return fail("bpf_qdisc_set_skb_dequeue: only qdisc programs may call it");
  if (!run->dequeue_run) return fail("bpf_qdisc_set_skb_dequeue: only qdisc/dequeue may hand a packet out");
  if (run->dequeued) return fail("bpf_qdisc_set_skb_dequeue: this dequeue already handed a packet out");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt || !run->take(pkt)) return fail("bpf_qdisc_set_skb_dequeue: not a packet reference the program holds");
  run->dequeued = pkt;
  return 0;
}

// bpf_qdisc_class_qlen(classid): packets queued in the child qdisc of one of this qdisc's
// classes, 0 without such a class. What a classful program needs to pick a non-empty child at
// dequeue, as Linux's prio asks each band's child.
uint64_t qdisc_class_qlen(uint64_t classid, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run || !run->qdisc) return fail("bpf_qdisc_class_qlen: only qdisc programs may call it");
  const Qdisc* child = run->qdisc->class_child(Handle(static_cast<uint32_t>(classid)));
  return child ? child->qlen() : 0;
}

// bpf_skb_ecn_set_ce(skb): marks CE in an ECN-capable IPv4/IPv6 packet (fixing the IPv4
// checksum); 1 if the packet now carries CE, 0 if it is not ECN-capable (the AQM drops instead).
uint64_t skb_ecn_set_ce(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  QdiscRun* run = current_qdisc_run();
  if (!run) return fail("bpf_skb_ecn_set_ce: only qdisc programs may call it");
  Packet* pkt = packet_arg(*run, p);
  if (!pkt) return fail("bpf_skb_ecn_set_ce: argument is not a packet");
  return ecn_set_ce(*pkt) ? 1 : 0;
}

// bpf_skb_load_bytes(skb, offset, to, len), as Linux: copies len bytes of the frame from offset
// (0: the Ethernet header) into `to`; 0, or -EFAULT with `to` zeroed when the bytes are not all
// in the packet. len 0, which the kernel's verifier refuses at load, is -EINVAL. It reads only
// the __sk_buff (data, len), so it serves tc programs without a qdisc as well; checked mode
// requires the skb and the bytes to be program memory, which a packet's regions are.
uint64_t skb_load_bytes(uint64_t skb, uint64_t offset_arg, uint64_t to, uint64_t len_arg, uint64_t) {
  const auto offset = static_cast<uint32_t>(offset_arg);  // u32 arguments, as BPF_CALL_4 casts them
  const auto len = static_cast<uint32_t>(len_arg);
  exec::RunContext& c = rc();
  if (!c.may_access(skb, sizeof(struct __sk_buff), false)) return fail("bpf_skb_load_bytes: skb is not a packet");
  if (len == 0) return static_cast<uint64_t>(-EINVAL);
  if (!c.may_access(to, len, true)) return fail("bpf_skb_load_bytes: buffer outside writable program memory");
  const auto* view = reinterpret_cast<const struct __sk_buff*>(skb);
  if (offset > INT32_MAX || len > view->len || offset > view->len - len) {
    std::memset(reinterpret_cast<void*>(to), 0, len);
    return static_cast<uint64_t>(-EFAULT);
  }
  const uint64_t from = static_cast<uint64_t>(view->data) + offset;
  if (!c.may_access(from, len, false)) return fail("bpf_skb_load_bytes: the skb's data is not a packet's frame");
  std::memmove(reinterpret_cast<void*>(to), reinterpret_cast<const void*>(from), len);
  return 0;
}

}  // namespace

const exec::HelperRegistry& tc_helpers() {
  static const exec::HelperRegistry registry = [] {
    exec::HelperRegistry r = runtime::standard_helpers();
    r.add_helper(runtime::helper_id::kSkbLoadBytes, "bpf_skb_load_bytes", skb_load_bytes);
    return r;
  }();
  return registry;
}

const exec::HelperRegistry& qdisc_helpers() {
  static const exec::HelperRegistry registry = [] {
    exec::HelperRegistry r = tc_helpers();
    runtime::add_graph_kfuncs(r);  // RFC v7's queues are graph objects
    r.add_helper(runtime::helper_id::kKptrXchg, "bpf_kptr_xchg", kptr_xchg);
    r.add_helper(kFuncSkbTcClassify, "bpf_skb_tc_classify", skb_tc_classify);
    r.add_helper(kFuncSkbEcnSetCe, "bpf_skb_ecn_set_ce", skb_ecn_set_ce);
    r.add_kfunc("bpf_skb_acquire", skb_acquire);
    r.add_kfunc("bpf_skb_kptr_get", skb_kptr_get);
    r.add_kfunc("bpf_skb_release", skb_release);
    r.add_kfunc("bpf_kfree_skb", skb_release);  // Linux 6.16's name
    r.add_kfunc("bpf_skb_get_hash", skb_get_hash);
    r.add_kfunc("bpf_skb_queue_push", skb_queue_push);
    r.add_kfunc("bpf_skb_queue_pop", skb_queue_pop);
    r.add_kfunc("bpf_skb_queue_len", skb_queue_len);
    r.add_kfunc("bpf_qdisc_class_qlen", qdisc_class_qlen);
    r.add_kfunc("bpf_qdisc_set_skb_dequeue", qdisc_set_skb_dequeue);
    r.add_kfunc("bpf_skb_tc_classify", skb_tc_classify_kfunc);
    return r;
  }();
  return registry;
}

}  // namespace bpfq::sched
