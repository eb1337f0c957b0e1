#include <bpfq/sched/bpf_qdisc.hpp>

#include <bpfq/maps/map_of_maps.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include <bpfq/error.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/sched/kernel_view.hpp>
#include <bpfq/verifier/program_types.hpp>

#include "qdisc_run.hpp"

namespace bpfq::sched {

namespace {

// Verdicts of the seed (RFC v6) and of v7 (BYPASS, STOLEN).
enum : uint64_t { kQueued = 0, kDrop, kCn, kThrottle, kPass, kBypass, kStolen };

void release_kptr(void* pkt) {
  BpfQdisc::release_reference(static_cast<Packet*>(pkt), DropReason::ReleasedByMap);
}

// The API the object's qdisc programs are written for, as the program types' table tells them
// apart; one object's programs must agree.
QdiscApi api_of(const loader::ObjectSpec& spec, const std::string& path) {
  const verifier::ProgramType* first = nullptr;
  std::string first_section;
  for (const loader::ProgramSpec& p : spec.programs) {
    const verifier::ProgramType* t = verifier::program_type_for_section(p.section, p.ctx_struct);
    if (!t || t->ctx == verifier::CtxKind::SkBuff) continue;
    if (first && t->ctx != first->ctx)
      throw Error(first_section + " is written for " + std::string(first->api) + " but " + p.section + " for " +
                      std::string(t->api),
                  path, "write every program for one API: the seed's struct sch_bpf_ctx or RFC v7's struct bpf_qdisc_ctx");
    if (!first) first = t, first_section = p.section;
  }
  return first && first->ctx == verifier::CtxKind::BpfQdiscCtx ? QdiscApi::RfcV7 : QdiscApi::Seed;
}

}  // namespace

runtime::ObjectOptions bpf_qdisc_object_options(const BpfQdiscEnv& env) {
  runtime::ObjectOptions o;
  o.helpers = &qdisc_helpers();
  o.clock = env.clock;  // run_env() hands every run this clock
  o.kptr_xchg_in_place = true;  // verified runs track no references: run_of()
  o.kptr_dtor = release_kptr;
  o.pins = env.pins;
  o.verification = env.verification;
  o.target_btf = kernel_btf();  // RFC v7's programs read struct sk_buff through CO-RE
  return o;
}

std::unique_ptr<BpfQdisc> BpfQdisc::open(const std::string& path, Handle handle, const BpfQdiscEnv& env) {
  return std::make_unique<BpfQdisc>(runtime::Object::open(path, bpf_qdisc_object_options(env)), handle, env);
}

BpfQdisc::BpfQdisc(runtime::Object object, Handle handle, const BpfQdiscEnv& env)
    : Qdisc("bpf", handle),
      object_(std::move(object)),
      path_(object_.spec().path),
      env_(env),
      api_(api_of(object_.spec(), path_)),
      ctx_size_(api_ == QdiscApi::RfcV7 ? kRfcV7CtxSize : kSeedCtxSize),
      prng_(env.prng_seed),
      run_env_{env.clock, env.prng ? env.prng : &prng_, env.trace, object_.graph_heap()} {
  if (!env_.pool) throw Error("a bpf qdisc needs a packet pool", path_);
  if (runtime::GraphHeap* heap = object_.graph_heap()) heap->set_packet_kptrs({qdisc_kptr_is_packet, release_kptr});
  auto find = [&](const char* section) -> const exec::Program* {
    for (const runtime::ProgramInfo& p : object_.programs())
      if (p.section == section) return &object_.program(section);
    return nullptr;
  };
  enqueue_prog_ = find("qdisc/enqueue");
  dequeue_prog_ = find("qdisc/dequeue");
  init_prog_ = find("qdisc/init");
  reset_prog_ = find("qdisc/reset");
  if (!enqueue_prog_ || !dequeue_prog_)
    throw Error(std::string("no ") + (enqueue_prog_ ? "qdisc/dequeue" : "qdisc/enqueue") + " program",
                path_, "a bpf qdisc needs SEC(\"qdisc/enqueue\") and SEC(\"qdisc/dequeue\") programs");
}

BpfQdisc::~BpfQdisc() {
  // Release what the maps still hold while this qdisc can still count it; a qdisc going away
  // does not run its init program again.
  init_prog_ = nullptr;
  reset();
}

void BpfQdisc::init() {
  if (!init_prog_) return;
  uint64_t r0 = 0;
  if (!run_control(*init_prog_, "qdisc/init", r0)) throw Error("qdisc/init failed: " + counters_.last_fault, path_);
  if (r0 != 0)
    throw Error("qdisc/init returned " + std::to_string(static_cast<int32_t>(r0)), path_,
                "the init program must return 0");
}

// ---- classes ----

void BpfQdisc::attach_watchdog(Watchdog* watchdog) {
  Qdisc::attach_watchdog(watchdog);
  for (Class& c : classes_) c.child->attach_watchdog(watchdog);
}

void BpfQdisc::add_class(Handle classid, std::unique_ptr<Qdisc> child) {
  if (find_class(classid.value)) throw Error("class " + classid.to_string() + " exists", path_);
  child->set_parent(classid);
  child->attach_watchdog(watchdog());
  QdiscStats seen = child->stats();
  classes_.push_back(Class{classid, std::move(child), seen});
}

Qdisc* BpfQdisc::class_child(Handle classid) const {
  for (const Class& c : classes_)
    if (c.id == classid) return c.child.get();
  return nullptr;
}

std::vector<Handle> BpfQdisc::classes() const {
  std::vector<Handle> ids;
  for (const Class& c : classes_) ids.push_back(c.id);
  return ids;
}

BpfQdisc::Class* BpfQdisc::find_class(uint32_t classid) {
  for (Class& c : classes_)
    if (c.id.value == classid) return &c;
  return nullptr;
}

void BpfQdisc::sync_class(Class& c) {
  const QdiscStats& now = c.child->stats();
  QdiscStats& s = mutable_stats();
  s.qlen += now.qlen - c.seen.qlen;
  s.backlog += now.backlog - c.seen.backlog;
  s.dropped += now.dropped - c.seen.dropped;
  s.dropped_bytes += now.dropped_bytes - c.seen.dropped_bytes;
  for (size_t i = 0; i < s.drops_by_reason.size(); ++i)
    s.drops_by_reason[i] += now.drops_by_reason[i] - c.seen.drops_by_reason[i];
  c.seen = now;
}

// ---- references ----

void BpfQdisc::note_new_skb_queue(maps::Map* queue) {
  last_skb_queue_ = queue;
  if (std::find(skb_queues_.begin(), skb_queues_.end(), queue) == skb_queues_.end())
    skb_queues_.push_back(queue);  // at most one entry per map of the object
}

[[gnu::always_inline]] inline QdiscRun BpfQdisc::run_of(const exec::Program& prog) {
  return QdiscRun(run_env_, this, prog.checked() || run_env_.graph != nullptr);
}

// Inline where it is called (enqueue, dequeue, control runs): a call of its own cost 20
// instructions a run.
[[gnu::always_inline]] inline bool BpfQdisc::run(const exec::Program& prog, ProgramRunStats& stats, const char* section, QdiscCtx& ctx,
                   Packet* ctx_pkt, QdiscRun& env, uint64_t& r0) {
  exec::MemRegion regions[kPacketRegions];
  const size_t n = ctx_pkt && prog.checked() ? static_cast<size_t>(packet_regions(*ctx_pkt, api_, regions)) : 0;
  ++counters_.runs;
  ++stats.runs;
  const auto start = run_timing_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  if (env.graph) env.graph->begin_run();
  const exec::RunResult r = prog.run(&ctx, ctx_size_, runtime::run_options(env, {regions, n}));
  if (run_timing_)
    stats.run_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  r0 = r.r0;
  if (r.ok()) return true;
  note_fault(section, r);
  return false;
}

void BpfQdisc::note_fault(const char* section, const exec::RunResult& r) {
  ++counters_.faults;
  counters_.last_fault = describe_fault(object_, section, r);
}

ProgramRunStats& BpfQdisc::run_stats_of(const exec::Program& prog) {
  if (&prog == enqueue_prog_) return counters_.enqueue;
  if (&prog == dequeue_prog_) return counters_.dequeue;
  return &prog == reset_prog_ ? counters_.reset : counters_.init;
}

bool BpfQdisc::run_control(const exec::Program& prog, const char* section, uint64_t& r0) {
  QdiscCtx ctx;
  ctx.classid = handle().value;
  QdiscRun env = run_of(prog);
  const bool ok = run(prog, run_stats_of(prog), section, ctx, nullptr, env, r0);
  release_leaks(env, !ok);
  return ok;
}

void BpfQdisc::release_leaks(QdiscRun& env, bool faulted, const Packet* in_hand) {
  if (!env.tracks) {
    if (faulted) release_unaccounted(in_hand);
    return;
  }
  for (int i = 0; i < env.n_held; ++i) {
    ++counters_.leaked_refs;
    release_reference(env.held[i], DropReason::LeakedReference);
  }
  env.n_held = 0;
  if (env.graph) counters_.leaked_objects += env.graph->end_run();
}

uint64_t BpfQdisc::throttle_until(const QdiscCtx& ctx, uint64_t now_ns) const {
  // RFC v7's qdisc_watchdog_schedule_range_ns(expire, delta_ns): bpfq wakes at expire, the
  // start of the range; its watchdog keeps its own minimum slack (Watchdog::kMinSlackNs).
  return api_ == QdiscApi::RfcV7 ? ctx.expire : saturating_add(now_ns, ctx.delay);
}

// A verified program that faulted midway (its callback budget ran out) may hold references that
// no list recorded. Packets queued here have exactly one reference per map field and packet queue
// that holds them (keep() gave the qdisc's away), the enqueue's packet one more (the qdisc's):
// any beyond those the program held.
void BpfQdisc::release_unaccounted(const Packet* in_hand) {
  std::unordered_map<const Packet*, uint32_t> in_maps;
  auto count = [&](const void* field) {
    uint64_t p;
    std::memcpy(&p, field, sizeof p);
    if (const Packet* pkt = env_.pool->packet_at(reinterpret_cast<const void*>(p))) ++in_maps[pkt];
  };
  auto walk = [&](auto& self, maps::Map& m) -> void {
    if (maps::is_map_of_maps(m.spec().type)) {
      m.for_each([&](const void*, void* inner) { return self(self, *static_cast<maps::Map*>(inner)), 0; });
      return;
    }
    const bool queue = std::find(skb_queues_.begin(), skb_queues_.end(), &m) != skb_queues_.end();
    if (!queue && m.spec().kptr_offsets.empty()) return;
    m.for_each([&](const void*, void* value) {
      if (queue) count(value);
      for (uint32_t off : m.spec().kptr_offsets) count(static_cast<const uint8_t*>(value) + off);
      return 0;
    });
  };
  for (const maps::MapSpec& spec : object_.spec().maps) walk(walk, object_.map(spec.name));
  env_.pool->for_each_built([&](Packet& pkt) {
    if (pkt.refcount == 0 || (pkt.queued_in != this && &pkt != in_hand)) return;
    const uint32_t expected = in_maps[&pkt] + (&pkt == in_hand ? 1 : 0);
    while (pkt.refcount > expected) {
      ++counters_.leaked_refs;
      release_reference(&pkt, DropReason::LeakedReference);
    }
  });
}

void BpfQdisc::arm_watchdog(uint64_t at_ns) {
  watchdog_ns_ = at_ns;
  ++mutable_stats().overlimits;
  schedule_watchdog(at_ns);
}

// ---- enqueue ----

EnqueueResult BpfQdisc::keep(Packet* pkt) {
  // Only our reference left: the program kept nothing.
  if (pkt->refcount == 1) return drop_and_report(pkt, DropReason::NotStored);
  pkt->queued_in = this;
  note_queued(pkt);
  PacketPool::release(pkt);  // ours; the program's maps hold theirs
  return EnqueueResult::queued();
}

EnqueueResult BpfQdisc::pass(Packet* pkt, uint32_t classid, uint64_t now_ns) {
  Class* c = find_class(classid);
  if (!c) return drop_and_report(pkt, DropReason::NoClass);
  const EnqueueResult r = c->child->enqueue(pkt, now_ns);
  sync_class(*c);
  return r;
}

EnqueueResult BpfQdisc::do_enqueue(Packet* pkt, uint64_t now_ns) {
  if (api_ == QdiscApi::RfcV7) kernel_skb::init_qdisc_cb(*pkt);  // its programs read skb->cb
  QdiscCtx ctx;
  ctx.skb = reinterpret_cast<uint64_t>(&pkt->skb);
  ctx.classid = handle().value;
  QdiscRun env = run_of(*enqueue_prog_);
  uint64_t verdict = 0;
  const bool ok = run(*enqueue_prog_, counters_.enqueue, "qdisc/enqueue", ctx, pkt, env, verdict);
  if (env.tracks || !ok) release_leaks(env, !ok, pkt);  // a verified run that ended holds none
  if (!ok) return drop_and_report(pkt, DropReason::ProgramFault);
  switch (verdict) {
    case kQueued:
      return keep(pkt);
    case kThrottle:
      arm_watchdog(throttle_until(ctx, now_ns));
      return keep(pkt);
    case kDrop:
      return drop_and_report(pkt, DropReason::ProgramVerdict);
    case kCn:
      drop(pkt, DropReason::Congestion);
      return EnqueueResult::congested(DropReason::Congestion);
    case kPass:
      return pass(pkt, ctx.classid, now_ns);
    case kBypass:
      drop(pkt, DropReason::Bypass);
      return EnqueueResult::bypass();
    case kStolen:
      drop(pkt, DropReason::Stolen);
      return EnqueueResult::stolen();
    default:
      return drop_and_report(pkt, DropReason::OutOfRangeVerdict);
  }
}

// ---- dequeue ----

// The packet a dequeue program handed out, if it is a reference the program held to a packet
// queued here; anything else is counted and ignored.
Packet* BpfQdisc::take_dequeued(QdiscRun& env, uint64_t ctx_skb) {
  Packet* pkt = env.dequeued;  // RFC v7: bpf_qdisc_set_skb_dequeue took it from the run
  env.dequeued = nullptr;
  if (api_ == QdiscApi::Seed) {
    if (ctx_skb == 0) return nullptr;
    pkt = env_.pool->packet_at(reinterpret_cast<const void*>(ctx_skb));
    if (!pkt || !env.take(pkt)) {
      ++counters_.bad_dequeues;
      counters_.last_fault = "qdisc/dequeue: ctx->skb is not a packet reference the program holds";
      return nullptr;
    }
  }
  if (!pkt) return nullptr;
  if (pkt->queued_in != this) {  // already sent, or dropped when it was offered
    ++counters_.bad_dequeues;
    counters_.last_fault = "qdisc/dequeue: the packet handed out is not queued in this qdisc";
    PacketPool::release(pkt);
    return nullptr;
  }
  pkt->queued_in = nullptr;
  note_unqueued(pkt);
  return pkt;
}

DequeueResult BpfQdisc::do_dequeue(uint64_t now_ns) {
  QdiscCtx ctx;
  ctx.classid = handle().value;
  QdiscRun env = run_of(*dequeue_prog_);
  env.dequeue_run = true;
  uint64_t verdict = 0;
  DequeueResult result = DequeueResult::empty();
  const bool ok = run(*dequeue_prog_, counters_.dequeue, "qdisc/dequeue", ctx, nullptr, env, verdict);
  if (ok) {
    switch (verdict) {
      case kQueued:
        if (Packet* pkt = take_dequeued(env, ctx.skb)) result = DequeueResult::of(pkt);
        break;
      case kThrottle:
        arm_watchdog(throttle_until(ctx, now_ns));
        result = DequeueResult::throttled(watchdog_ns_);
        break;
      case kPass:
        if (Class* c = find_class(ctx.classid)) {
          result = c->child->dequeue(now_ns);
          sync_class(*c);
        }
        break;
      default:
        break;
    }
  }
  if (env.dequeued) {  // handed out, but the verdict was not DEQUEUED: the program lost it
    counters_.last_fault = "qdisc/dequeue: bpf_qdisc_set_skb_dequeue handed a packet out but the program returned " +
                           std::to_string(static_cast<int64_t>(verdict)) + ", not SCH_BPF_DEQUEUED";
    ++counters_.leaked_refs;
    release_reference(env.dequeued, DropReason::LeakedReference);
    env.dequeued = nullptr;
  }
  if (env.tracks || !ok) release_leaks(env, !ok);
  if (result.kind != DequeueResult::Kind::Throttled && watchdog_ns_ <= now_ns) watchdog_ns_ = 0;
  return result;
}

// ---- reset ----

void BpfQdisc::do_reset() {
  counting_reset_ = true;
  uint64_t r0 = 0;
  if (reset_prog_) run_control(*reset_prog_, "qdisc/reset", r0);
  for (maps::Map* queue : skb_queues_) {
    uint64_t p = 0;
    while (queue->pop(&p) == 0)
      if (Packet* pkt = env_.pool->packet_at(reinterpret_cast<const void*>(p))) release_reference(pkt, DropReason::Reset);
  }
  // Every map the program may write goes back to its initial state, releasing the references it
  // holds; then init runs again, as after creation. Kept: what the program cannot write
  // (.rodata parameters, BPF_F_RDONLY_PROG configuration maps) and maps shared with other
  // objects (pinned) that hold no packets — their other users' state.
  // An ARRAY_OF_MAPS keeps the inner maps user space installed in it (a program cannot install
  // one), emptied: they are the program's configuration, its queues' places.
  for (const maps::MapSpec& spec : object_.spec().maps) {
    const bool shared = object_.spec().is_pinned_by_name(spec.name) && spec.kptr_offsets.empty();
    if (spec.read_only || shared) continue;
    if (spec.type == static_cast<uint32_t>(maps::MapType::ArrayOfMaps)) {
      auto& outer = static_cast<maps::MapOfMaps&>(object_.map(spec.name));
      for (uint32_t i = 0; i < spec.max_entries; ++i)
        if (const std::shared_ptr<maps::Map> inner = outer.inner(&i)) inner->clear();
      continue;
    }
    object_.map(spec.name).clear();
  }
  object_.release_retired();
  // Graph objects (RFC v7's queues) go after the maps whose kptr fields held some of them.
  if (runtime::GraphHeap* heap = object_.graph_heap()) heap->clear();
  for (Class& c : classes_) {
    c.child->reset();
    sync_class(c);
  }
  watchdog_ns_ = 0;
  counting_reset_ = false;
  if (init_prog_) run_control(*init_prog_, "qdisc/init", r0);
}

}  // namespace bpfq::sched
