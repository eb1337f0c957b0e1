#pragma once
// The per-run state of a StructOpsQdisc program: the runtime's environment, the qdisc, and the
// packet references the run holds (the enqueue skb, packets taken out of fields), which the
// struct_ops kfuncs maintain.
#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/run_env.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>

namespace bpfq::sched {

struct StructOpsRun : runtime::RunEnv {
  static constexpr int kMaxHeld = 64;  // packet references one run may hold at once

  StructOpsRun(const runtime::RunEnv& env, StructOpsQdisc* owner) : runtime::RunEnv(env), qdisc(owner) {}

  StructOpsQdisc* qdisc;
  Packet* held[kMaxHeld];
  int n_held = 0;

  bool hold(Packet* pkt) {
    if (n_held == kMaxHeld) return false;
    held[n_held++] = pkt;
    return true;
  }
  bool holds(const Packet* pkt) const {
    for (int i = 0; i < n_held; ++i)
      if (held[i] == pkt) return true;
    return false;
  }
  // Removes one occurrence of pkt; false if the run does not hold it.
  bool take(Packet* pkt) {
    for (int i = n_held - 1; i >= 0; --i) {
      if (held[i] == pkt) {
        held[i] = held[--n_held];
        return true;
      }
    }
    return false;
  }
};

// The run in progress on this thread (only struct_ops qdisc runs call these kfuncs).
StructOpsRun* current_struct_ops_run();

// PacketKptrs of the programs' graph heap: packets of the running qdisc, released as drops.
bool struct_ops_is_packet(uint64_t p);
void struct_ops_release_packet(void* p);

// The memory of a packet a struct_ops program may touch: its struct sk_buff (read-only), of
// which tstamp and the qdisc_skb_cb data are writable. Returns the regions written (at most 3).
int struct_ops_packet_regions(const Packet& pkt, exec::MemRegion* out);

}  // namespace bpfq::sched
