#include <bpfq/sched/fq_codel_qdisc.hpp>

#include <algorithm>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/flow_hash.hpp>

namespace bpfq::sched {
namespace {

// codel.h: a u32 clock of 1024 ns units, compared modulo 2^32 (RFC 1982).
constexpr int kCodelShift = 10;
constexpr uint32_t kCodelDisabledThreshold = 0x7FFFFFFF;  // INT_MAX
constexpr int kRecInvSqrtShift = 16;                       // 32 - bits of rec_inv_sqrt
constexpr uint32_t kQuantumMax = 1u << 20;                 // FQ_CODEL_QUANTUM_MAX

uint32_t codel_time(uint64_t ns) { return static_cast<uint32_t>(ns >> kCodelShift); }
bool time_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
bool time_after_eq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
bool time_before(uint32_t a, uint32_t b) { return time_after(b, a); }

// When the packet entered the qdisc, in codel time (codel_get_enqueue_time).
uint32_t enqueue_time(const Packet* pkt) { return codel_time(pkt->enqueue_ns); }

}  // namespace

FqCodelParams FqCodelParams::for_device(const DeviceParams& device) {
  FqCodelParams p;
  p.quantum = p.mtu = std::clamp<uint32_t>(device.psched_mtu(), 256, kQuantumMax);
  return p;
}

// ---- flow lists ----

void FqCodelQdisc::FlowList::push_back(Flow* f) {
  f->next = nullptr;
  if (tail) tail->next = f;
  else head = f;
  tail = f;
}

FqCodelQdisc::Flow* FqCodelQdisc::FlowList::pop_front() {
  Flow* f = head;
  if (!f) return nullptr;
  head = f->next;
  if (!head) tail = nullptr;
  f->next = nullptr;
  return f;
}

uint32_t FqCodelQdisc::FlowList::size() const {
  uint32_t n = 0;
  for (const Flow* f = head; f; f = f->next) ++n;
  return n;
}

// ---- setup ----

FqCodelQdisc::FqCodelQdisc(const FqCodelParams& params, Handle handle)
    : Qdisc("fq_codel", handle), params_(params) {
  if (params_.flows == 0 || params_.flows > 65536)
    throw Error("fq_codel flows " + std::to_string(params_.flows) + " is out of range", "fq_codel",
                "flows must be 1..65536 (Linux refuses other values with EINVAL)");
  params_.quantum = std::max<uint32_t>(params_.quantum, 256);
  if (params_.quantum > kQuantumMax)
    throw Error("fq_codel quantum " + std::to_string(params_.quantum) + " is too large", "fq_codel",
                "quantum must be at most 1048576 bytes");
  params_.drop_batch = std::max<uint32_t>(params_.drop_batch, 1);
  params_.memory_limit = std::min<uint32_t>(params_.memory_limit, 1u << 31);
  target_ = codel_time(params_.target_ns);
  interval_ = codel_time(params_.interval_ns);
  ce_threshold_ = params_.ce_threshold_ns == FqCodelParams::kCeThresholdOff
                      ? kCodelDisabledThreshold
                      : codel_time(params_.ce_threshold_ns);
  flows_ = std::vector<Flow>(params_.flows);
}

FqCodelQdisc::~FqCodelQdisc() { reset(); }

FqCodelStats FqCodelQdisc::xstats() const {
  FqCodelStats s = xstats_;
  s.new_flows_len = new_flows_.size();
  s.old_flows_len = old_flows_.size();
  return s;
}

uint32_t FqCodelQdisc::flow_of(Packet& pkt) const {
  // fq_codel_classify: skb->priority may name a class major:minor of this qdisc directly. A
  // qdisc without a handle (0, never the case in Linux) takes no such shortcut.
  const uint32_t prio = pkt.skb.priority;
  const uint32_t minor = prio & 0xFFFF;
  if (!handle().is_unspec() && (prio & 0xFFFF0000u) == handle().value && minor > 0 &&
      minor <= params_.flows)
    return minor - 1;
  return reciprocal_scale(pkt.get_hash(), params_.flows);
}

// ---- CoDel (codel_impl.h) ----

void FqCodelQdisc::newton_step(CodelVars& vars) {
  // new = invsqrt / 2 * (3 - count * invsqrt^2), in Q0.32, with Linux's exact truncations.
  const uint32_t invsqrt = static_cast<uint32_t>(vars.rec_inv_sqrt) << kRecInvSqrtShift;
  const uint32_t invsqrt2 = static_cast<uint32_t>((uint64_t{invsqrt} * invsqrt) >> 32);
  uint64_t val = (uint64_t{3} << 32) - uint64_t{vars.count} * invsqrt2;
  val >>= 2;  // room for the next multiply
  val = (val * invsqrt) >> (32 - 2 + 1);
  vars.rec_inv_sqrt = static_cast<uint16_t>(val >> kRecInvSqrtShift);
}

uint32_t FqCodelQdisc::control_law(uint32_t t, uint32_t interval, uint16_t rec_inv_sqrt) {
  return t + reciprocal_scale(interval, static_cast<uint32_t>(rec_inv_sqrt) << kRecInvSqrtShift);
}

bool FqCodelQdisc::should_drop(const Packet* pkt, CodelVars& vars, uint32_t now) {
  if (!pkt) {
    vars.first_above_time = 0;
    return false;
  }
  vars.ldelay = now - enqueue_time(pkt);
  xstats_.maxpacket = std::max(xstats_.maxpacket, pkt->qdisc_len());
  // The packet already left the backlog: CoDel sees what stays behind it.
  if (time_before(vars.ldelay, target_) || backlog() <= params_.mtu) {
    vars.first_above_time = 0;  // below target: must stay above for a whole interval again
    return false;
  }
  if (vars.first_above_time == 0) {
    vars.first_above_time = now + interval_;
    return false;
  }
  return time_after(now, vars.first_above_time);
}

void FqCodelQdisc::codel_drop(Packet* pkt) {
  ++xstats_.codel_drops;
  drop(pkt, DropReason::Congestion);
}

Packet* FqCodelQdisc::codel_dequeue(Flow& flow, uint32_t now) {
  CodelVars& vars = flow.cvars;
  Packet* pkt = take_head(flow);
  if (!pkt) {
    vars.dropping = false;
    return nullptr;
  }
  bool drop_now = should_drop(pkt, vars, now);
  if (vars.dropping) {
    if (!drop_now) {
      vars.dropping = false;  // sojourn time went below target
    } else if (time_after_eq(now, vars.drop_next)) {
      // Drop (or mark) and schedule the next drop until it lies in the future: a long backlog
      // can call for several drops at once.
      while (vars.dropping && time_after_eq(now, vars.drop_next)) {
        ++vars.count;
        newton_step(vars);
        if (params_.ecn && ecn_set_ce(*pkt)) {
          ++xstats_.ecn_mark;
          vars.drop_next = control_law(vars.drop_next, interval_, vars.rec_inv_sqrt);
          goto end;
        }
        codel_drop(pkt);
        pkt = take_head(flow);
        if (!should_drop(pkt, vars, now))
          vars.dropping = false;
        else
          vars.drop_next = control_law(vars.drop_next, interval_, vars.rec_inv_sqrt);
      }
    }
  } else if (drop_now) {
    if (params_.ecn && ecn_set_ce(*pkt)) {
      ++xstats_.ecn_mark;
    } else {
      codel_drop(pkt);
      pkt = take_head(flow);
      should_drop(pkt, vars, now);
    }
    vars.dropping = true;
    // Re-entering the dropping state soon after leaving it: start from the drop rate that
    // controlled the queue last time.
    const uint32_t delta = vars.count - vars.lastcount;
    if (delta > 1 && time_before(now - vars.drop_next, 16 * interval_)) {
      vars.count = delta;
      newton_step(vars);
    } else {
      vars.count = 1;
      vars.rec_inv_sqrt = static_cast<uint16_t>(~0u >> kRecInvSqrtShift);
    }
    vars.lastcount = vars.count;
    vars.drop_next = control_law(now, interval_, vars.rec_inv_sqrt);
  }
end:
  if (pkt && time_after(vars.ldelay, ce_threshold_) && ecn_set_ce(*pkt)) ++xstats_.ce_mark;
  return pkt;
}

// ---- the qdisc ----

Packet* FqCodelQdisc::take_head(Flow& flow) {
  Packet* pkt = unqueue_head(flow.queue);
  if (pkt) xstats_.memory_usage -= pkt->qdisc_len();
  return pkt;
}

uint32_t FqCodelQdisc::drop_from_fattest() {
  // A linear scan, as Linux: the first flow with the largest backlog.
  uint32_t max_backlog = 0, idx = 0;
  for (uint32_t i = 0; i < params_.flows; ++i) {
    const auto b = static_cast<uint32_t>(flows_[i].queue.bytes());
    if (b > max_backlog) {
      max_backlog = b;
      idx = i;
    }
  }
  // Drop half of its bytes, at most drop_batch packets, at least one.
  const uint32_t threshold = max_backlog >> 1;
  Flow& flow = flows_[idx];
  uint32_t len = 0, n = 0;
  do {
    Packet* pkt = take_head(flow);
    if (!pkt) break;  // every flow empty: nothing to drop (Linux cannot get here)
    len += pkt->qdisc_len();
    drop(pkt, DropReason::QueueFull);
  } while (++n < params_.drop_batch && len < threshold);
  flow.cvars.count += n;  // tell CoDel to signal harder too
  return idx;
}

EnqueueResult FqCodelQdisc::do_enqueue(Packet* pkt, uint64_t) {
  const uint32_t idx = flow_of(*pkt);
  Flow& flow = flows_[idx];
  const uint32_t len = pkt->qdisc_len();
  queue_tail(flow.queue, pkt);
  if (flow.list == List::None) {
    new_flows_.push_back(&flow);
    flow.list = List::New;
    ++xstats_.new_flow_count;
    flow.deficit = static_cast<int32_t>(params_.quantum);
  }
  xstats_.memory_usage += len;
  const bool memory_limited = xstats_.memory_usage > params_.memory_limit;
  if (qlen() <= params_.limit && !memory_limited) return EnqueueResult::queued();

  const uint32_t qlen_before = qlen();
  const uint32_t fattest = drop_from_fattest();
  const uint32_t dropped = qlen_before - qlen();
  xstats_.drop_overlimit += dropped;
  if (memory_limited) xstats_.drop_overmemory += dropped;
  // Packets of the arriving packet's own flow went: tell the sender (NET_XMIT_CN).
  if (fattest == idx) return EnqueueResult::congested(DropReason::QueueFull);
  return EnqueueResult::queued();
}

DequeueResult FqCodelQdisc::do_dequeue(uint64_t now_ns) {
  const uint32_t now = codel_time(now_ns);
  // Ends: each pass either gives a flow credit (quantum >= 256), removes an empty flow from the
  // lists, or returns a packet.
  for (;;) {
    FlowList* list = &new_flows_;
    if (list->empty()) {
      list = &old_flows_;
      if (list->empty()) return DequeueResult::empty();
    }
    Flow* flow = list->head;
    if (flow->deficit <= 0) {
      flow->deficit += static_cast<int32_t>(params_.quantum);
      list->pop_front();
      old_flows_.push_back(flow);
      flow->list = List::Old;
      continue;
    }
    Packet* pkt = codel_dequeue(*flow, now);
    if (!pkt) {
      list->pop_front();
      // An empty new flow goes through the old list once, so it cannot starve old flows by
      // coming back as new.
      if (list == &new_flows_ && !old_flows_.empty()) {
        old_flows_.push_back(flow);
        flow->list = List::Old;
      } else {
        flow->list = List::None;
      }
      continue;
    }
    flow->deficit -= static_cast<int32_t>(pkt->qdisc_len());
    return DequeueResult::of(pkt);
  }
}

void FqCodelQdisc::do_reset() {
  new_flows_ = {};
  old_flows_ = {};
  for (Flow& flow : flows_) {
    drop_queue(flow.queue, DropReason::Reset);
    flow.next = nullptr;
    flow.list = List::None;
    flow.cvars = {};
  }
  xstats_.memory_usage = 0;
}

}  // namespace bpfq::sched
