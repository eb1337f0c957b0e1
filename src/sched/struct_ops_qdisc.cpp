#include <bpfq/sched/struct_ops_qdisc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/verifier/program_types.hpp>

#include "qdisc_run.hpp"
#include "struct_ops_run.hpp"

namespace bpfq::sched {

namespace {

// Linux 6.16's struct Qdisc_ops members: the five a bpf qdisc supplies, the data bpfq reads
// (id), and the rest, which must be left zero (Linux: "attach to unsupported member").
constexpr const char* kOps[] = {"enqueue", "dequeue", "init", "reset", "destroy"};
constexpr const char* kZeroMembers[] = {
    "next", "cl_ops", "priv_size", "static_flags", "peek", "change", "attach", "change_tx_queue_len",
    "change_real_num_tx", "dump", "dump_stats", "ingress_block_set", "egress_block_set",
    "ingress_block_get", "egress_block_get", "owner"};

bool listed(const char* const* list, size_t n, std::string_view name) {
  for (size_t i = 0; i < n; ++i)
    if (name == list[i]) return true;
  return false;
}
template <size_t N>
bool listed(const char* const (&list)[N], std::string_view name) {
  return listed(list, N, name);
}

// Kfuncs of Linux's bpf_qdisc_kfunc_filter: every op may call the common ones; these only
// the ops named.
struct OpKfunc {
  const char* kfunc;
  const char* ops;  // the ops that may call it
};
constexpr OpKfunc kOpOnlyKfuncs[] = {
    {"bpf_qdisc_skb_drop", "enqueue"},
    {"bpf_qdisc_watchdog_schedule", "enqueue dequeue"},
    {"bpf_qdisc_bstats_update", "dequeue"},
};

// Kernel fields a program may write (bpf_qdisc_btf_struct_access); every other field of a
// kernel type is read-only.
bool is_kernel_type(const std::string& name) {
  static constexpr const char* kTypes[] = {"sk_buff", "qdisc_skb_cb", "Qdisc", "qdisc_skb_head",
                                           "gnet_stats_queue", "netdev_queue", "net_device", "sock",
                                           "sock_common", "bpf_sk_buff_ptr", "Qdisc_ops"};
  return listed(kTypes, name);
}

bool gpl_compatible(const std::string& license) {
  for (const char* ok : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"})
    if (license == ok) return true;
  return false;
}

const loader::StructOpsMap& qdisc_ops_of(const loader::ObjectSpec& spec) {
  const loader::StructOpsMap* found = nullptr;
  for (const loader::StructOpsMap& m : spec.struct_ops) {
    if (m.type_name != "Qdisc_ops")
      throw Error("struct_ops variable '" + m.name + "' is a struct " + m.type_name, spec.path,
                  "bpfq runs struct_ops of type Qdisc_ops only");
    if (found)
      throw Error("the object holds two Qdisc_ops ('" + found->name + "' and '" + m.name + "')", spec.path,
                  "put each qdisc in its own object");
    found = &m;
  }
  if (!found) throw Error("no SEC(\".struct_ops\") struct Qdisc_ops in the object", spec.path);
  return *found;
}

// Qdisc_ops.id as bpf_obj_name_cpy accepts it: 1..15 characters of [A-Za-z0-9_.].
std::string read_id(const loader::StructOpsMap& ops, const std::string& where) {
  const loader::StructOpsMember* id = ops.member("id");
  const std::string hint = "set it: `.id = \"bpf_fifo\",` (letters, digits, '_' and '.', at most 15)";
  if (!id) throw Error("Qdisc_ops '" + ops.name + "' has no id member", where, hint);
  const char* bytes = reinterpret_cast<const char*>(ops.data.data() + id->offset);
  const size_t len = strnlen(bytes, id->size);
  std::string text(bytes, len);
  if (len == 0 || len == id->size)
    throw Error("Qdisc_ops '" + ops.name + "' has " + (len == 0 ? "an empty id" : "an id without a terminating NUL"),
                where, hint);
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      throw Error("Qdisc_ops '" + ops.name + "' has an invalid id '" + text + "'", where, hint);
  return text;
}

// The checks Linux's verifier and bpf_qdisc_validate make that bpfq can make statically.
void check_program(const loader::ProgramSpec& prog, const std::string& op, const std::string& where) {
  for (const std::string& kfunc : prog.kfunc_names)
    for (const OpKfunc& only : kOpOnlyKfuncs)
      if (kfunc == only.kfunc && std::string_view(only.ops).find(op) == std::string_view::npos)
        throw Error(op + " program '" + prog.name + "' calls " + kfunc, where,
                    std::string("Linux allows ") + only.kfunc + " only in " + only.ops);
  for (const loader::CoreAccess& a : prog.core_accesses) {
    if (!a.is_store || !is_kernel_type(a.type) || verifier::struct_ops_writable(a.access)) continue;
    std::string at = prog.source_location(a.insn);
    throw Error(op + " program '" + prog.name + "' writes " + a.access + (at.empty() ? "" : " at " + at), where,
                "bpf qdisc programs may write only sk_buff.tstamp, the qdisc_skb_cb data, Qdisc.limit, "
                "Qdisc.q.qlen and Qdisc.qstats; every other kernel field is read-only");
  }
}

}  // namespace

bool has_qdisc_ops(const loader::ObjectSpec& spec) {
  return std::any_of(spec.struct_ops.begin(), spec.struct_ops.end(),
                     [](const loader::StructOpsMap& m) { return m.type_name == "Qdisc_ops"; });
}

runtime::ObjectOptions struct_ops_object_options(const BpfQdiscEnv& env) {
  runtime::ObjectOptions o;
  o.helpers = &struct_ops_helpers();
  o.clock = env.clock;  // run_env() hands every run this clock
  o.kptr_dtor = struct_ops_release_packet;
  o.pins = env.pins;
  o.verification = env.verification;
  o.target_btf = kernel_btf();
  o.kconfig = {{"CONFIG_HZ", runtime::kJiffiesHz}};
  return o;
}

std::unique_ptr<StructOpsQdisc> StructOpsQdisc::open(const std::string& path, Handle handle, const BpfQdiscEnv& env,
                                                     const DeviceParams& device) {
  const std::vector<uint8_t> bytes = loader::read_object_file(path);
  if (!loader::declares_struct_ops(bytes, path))
    throw Error("no SEC(\".struct_ops\") struct Qdisc_ops in the object", path,
                "a qdisc of Linux's struct_ops API declares `SEC(\".struct_ops.link\") struct Qdisc_ops NAME = {…};`");
  return std::make_unique<StructOpsQdisc>(runtime::Object::open(bytes, path, struct_ops_object_options(env)), handle,
                                          env, device);
}

StructOpsQdisc::StructOpsQdisc(runtime::Object object, Handle handle, const BpfQdiscEnv& env,
                               const DeviceParams& device)
    : Qdisc("bpf", handle), object_(std::move(object)), path_(object_.spec().path), env_(env), prng_(env.prng_seed) {
  if (!env_.pool) throw Error("a bpf qdisc needs a packet pool", path_);
  const loader::ObjectSpec& spec = object_.spec();
  const loader::StructOpsMap& ops = qdisc_ops_of(spec);
  const std::string where = path_ + " Qdisc_ops '" + ops.name + "'";
  id_ = read_id(ops, where);
  if (!gpl_compatible(spec.license))
    throw Error("struct_ops programs need a GPL-compatible license (the object's is '" + spec.license + "')", where,
                "add `char _license[] SEC(\"license\") = \"GPL\";`");

  Op* slots[] = {&enqueue_, &dequeue_, &init_, &reset_, &destroy_};
  for (const loader::StructOpsMember& m : ops.members) {
    const bool zero = std::all_of(ops.data.begin() + m.offset, ops.data.begin() + m.offset + m.size,
                                  [](uint8_t b) { return b == 0; });
    const auto op = std::find_if(std::begin(kOps), std::end(kOps), [&](const char* o) { return m.name == o; });
    if (op != std::end(kOps)) {
      if (m.program.empty()) continue;  // reported as missing below
      const loader::ProgramSpec* prog = spec.program(m.program);
      if (!prog || !prog->section.starts_with("struct_ops"))
        throw Error("slot " + m.name + " holds '" + m.program + "', which is not a SEC(\"struct_ops/…\") program",
                    where);
      check_program(*prog, m.name, where);
      Op& slot = *slots[op - std::begin(kOps)];
      slot.prog = &object_.program(m.program);
      slot.function = m.program;
    } else if (m.name == "id") {
      continue;
    } else if (!m.program.empty() || (m.is_function && !zero)) {
      throw Error("attach to unsupported member " + m.name + " of struct Qdisc_ops", where,
                  "a bpf qdisc supplies enqueue, dequeue, init, reset and destroy only");
    } else if (!zero) {
      throw Error("member " + m.name + " of struct Qdisc_ops is set", where,
                  listed(kZeroMembers, m.name) ? "leave it zero: the kernel sets it" : "bpfq's struct Qdisc_ops (Linux 6.16) has no such member; leave it zero");
    }
  }
  for (size_t i = 0; i < std::size(kOps); ++i)
    if (!slots[i]->prog)
      throw Error(std::string("no ") + kOps[i] + " program", where,
                  "Linux requires all of enqueue, dequeue, init, reset and destroy");

  device_.mtu = device.mtu;
  device_.hard_header_len = static_cast<uint16_t>(device.hard_header_len);
  device_.tx_queue_len = device.tx_queue_len;
  std::strncpy(device_.name, "eth0", sizeof device_.name - 1);
  dev_queue_.dev = reinterpret_cast<uint64_t>(&device_);
  view_.handle = handle.value;
  view_.parent = Handle::root().value;
  view_.dev_queue = reinterpret_cast<uint64_t>(&dev_queue_);
  view_.limit = device.tx_queue_len;  // Linux's default for a qdisc that sets none
  if (runtime::GraphHeap* heap = graph()) heap->set_packet_kptrs({struct_ops_is_packet, struct_ops_release_packet});
}

StructOpsQdisc::~StructOpsQdisc() {
  // qdisc_destroy: reset, then destroy; then bpfq frees what the programs still hold while this
  // qdisc can count it.
  reset();
  uint64_t r0 = 0;
  run_control(destroy_, r0);
  counting_reset_ = true;
  free_program_state();
  counting_reset_ = false;
}

runtime::GraphHeap* StructOpsQdisc::graph() const { return object_.graph_heap(); }

runtime::RunEnv StructOpsQdisc::run_env() {
  runtime::RunEnv env{env_.clock, env_.prng ? env_.prng : &prng_, env_.trace};
  env.graph = graph();
  return env;
}

void StructOpsQdisc::init() {
  // Linux's init prologue: qdisc_watchdog_init, and a bpf qdisc only at the root or under mq.
  if (parent() != Handle::root())
    throw Error("BPF qdisc only supported on root or mq", path_, "add it as the root qdisc");
  uint64_t args[3] = {reinterpret_cast<uint64_t>(&view_), 0, 0};
  StructOpsRun r(run_env(), this);
  uint64_t r0 = 0;
  const bool ok = run(init_, args, 3, nullptr, r, r0);
  finish_run(r);
  if (!ok) throw Error("the init program failed: " + counters_.last_fault, path_);
  if (r0 != 0)
    throw Error("the init program returned " + std::to_string(static_cast<int32_t>(r0)), path_,
                "init must return 0");
}

// ---- runs ----

int struct_ops_packet_regions(const Packet& pkt, exec::MemRegion* out) {
  const auto base = reinterpret_cast<uint64_t>(&pkt);
  out[0] = {base, base + kernel_skb::kSize, false};
  out[1] = {base + kernel_skb::kTstamp, base + kernel_skb::kTstamp + 8, true};
  const uint64_t data = base + kernel_skb::kCb + kernel_skb::kCbDataOffset;
  out[2] = {data, data + kernel_skb::kCbDataSize, true};
  return 3;
}

bool StructOpsQdisc::run(const Op& op, uint64_t* args, size_t nargs, Packet* pkt, StructOpsRun& r, uint64_t& r0) {
  // What every op may touch besides its stack and the ctx array: struct Qdisc (limit, q.qlen
  // and qstats writable), the device it sits on, to_free, and the enqueue skb.
  const auto view = reinterpret_cast<uint64_t>(&view_);
  exec::MemRegion regions[10] = {
      {view, view + sizeof view_, false},
      {view + offsetof(KernelQdisc, limit), view + offsetof(KernelQdisc, limit) + 4, true},
      {view + offsetof(KernelQdisc, qstats), view + offsetof(KernelQdisc, qstats) + sizeof view_.qstats, true},
      {view + offsetof(KernelQdisc, q.qlen), view + offsetof(KernelQdisc, q.qlen) + 4, true},
      {reinterpret_cast<uint64_t>(&dev_queue_), reinterpret_cast<uint64_t>(&dev_queue_) + sizeof dev_queue_, false},
      {reinterpret_cast<uint64_t>(&device_), reinterpret_cast<uint64_t>(&device_) + sizeof device_, false},
      {reinterpret_cast<uint64_t>(&to_free_), reinterpret_cast<uint64_t>(&to_free_) + sizeof to_free_, false},
  };
  size_t n = 7;
  if (pkt) n += static_cast<size_t>(struct_ops_packet_regions(*pkt, regions + n));
  ++counters_.runs;
  if (runtime::GraphHeap* heap = graph()) heap->begin_run();
  const exec::RunResult result = op.prog->run(args, nargs * sizeof(uint64_t), runtime::run_options(r, {regions, n}));
  r0 = result.r0;
  if (result.ok()) return true;
  ++counters_.faults;
  release_global_locks();
  // "enqueue: bpf_fifo_enqueue: out-of-bounds store … at fifo.bpf.c:42"
  counters_.last_fault = std::string(op.name) + ": " + describe_fault(object_, op.function, result);
  return false;
}

// Packets and objects a run leaves behind: released and counted.
void StructOpsQdisc::finish_run(StructOpsRun& r) {
  for (int i = 0; i < r.n_held; ++i) {
    ++counters_.leaked_refs;
    Packet* pkt = r.held[i];
    if (pkt->queued_in) {
      Qdisc::release_reference(pkt, DropReason::LeakedReference);
    } else {
      drop(pkt, DropReason::LeakedReference);
    }
  }
  r.n_held = 0;
  if (runtime::GraphHeap* heap = graph()) counters_.leaked_objects += heap->end_run();
}

bool StructOpsQdisc::run_control(const Op& op, uint64_t& r0) {
  uint64_t args[1] = {reinterpret_cast<uint64_t>(&view_)};
  StructOpsRun r(run_env(), this);
  const bool ok = run(op, args, 1, nullptr, r, r0);
  finish_run(r);
  return ok;
}

// ---- kfuncs' side ----

void StructOpsQdisc::drop_held(Packet* pkt) {
  if (pkt->queued_in) {
    Qdisc::release_reference(pkt, DropReason::ReleasedByProgram);
  } else {
    drop(pkt, DropReason::ReleasedByProgram);
  }
}

void StructOpsQdisc::note_stored(Packet* pkt) {
  if (pkt->queued_in) return;
  pkt->queued_in = this;
  note_queued(pkt);
}

void StructOpsQdisc::watchdog_schedule(uint64_t expire_ns) {
  watchdog_ns_ = expire_ns;
  watchdog_armed_in_run_ = true;
  schedule_watchdog(expire_ns);
}

void StructOpsQdisc::bstats_update(const Packet& pkt) {
  bstats_bytes_ += pkt.qdisc_len();
  bstats_packets_ += pkt.skb.gso_segs > 1 ? pkt.skb.gso_segs : 1;
}

// ---- the ops ----

EnqueueResult StructOpsQdisc::do_enqueue(Packet* pkt, uint64_t) {
  kernel_skb::init_qdisc_cb(*pkt);

  uint64_t args[3] = {reinterpret_cast<uint64_t>(pkt), reinterpret_cast<uint64_t>(&view_),
                      reinterpret_cast<uint64_t>(&to_free_)};
  StructOpsRun r(run_env(), this);
  r.hold(pkt);  // the program owns the skb (the skb__ref argument)
  uint64_t ret = 0;
  const bool ok = run(enqueue_, args, 3, pkt, r, ret);
  const bool leaked = r.holds(pkt);
  finish_run(r);
  // Kept: a field still holds it once the run's leaks are freed (a lost object takes its
  // packets with it). Nothing allocates packets meanwhile, so a freed one reads refcount 0.
  const bool kept = !leaked && pkt->refcount > 0 && pkt->queued_in == this;
  if (!ok && leaked) return EnqueueResult::dropped(DropReason::ProgramFault);
  if (leaked) return EnqueueResult::dropped(DropReason::LeakedReference);
  if (!kept) return EnqueueResult::dropped(DropReason::ReleasedByProgram);
  return static_cast<int>(ret) == kNetXmitCn ? EnqueueResult::congested() : EnqueueResult::queued();
}

DequeueResult StructOpsQdisc::do_dequeue(uint64_t now_ns) {
  uint64_t args[1] = {reinterpret_cast<uint64_t>(&view_)};
  StructOpsRun r(run_env(), this);
  watchdog_armed_in_run_ = false;
  uint64_t skb = 0;
  Packet* out = nullptr;
  if (run(dequeue_, args, 1, nullptr, r, skb) && skb != 0) {
    Packet* pkt = env_.pool->packet_at(reinterpret_cast<const void*>(skb));
    if (pkt && r.take(pkt) && pkt->queued_in == this) {
      pkt->queued_in = nullptr;
      note_unqueued(pkt);
      out = pkt;
    } else {
      ++counters_.bad_dequeues;
      counters_.last_fault = "dequeue: returned a pointer that is not a packet reference the program holds";
    }
  }
  finish_run(r);
  if (out) return DequeueResult::of(out);
  if (watchdog_armed_in_run_ && watchdog_ns_ > now_ns) return DequeueResult::throttled(watchdog_ns_);
  return DequeueResult::empty();
}

void StructOpsQdisc::do_reset() {
  counting_reset_ = true;
  uint64_t r0 = 0;
  run_control(reset_, r0);
  // qdisc_reset: the queue is empty afterwards. Packets a buggy reset program left in its
  // objects and maps are freed by bpfq (counted; the program's state goes with them).
  if (qlen() != 0) {
    counters_.reset_leftovers += qlen();
    counters_.last_fault = "reset: the program left " + std::to_string(qlen()) + " packets queued; bpfq freed them";
    free_program_state();
  }
  counting_reset_ = false;
  view_.q.qlen = 0;
  view_.qstats.backlog = 0;
  watchdog_ns_ = 0;  // the epilogue: qdisc_watchdog_cancel
}

// A run that faulted inside bpf_spin_lock/unlock left its lock taken: the next run would find it
// so. The qdisc's runs are its programs' only users, so whatever holds a global lock now is
// that run.
void StructOpsQdisc::release_global_locks() {
  const loader::ObjectSpec& spec = object_.spec();
  for (const loader::GlobalSpecialField& g : spec.global_fields) {
    if (g.field.kind != loader::SpecialKind::SpinLock) continue;
    const uint32_t key = 0;
    if (auto* value = static_cast<uint8_t*>(object_.map(spec.maps[g.map_index].name).lookup(&key)))
      std::memset(value + g.field.offset, 0, sizeof(uint32_t));
  }
}

void StructOpsQdisc::free_program_state() {
  // Maps first: their kptr fields give their objects back to the heap, which then frees the rest.
  for (const maps::MapSpec& spec : object_.spec().maps)
    if (!spec.kptr_offsets.empty()) object_.map(spec.name).clear();
  if (runtime::GraphHeap* heap = graph()) heap->clear();
}

}  // namespace bpfq::sched
