#pragma once
// The per-run state of a BpfQdisc program: the runtime's environment plus the packet
// references the program holds, which the qdisc kfuncs maintain.
#include <cstdint>
#include <span>
#include <string>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/run_env.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>

namespace bpfq::sched {

// The qdisc programs' context. The seed's struct sch_bpf_ctx { struct __sk_buff *skb;
// __u32 classid; __u64 delay; } is its first 24 bytes; RFC v7's struct bpf_qdisc_ctx
// { struct sk_buff *skb; __u32 classid; __u64 expire; __u64 delta_ns; } all 32, with the
// absolute `expire` where the seed has the relative `delay`.
struct QdiscCtx {
  uint64_t skb = 0;
  uint32_t classid = 0;
  uint32_t pad = 0;
  union {
    uint64_t delay = 0;  // the seed
    uint64_t expire;     // RFC v7
  };
  uint64_t delta_ns = 0;  // RFC v7
};
inline constexpr size_t kSeedCtxSize = 24;
inline constexpr size_t kRfcV7CtxSize = 32;
static_assert(sizeof(QdiscCtx) == kRfcV7CtxSize);

struct QdiscRun : runtime::RunEnv {
  static constexpr int kMaxHeld = 32;  // references one run may hold at once

  // owner: the qdisc whose packets the program may hold (null for a tc program of no qdisc).
  // tracks: keep the list of references the program holds. A verified program's run need not
  // (the verifier proved it ends holding none, and a fault is reconciled against the maps:
  // BpfQdisc::release_leaks), which lets its bpf_kptr_xchg be two moves.
  // Inline: built on every run, straight from the qdisc's fields.
  QdiscRun(const runtime::RunEnv& env, BpfQdisc* owner, bool tracks = true)
      : runtime::RunEnv(env), qdisc(owner), tracks(tracks) {}

  BpfQdisc* qdisc = nullptr;
  bool tracks = true;
  Packet* held[kMaxHeld];
  int n_held = 0;
  // RFC v7's qdisc/dequeue: it may hand a packet out (bpf_qdisc_set_skb_dequeue), and did.
  bool dequeue_run = false;
  Packet* dequeued = nullptr;

  bool hold(Packet* pkt) {
    if (!tracks) return true;
    if (n_held == kMaxHeld) return false;
    held[n_held++] = pkt;
    return true;
  }
  // Removes one occurrence of pkt; false if the program does not hold it (always true untracked).
  bool take(Packet* pkt) {
    if (!tracks) return true;
    for (int i = n_held - 1; i >= 0; --i) {
      if (held[i] == pkt) {
        held[i] = held[--n_held];
        return true;
      }
    }
    return false;
  }
};

// The run in progress on this thread, or null outside a BpfQdisc run. Inline: every kfunc asks.
inline QdiscRun* current_qdisc_run() {
  exec::RunContext* ctx = exec::RunContext::current();
  if (!ctx || !ctx->user()) return nullptr;
  // Every run of a BpfQdisc program passes a QdiscRun; other embedders never register these
  // kfuncs, so a RunEnv here is always a QdiscRun.
  return static_cast<QdiscRun*>(static_cast<runtime::RunEnv*>(ctx->user()));
}

// Checked mode: the memory of a packet a program may touch. The seed's programs: its __sk_buff
// is readable, the fields the program types' table (verifier::sk_buff_layout) marks writable
// are writable, and the frame bytes are writable. RFC v7's: its struct sk_buff is readable, its
// tstamp and cb writable. Returns the number of regions written to out (at most
// kPacketRegions).
inline constexpr int kPacketRegions = 12;
int packet_regions(const Packet& pkt, QdiscApi api, exec::MemRegion* out);
// Grants those regions to the run in progress (a packet the program just acquired); unchecked
// runs need none.
void grant_packet_checked(const Packet& pkt);
inline void grant_packet(const Packet& pkt) {
  if (exec::RunContext::current()->checked()) grant_packet_checked(pkt);
}

// PacketKptrs::is_packet of a BpfQdisc's graph heap: in a run, a live packet of the running
// qdisc's pool (what bpf_kptr_xchg may store in an object); outside one (a map or the heap
// releasing a field), any value that is no object, since only such packets got into fields.
bool qdisc_kptr_is_packet(uint64_t p);

// "qdisc/enqueue: out-of-bounds load of 8 bytes at 0x… (insn 12) at prog.bpf.c:42"
std::string describe_fault(const runtime::Object& object, const std::string& section, const exec::RunResult& r);


}  // namespace bpfq::sched
