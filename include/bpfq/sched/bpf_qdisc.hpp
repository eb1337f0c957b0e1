#pragma once
// BpfQdisc: the seed's sch_bpf. Enqueue and dequeue are eBPF programs (sections qdisc/enqueue,
// qdisc/dequeue, optional qdisc/init and qdisc/reset) that keep packets as references in maps;
// verdicts and references behave as docs/program-model.md describes. Programs of RFC v7 (whose
// context is a struct bpf_qdisc_ctx) run here too, with v7's context, THROTTLE at an absolute
// time, packets handed out by bpf_qdisc_set_skb_dequeue and kept in graph objects
// (docs/rfc_v7.md).
//
// Accounting: a packet the enqueue program keeps (QUEUED/THROTTLE) counts as queued here until
// the dequeue program hands it back (sent) or its last reference is released by a program or a
// map (dropped). References a program loses are released by the runtime and counted as leaks, so
// enqueued == sent + dropped + queued holds after every operation.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/prng.hpp>
#include <bpfq/runtime/run_env.hpp>
#include <bpfq/runtime/trace.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched {

struct QdiscCtx;
struct QdiscRun;

// Which sch_bpf API an object's programs are written for (verifier::program_type_for_section).
enum class QdiscApi : uint8_t { Seed, RfcV7 };

// What the qdisc's programs run against. Everything must outlive the qdisc.
struct BpfQdiscEnv {
  PacketPool* pool = nullptr;            // the packets this qdisc sees (validates program pointers)
  const runtime::Clock* clock = nullptr;  // bpf_ktime_get_ns; null: monotonic
  runtime::Prng* prng = nullptr;          // bpf_get_prandom_u32; null: the qdisc's own, seeded with prng_seed
  runtime::TraceSink* trace = nullptr;    // bpf_trace_printk; null: stderr
  runtime::PinnedMaps* pins = nullptr;    // maps shared by name (LIBBPF_PIN_BY_NAME); null: none
  uint64_t prng_seed = 0;                 // runtime::derive_seed(run seed, place in the tree)
  // What opening the object does with the verifier (runtime::Verification).
  runtime::Verification verification = runtime::Verification::Enforce;
};

// One program's runs, as the kernel's bpf_prog_info run_cnt/run_time_ns (run_ns is measured
// only while BpfQdisc::set_run_timing(true), as the kernel does only with bpf_stats_enabled).
struct ProgramRunStats {
  uint64_t runs = 0;
  uint64_t run_ns = 0;
};

// Program misbehaviour the engine caught (none of it loses a packet uncounted).
struct BpfQdiscCounters {
  uint64_t runs = 0;            // program runs (enqueue, dequeue, init, reset)
  ProgramRunStats enqueue, dequeue, init, reset;  // the same runs per program
  uint64_t faults = 0;          // runs ended by a checked-mode fault or a helper refusing
  uint64_t leaked_refs = 0;     // references a program held at exit, released by the runtime
  uint64_t leaked_objects = 0;  // graph objects a run lost, freed by the runtime (RFC v7)
  uint64_t bad_dequeues = 0;    // dequeue handed out a packet not queued here (ignored)
  std::string last_fault;       // "qdisc/dequeue: out-of-bounds load of 8 bytes … (pfifo.bpf.c:42)"
};

// What qdisc programs may call: the standard helpers plus the qdisc kfuncs
// (docs/program-model.md). Objects opened against it link exactly as BpfQdisc links them.
const exec::HelperRegistry& qdisc_helpers();
// How BpfQdisc opens its object: the qdisc helpers, packet references released as drops.
runtime::ObjectOptions bpf_qdisc_object_options(const BpfQdiscEnv& env);

class BpfQdisc final : public Qdisc {
 public:
  // Opens the object with the qdisc kfuncs; throws bpfq::Error (naming the file) if it cannot be
  // loaded or lacks qdisc/enqueue or qdisc/dequeue. Set parameters (object().set_global) and then
  // call init() before the first packet.
  static std::unique_ptr<BpfQdisc> open(const std::string& path, Handle handle, const BpfQdiscEnv& env);
  BpfQdisc(runtime::Object object, Handle handle, const BpfQdiscEnv& env);
  ~BpfQdisc() override;

  runtime::Object& object() { return object_; }
  const std::string& path() const { return path_; }
  QdiscApi api() const { return api_; }

  // Runs qdisc/init if the object has one; throws bpfq::Error if it faults or returns non-zero.
  void init();

  void attach_watchdog(Watchdog* watchdog) override;

  // Classes: PASS with ctx->classid hands packets to the class's child qdisc.
  void add_class(Handle classid, std::unique_ptr<Qdisc> child);
  Qdisc* class_child(Handle classid) const;
  std::vector<Handle> classes() const;

  // bpf_skb_tc_classify(skb, ifindex, handle): set by whoever owns devices and filters.
  using Classifier = std::function<uint32_t(Packet& pkt, int ifindex, uint32_t handle)>;
  void set_classifier(Classifier classifier) { classifier_ = std::move(classifier); }
  uint32_t classify(Packet& pkt, int ifindex, uint32_t handle) const {
    return classifier_ ? classifier_(pkt, ifindex, handle) : 0;
  }

  const BpfQdiscCounters& counters() const { return counters_; }
  // Measures each program run's wall time into counters() (two clock reads per run).
  void set_run_timing(bool on) { run_timing_ = on; }
  // The time the last THROTTLE asked to be woken at (0: none pending; RFC v7: its `expire`, the
  // start of the range it allows); the request itself goes to the attached Watchdog.
  uint64_t watchdog_ns() const { return watchdog_ns_; }
  PacketPool& pool() const { return *env_.pool; }

  // A BPFQ_SKB_QUEUE map the program pushed packets into: drained on reset and destruction.
  void note_skb_queue(maps::Map* queue) {  // inline: every push asks, nearly always of the last one
    if (queue != last_skb_queue_) note_new_skb_queue(queue);
  }

  // Releases the references a run of one of this qdisc's programs still holds at exit (also
  // the qdisc's tc programs, TcProgram::of_qdisc), counting each as a leak. A run that tracked
  // none holds none unless it `faulted`: then what the maps do not account for is released.
  // in_hand: the packet the qdisc holds a reference to for the run (enqueue's), if any.
  void release_leaks(QdiscRun& run, bool faulted = false, const Packet* in_hand = nullptr);


 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
  DequeueResult do_dequeue(uint64_t now_ns) override;
  void do_reset() override;

 private:
  struct Class {
    Handle id;
    std::unique_ptr<Qdisc> child;
    QdiscStats seen;  // the child's stats when last folded into ours
  };

  // Runs a program; false (and the fault recorded) if it faulted. The caller takes what it
  // expects out of run.held, then calls release_leaks().
  // `stats` are the program's (counters_.enqueue, …).
  bool run(const exec::Program& prog, ProgramRunStats& stats, const char* section, QdiscCtx& ctx,
           Packet* ctx_pkt, QdiscRun& run, uint64_t& r0);
  [[gnu::cold]] void note_fault(const char* section, const exec::RunResult& r);
  ProgramRunStats& run_stats_of(const exec::Program& prog);
  // Runs a program that handles no packet (init, reset) and releases what it left behind.
  bool run_control(const exec::Program& prog, const char* section, uint64_t& r0);
  // THROTTLE's wake-up time: the seed's ctx->delay from now, RFC v7's absolute ctx->expire.
  uint64_t throttle_until(const QdiscCtx& ctx, uint64_t now_ns) const;
  // A run of prog: reference-tracked unless prog was verified (and the object has no graph
  // objects, whose packets the maps do not show).
  QdiscRun run_of(const exec::Program& prog);
  // After a fault in a run that tracked no references: every packet queued here (or in_hand)
  // with more references than the maps hold, the program held; those are released as leaks.
  void release_unaccounted(const Packet* in_hand);
  // An enqueue program kept pkt (QUEUED, THROTTLE): queued here until dequeued or freed.
  EnqueueResult keep(Packet* pkt);
  EnqueueResult pass(Packet* pkt, uint32_t classid, uint64_t now_ns);
  // The packet the dequeue run handed out (the seed: ctx_skb; RFC v7: run.dequeued), or null.
  Packet* take_dequeued(QdiscRun& run, uint64_t ctx_skb);
  void arm_watchdog(uint64_t at_ns);
  // Folds what a child did since the last call into our qlen, backlog and drops.
  void sync_class(Class& c);
  Class* find_class(uint32_t classid);

  runtime::Object object_;
  std::string path_;
  BpfQdiscEnv env_;
  QdiscApi api_ = QdiscApi::Seed;
  size_t ctx_size_;  // the API's context: what a run may read and write of QdiscCtx
  runtime::Prng prng_;  // bpf_get_prandom_u32 of this qdisc's programs, unless env_.prng
  runtime::RunEnv run_env_;  // what every run gets: the same for the qdisc's life
  const exec::Program* enqueue_prog_;
  const exec::Program* dequeue_prog_;
  const exec::Program* init_prog_ = nullptr;
  const exec::Program* reset_prog_ = nullptr;
  std::vector<Class> classes_;
  std::vector<maps::Map*> skb_queues_;
  maps::Map* last_skb_queue_ = nullptr;  // the last one noted
  void note_new_skb_queue(maps::Map* queue);
  Classifier classifier_;
  BpfQdiscCounters counters_;
  uint64_t watchdog_ns_ = 0;
  bool run_timing_ = false;
};

}  // namespace bpfq::sched
