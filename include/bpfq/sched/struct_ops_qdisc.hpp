#pragma once
// StructOpsQdisc: Linux 6.16's bpf qdisc. An object's SEC(".struct_ops") `struct Qdisc_ops`
// names five eBPF programs (enqueue, dequeue, init, reset, destroy) that run with Linux's
// arguments (BPF_PROG: a u64 array in r1) against bpfq's kernel types (kernel_view.hpp): the
// enqueue program owns the packet it is given and must store it (bpf_kptr_xchg into an object
// or a map value) or drop it; dequeue returns one packet or NULL; the program keeps sch->q.qlen
// and sch->qstats itself. docs/struct_ops.md.
//
// Such programs are not verified (bpfq's verifier knows the seed's program types only): they run
// checked, every access bounds-checked against the memory they were given, and what Linux's
// verifier would refuse that bpfq can see statically is refused at open (a missing op, an op
// bpfq does not support, a write to a read-only kernel field, a kfunc the op may not call).
//
// Accounting is bpfq's own, whatever the program writes into sch->qstats: a packet counts as
// queued here from the moment a field holds it until dequeue returns it (sent) or its last
// reference is dropped (a drop); references a run leaves behind, and objects it loses, are
// released by the runtime and counted as leaks.
#include <cstdint>
#include <memory>
#include <string>

#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/kernel_view.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::runtime {
class GraphHeap;
}

namespace bpfq::sched {

struct StructOpsRun;

// What the programs of a struct_ops qdisc may call: the standard helpers and bpf_jiffies64,
// the graph-object kfuncs and Linux's qdisc kfuncs (bpf_qdisc_skb_drop, bpf_kfree_skb,
// bpf_qdisc_watchdog_schedule, bpf_qdisc_bstats_update, bpf_skb_get_hash).
const exec::HelperRegistry& struct_ops_helpers();

// Whether the object at `spec` holds a struct Qdisc_ops (and so opens as a StructOpsQdisc).
bool has_qdisc_ops(const loader::ObjectSpec& spec);

// Options for opening an object of Linux's struct_ops API: bpfq's kernel BTF for CO-RE,
// CONFIG_HZ for __kconfig, the struct_ops helpers. `where` names it in errors.
runtime::ObjectOptions struct_ops_object_options(const BpfQdiscEnv& env);

struct StructOpsCounters {
  uint64_t runs = 0;            // program runs
  uint64_t faults = 0;          // runs ended by a checked-mode fault or a kfunc refusing
  uint64_t leaked_refs = 0;     // packet references a run kept, released by the runtime
  uint64_t leaked_objects = 0;  // graph objects a run lost, freed by the runtime
  uint64_t bad_dequeues = 0;    // dequeue returned something that is not a packet queued here
  uint64_t reset_leftovers = 0; // packets the reset program left queued, freed by bpfq
  std::string last_fault;       // "enqueue: out-of-bounds store … at fifo.bpf.c:42"
};

class StructOpsQdisc final : public Qdisc {
 public:
  // Opens the object (bpfq::Error naming the file if it cannot be loaded, holds no Qdisc_ops or
  // an unsupported one); call init() before the first packet.
  static std::unique_ptr<StructOpsQdisc> open(const std::string& path, Handle handle, const BpfQdiscEnv& env,
                                              const DeviceParams& device = {});
  StructOpsQdisc(runtime::Object object, Handle handle, const BpfQdiscEnv& env, const DeviceParams& device = {});
  ~StructOpsQdisc() override;

  // Linux's init prologue, then the init program; bpfq::Error if it faults or returns non-zero.
  void init();

  const std::string& id() const { return id_; }  // Qdisc_ops.id: "bpf_fifo"
  const std::string& path() const { return path_; }
  runtime::Object& object() { return object_; }
  const StructOpsCounters& counters() const { return counters_; }
  // struct Qdisc as the programs see it (limit, q.qlen, qstats are theirs to write).
  const KernelQdisc& view() const { return view_; }
  runtime::GraphHeap* graph() const;

  // Kfuncs: the live packet of the qdisc's pool at address p, or null.
  Packet* pool_packet(uint64_t p) const { return env_.pool->packet_at(reinterpret_cast<const void*>(p)); }
  // The program drops a packet it holds (bpf_qdisc_skb_drop, bpf_kfree_skb).
  void drop_held(Packet* pkt);
  // A packet reference moved into a field (kptr): it counts as queued here from now on.
  void note_stored(Packet* pkt);
  // bpf_qdisc_watchdog_schedule(sch, expire, delta_ns): absolute time on the qdisc's clock.
  void watchdog_schedule(uint64_t expire_ns);
  // bpf_qdisc_bstats_update: the program's own byte and packet counters (Linux's bstats).
  void bstats_update(const Packet& pkt);
  uint64_t program_packets() const { return bstats_packets_; }
  uint64_t program_bytes() const { return bstats_bytes_; }

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
  DequeueResult do_dequeue(uint64_t now_ns) override;
  void do_reset() override;

 private:
  struct Op {
    explicit Op(const char* op) : name(op) {}
    const char* name;                    // "enqueue"
    const exec::Program* prog = nullptr;
    std::string function;                // the program's entry function
  };
  // Runs an op with args in the u64 ctx array; false (fault recorded) if it faulted. r0 out.
  bool run(const Op& op, uint64_t* args, size_t nargs, Packet* pkt, StructOpsRun& run, uint64_t& r0);
  bool run_control(const Op& op, uint64_t& r0);
  void finish_run(StructOpsRun& run);
  runtime::RunEnv run_env();
  // Frees what the programs still hold (graph objects, map values, globals' roots): every packet
  // left is a drop of `reason`.
  void free_program_state();
  void release_global_locks();

  runtime::Object object_;
  std::string path_;
  std::string id_;
  BpfQdiscEnv env_;
  runtime::Prng prng_;
  Op enqueue_{"enqueue"}, dequeue_{"dequeue"}, init_{"init"}, reset_{"reset"}, destroy_{"destroy"};
  KernelQdisc view_{};
  KernelNetdevQueue dev_queue_{};
  KernelNetDevice device_{};
  uint64_t to_free_ = 0;  // struct bpf_sk_buff_ptr: drops are immediate, so always NULL
  StructOpsCounters counters_;
  uint64_t watchdog_ns_ = 0;
  bool watchdog_armed_in_run_ = false;
  uint64_t bstats_bytes_ = 0, bstats_packets_ = 0;
};

}  // namespace bpfq::sched
