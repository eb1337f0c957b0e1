/* bpf_fq: Linux's Fair Queue scheduler (net/sched/sch_fq.c) for Linux 6.16's struct_ops bpf qdisc
 * (docs/qdiscs/struct_ops.md). The twin of bpfq's seed-API progs/fq.bpf.c (docs/qdiscs/fq.md),
 * with its defaults: limit 10000 packets, flow_limit 100, quantum 3028, initial_quantum 15140,
 * refill_delay 40 ms, horizon 10 s with drop, orphan_mask 1023, maxrate unlimited.
 *
 * As the twin: flows are served round robin with a byte credit, new flows before old ones; packets
 * leave no earlier than their time_to_send (EDT: skb->tstamp, else the arrival time), in
 * (time_to_send, arrival) order within a flow; a flow whose next packet is not due waits in the
 * delayed-flow rbtree (keyed by time_next_packet, ties in throttling order) and dequeue arms the
 * watchdog for the earliest; due packets arriving when no flow has packets take the fast path
 * (Linux's q->internal, served first). bpfq has no sockets, so every packet is an orphan: its flow
 * is bpf_skb_get_hash(skb) & orphan_mask; flows are never garbage-collected.
 *
 * Differences from the twin:
 * - Every packet is in band 1. The twin maps skb->priority to one of sch_fq's three bands
 *   (priomap); this program ignores skb->priority and puts every packet in band 1, the twin's band
 *   for priority 0 (its own default traffic). It keeps the twin's WRR rotation over the three bands
 *   (band_nr, each band's credit refilled by its weight when its turn comes) because even such
 *   traffic uses two bands: a flow that becomes active joins the new list of the band it had
 *   before its packet's band is recorded, so a brand new flow's first activation lands on band 0's
 *   new list (fq_band0_flows) and every later move on band 1's lists. Band 0's old list and band
 *   2's lists are never used, so they do not exist here. Traffic whose priorities map to other
 *   bands of the twin is scheduled differently here.
 * - No ECN marking: the twin CE-marks a packet dequeued more than ce_threshold (default ~4295 s,
 *   i.e. off) after its time; struct_ops has no kfunc to mark, so only stat_ce_mark counts it.
 * - Per-flow pacing to maxrate is not implemented: maxrate is unlimited by default and a struct_ops
 *   qdisc takes no parameters, and with it unlimited the twin's pacing step changes no state.
 * - Storage: a flow is a bpf_obj_new object (credit, qlen, times, its packets in an rbtree keyed by
 *   (time_to_send, arrival)) kept in the fq_flows hash map and, while active, in the new/old lists
 *   or the delayed rbtree; the twin keeps Linux's linear list + rbtree per flow in maps. Both give
 *   the same order: the linear list holds packets in arrival order with non-decreasing times and
 *   Linux's tie (rbtree vs list head) always goes to the earlier arrival.
 * - Times are ns (as the twin); the watchdog is asked for the exact time (slack 0, the twin has no
 *   timer slack). Dropped packets count in sch->qstats.drops; a dequeue that finds only throttled
 *   flows counts one sch->qstats.overlimits, as the seed's THROTTLE verdict does. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpfq/bpf/bpf_qdisc_ops.h>

/* ---- parameters (the twin's defaults; a struct_ops qdisc gets none from tc) ---- */
#define NSEC_PER_SEC 1000000000ULL
#define FQ_LIMIT 10000                        /* packets in flows (not the fast path): sch->limit */
#define FQ_FLOW_LIMIT 100                     /* packets per flow */
#define FQ_QUANTUM 3028                       /* bytes: credit per round, 2 * (1500 + 14) */
#define FQ_INITIAL_QUANTUM 15140              /* bytes: credit of a new flow, 10 * (1500 + 14) */
#define FQ_REFILL_DELAY_NS 40000000ULL        /* an idle flow coming back after this gets a quantum */
#define FQ_ORPHAN_MASK 1023                   /* flow = hash & orphan_mask */
#define FQ_CE_THRESHOLD_NS 4294967295000ULL   /* ns late before CE marking (~off) */
#define FQ_HORIZON_NS (10 * NSEC_PER_SEC)     /* tstamp further ahead than this is refused */
#define FQ_HORIZON_DROP 1                     /* 1: drop beyond the horizon; 0: cap tstamp to it */
#define FQ_TIMER_SLACK_NS 0                   /* watchdog slack */
#define FQ_BANDS 3                            /* the twin's bands, served by WRR */
#define FQ_BAND 1                             /* every packet's band (the twin's for priority 0) */
#define FQ_WEIGHT0 (9 << 16)                  /* band quanta, bytes (the twin's weights) */
#define FQ_WEIGHT1 (3 << 16)
#define FQ_WEIGHT2 (1 << 16)

#define FQ_FLOWS (FQ_ORPHAN_MASK + 1)
#define FQ_FASTPATH_MAX 8                     /* fast-path queue length that ends the fast path */
#define FQ_MAX_STEPS (1 << 23)                /* bound of one dequeue's flow walk (as the twin) */
#define FQ_NO_TIME (~0ULL)

/* ---- objects ---- */

/* A queued packet. */
struct skb_node {
	__u64 time_to_send;
	__u64 seq; /* arrival order: equal times leave in arrival order */
	struct sk_buff __kptr *skb;
	struct bpf_rb_node node;
};

/* A flow. Referenced by its fq_flows slot always, and by the new or old list or the delayed tree
 * while active (hence the refcount: a type with two kinds of node needs one). */
struct fq_flow_node {
	int credit;
	__u32 qlen;
	__u64 age;              /* when it became detached */
	__u64 time_next_packet; /* set when it is throttled */
	__u64 delayed_seq;      /* throttling order: ties in the delayed tree */
	__u32 detached;         /* on no list and not throttled */
	__u32 band;             /* Linux's f->band: 0 until its first packet is queued, then FQ_BAND */
	struct bpf_list_node list_node;
	struct bpf_rb_node rb_node;
	struct bpf_rb_root queue __contains(skb_node, node);
	struct bpf_spin_lock lock; /* guards queue */
	struct bpf_refcount refcount;
};

struct fq_stashed_flow {
	struct fq_flow_node __kptr *flow;
};

/* flow id (hash & orphan_mask) -> the flow */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQ_FLOWS);
	__type(key, __u32);
	__type(value, struct fq_stashed_flow);
} fq_flows SEC(".maps");

/* Throttled flows by (time_next_packet, throttling order). */
private(A) struct bpf_spin_lock fq_delayed_lock;
private(A) struct bpf_rb_root fq_delayed __contains(fq_flow_node, rb_node);
/* Band FQ_BAND's round robin: flows that became active since their last turn, then the others. */
private(B) struct bpf_spin_lock fq_new_flows_lock;
private(B) struct bpf_list_head fq_new_flows __contains(fq_flow_node, list_node);
private(C) struct bpf_spin_lock fq_old_flows_lock;
private(C) struct bpf_list_head fq_old_flows __contains(fq_flow_node, list_node);
/* Band 0's new flows. A flow joins the new list of the band it had before its packet's band is
 * recorded (as the twin and Linux), so a brand new flow's first activation lands here; every other
 * move goes to band FQ_BAND's lists. Band 0's old list and band 2's lists stay empty. */
private(E) struct bpf_spin_lock fq_band0_flows_lock;
private(E) struct bpf_list_head fq_band0_flows __contains(fq_flow_node, list_node);
/* The fast path (Linux's q->internal): served first, in (time_to_send, arrival) order. */
private(D) struct bpf_spin_lock fq_internal_lock;
private(D) struct bpf_rb_root fq_internal __contains(skb_node, node);

/* Scalar state and the twin's statistics (Linux's fq xstats). */
struct fq_state {
	__u64 time_next_delayed_flow; /* earliest time_next_packet in fq_delayed; FQ_NO_TIME if none */
	__u64 unthrottle_latency_ns;
	__u64 pkt_seq;
	__u64 delayed_seq;
	__u32 flows;                  /* flows ever created (since the last reset) */
	__u32 inactive_flows;         /* of them, those without packets */
	__u32 throttled_flows;
	__u32 band_pkt_count;         /* packets in flows: sch->limit applies to it */
	__u32 internal_qlen;          /* packets on the fast path */
	__u32 band_nr;                /* band being served */
	__s32 band_credit[FQ_BANDS];  /* bytes the band may still send in its WRR turn */
	__u32 pad;
	__u64 stat_throttled;
	__u64 stat_fastpath_packets;
	__u64 stat_band_drops;
	__u64 stat_ce_mark;
	__u64 stat_horizon_drops;
	__u64 stat_horizon_caps;
	__u64 stat_flows_plimit;
	__u64 stat_allocation_errors;
};

struct fq_state fq;

/* ---- comparisons (bpf_rbtree_add callbacks) ---- */

static bool skb_node_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct skb_node *x = container_of(a, struct skb_node, node);
	struct skb_node *y = container_of(b, struct skb_node, node);

	return x->time_to_send < y->time_to_send ||
	       (x->time_to_send == y->time_to_send && x->seq < y->seq);
}

static bool flow_delayed_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct fq_flow_node *x = container_of(a, struct fq_flow_node, rb_node);
	struct fq_flow_node *y = container_of(b, struct fq_flow_node, rb_node);

	return x->time_next_packet < y->time_next_packet ||
	       (x->time_next_packet == y->time_next_packet && x->delayed_seq < y->delayed_seq);
}

/* ---- bands ---- */

static __always_inline __s32 *band_credit(__u32 band)
{
	if (band >= FQ_BANDS)
		band = 0;
	barrier_var(band); /* index with the register compared (clang may compare a copy) */
	return &fq.band_credit[band];
}

static __always_inline __s32 band_quantum(__u32 band)
{
	return band == 0 ? FQ_WEIGHT0 : band == 1 ? FQ_WEIGHT1 : FQ_WEIGHT2;
}

/* ---- flow lists (each call consumes the reference f) ---- */

static __always_inline void old_flows_add_tail(struct fq_flow_node *f)
{
	bpf_spin_lock(&fq_old_flows_lock);
	bpf_list_push_back(&fq_old_flows, &f->list_node);
	bpf_spin_unlock(&fq_old_flows_lock);
}

/* Puts f back at the head of the list of `band` it was taken from (it keeps its turn). */
static __always_inline void flows_add_head(struct fq_flow_node *f, __u32 band, bool new_list)
{
	if (band == 0) {
		bpf_spin_lock(&fq_band0_flows_lock);
		bpf_list_push_front(&fq_band0_flows, &f->list_node);
		bpf_spin_unlock(&fq_band0_flows_lock);
	} else if (new_list) {
		bpf_spin_lock(&fq_new_flows_lock);
		bpf_list_push_front(&fq_new_flows, &f->list_node);
		bpf_spin_unlock(&fq_new_flows_lock);
	} else {
		bpf_spin_lock(&fq_old_flows_lock);
		bpf_list_push_front(&fq_old_flows, &f->list_node);
		bpf_spin_unlock(&fq_old_flows_lock);
	}
}

/* The first flow of band's new list, else of its old one; NULL when both are empty. */
static __always_inline struct fq_flow_node *flows_pop_head(__u32 band, bool *new_list)
{
	struct bpf_list_node *ln;

	if (band == 0) {
		bpf_spin_lock(&fq_band0_flows_lock);
		ln = bpf_list_pop_front(&fq_band0_flows);
		bpf_spin_unlock(&fq_band0_flows_lock);
		*new_list = true;
		return ln ? container_of(ln, struct fq_flow_node, list_node) : NULL;
	}
	*new_list = false;
	if (band != FQ_BAND)
		return NULL; /* band 2 never has flows */
	bpf_spin_lock(&fq_new_flows_lock);
	ln = bpf_list_pop_front(&fq_new_flows);
	bpf_spin_unlock(&fq_new_flows_lock);
	*new_list = ln != NULL;
	if (!ln) {
		bpf_spin_lock(&fq_old_flows_lock);
		ln = bpf_list_pop_front(&fq_old_flows);
		bpf_spin_unlock(&fq_old_flows_lock);
		if (!ln)
			return NULL;
	}
	return container_of(ln, struct fq_flow_node, list_node);
}

/* Moves f (its time_next_packet set) to the delayed tree; consumes the reference. */
static __always_inline void flow_set_throttled(struct fq_flow_node *f)
{
	__u64 tnp = f->time_next_packet;

	f->delayed_seq = fq.delayed_seq++;
	fq.throttled_flows++;
	fq.stat_throttled++;
	if (fq.time_next_delayed_flow > tnp)
		fq.time_next_delayed_flow = tnp;
	bpf_spin_lock(&fq_delayed_lock);
	bpf_rbtree_add(&fq_delayed, &f->rb_node, flow_delayed_less);
	bpf_spin_unlock(&fq_delayed_lock);
}

/* Linux's fq_check_throttled: flows whose time has come go to the tail of the old list. */
static __always_inline void check_throttled(__u64 now)
{
	__u64 sample, next;
	struct bpf_rb_node *first, *rn;
	int i;

	if (fq.time_next_delayed_flow > now)
		return;
	/* EWMA of how late the unthrottling is (diagnostics, as Linux) */
	sample = now - fq.time_next_delayed_flow;
	if ((__s64)sample > 0) {
		fq.unthrottle_latency_ns -= fq.unthrottle_latency_ns >> 3;
		fq.unthrottle_latency_ns += sample >> 3;
	}
	fq.time_next_delayed_flow = FQ_NO_TIME;
	bpf_for(i, 0, FQ_FLOWS + 1) {
		next = FQ_NO_TIME;
		rn = NULL;
		bpf_spin_lock(&fq_delayed_lock);
		first = bpf_rbtree_first(&fq_delayed);
		if (first) {
			next = container_of(first, struct fq_flow_node, rb_node)->time_next_packet;
			if (next <= now)
				rn = bpf_rbtree_remove(&fq_delayed, first);
		}
		bpf_spin_unlock(&fq_delayed_lock);
		if (!rn) {
			if (next > now) /* the earliest still waiting (FQ_NO_TIME if none) */
				fq.time_next_delayed_flow = next;
			break;
		}
		fq.throttled_flows--;
		old_flows_add_tail(container_of(rn, struct fq_flow_node, rb_node));
	}
}

/* ---- enqueue ---- */

static __always_inline int fq_drop(struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	sch->qstats.drops++;
	bpf_qdisc_skb_drop(skb, to_free);
	return NET_XMIT_DROP;
}

/* Linux's fq_fastpath_check: nothing to be fair about, so the packet may skip the flows. */
static __always_inline int fastpath_ok(struct Qdisc *sch, __u64 tts, __u64 now)
{
	if (tts > now)
		return 0;
	if (sch->q.qlen) {
		if (fq.flows != fq.inactive_flows + fq.throttled_flows)
			return 0;
		if (fq.internal_qlen >= FQ_FASTPATH_MAX)
			return 0;
		if (fq.time_next_delayed_flow <= now)
			return 0;
	}
	return 1; /* maxrate unlimited */
}

/* The slot of flow `id`, created empty on first use; NULL only if the map refuses it. */
static __always_inline struct fq_stashed_flow *flow_slot(__u32 id)
{
	struct fq_stashed_flow empty = {}, *slot;

	slot = bpf_map_lookup_elem(&fq_flows, &id);
	if (slot)
		return slot;
	bpf_map_update_elem(&fq_flows, &id, &empty, BPF_NOEXIST);
	return bpf_map_lookup_elem(&fq_flows, &id);
}

/* Flow `id` taken out of its slot (created, detached with initial_quantum, on first use). */
static __always_inline struct fq_flow_node *flow_take(struct fq_stashed_flow *slot, __u64 now)
{
	struct fq_flow_node *f;

	f = bpf_kptr_xchg(&slot->flow, NULL);
	if (f)
		return f;
	f = bpf_obj_new(struct fq_flow_node);
	if (!f)
		return NULL;
	f->credit = FQ_INITIAL_QUANTUM;
	f->qlen = 0;
	f->age = now;
	f->time_next_packet = 0;
	f->delayed_seq = 0;
	f->detached = 1;
	f->band = 0; /* as the twin's zeroed flow */
	fq.flows++;
	fq.inactive_flows++;
	return f;
}

/* Back into its slot (the slot was emptied by flow_take, so nothing comes out). */
static __always_inline void flow_put(struct fq_stashed_flow *slot, struct fq_flow_node *f)
{
	f = bpf_kptr_xchg(&slot->flow, f);
	if (f)
		bpf_obj_drop(f);
}

SEC("struct_ops/bpf_fq_enqueue")
int BPF_PROG(bpf_fq_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	unsigned int len = qdisc_pkt_len(skb);
	struct fq_stashed_flow *slot;
	struct fq_flow_node *f, *ref;
	struct skb_node *n;
	struct sk_buff *old;
	__u64 now, tts;

	if (fq.band_pkt_count >= sch->limit) {
		fq.stat_band_drops++;
		return fq_drop(skb, sch, to_free);
	}

	now = bpf_ktime_get_ns();
	tts = skb->tstamp;
	if (!tts) {
		tts = now;
	} else if ((__s64)tts > (__s64)(now + FQ_HORIZON_NS)) {
		if (FQ_HORIZON_DROP) {
			fq.stat_horizon_drops++;
			return fq_drop(skb, sch, to_free);
		}
		fq.stat_horizon_caps++;
		tts = now + FQ_HORIZON_NS;
		skb->tstamp = tts;
	}

	if (fastpath_ok(sch, tts, now)) {
		fq.stat_fastpath_packets++;
		n = bpf_obj_new(struct skb_node);
		if (!n) {
			fq.stat_allocation_errors++;
			return fq_drop(skb, sch, to_free);
		}
		n->time_to_send = tts;
		n->seq = fq.pkt_seq++;
		old = bpf_kptr_xchg(&n->skb, skb);
		if (old) /* never: the node is new */
			bpf_kfree_skb(old);
		bpf_spin_lock(&fq_internal_lock);
		bpf_rbtree_add(&fq_internal, &n->node, skb_node_less);
		bpf_spin_unlock(&fq_internal_lock);
		fq.internal_qlen++;
		sch->q.qlen++;
		sch->qstats.backlog += len;
		return NET_XMIT_SUCCESS;
	}

	slot = flow_slot(bpf_skb_get_hash(skb) & FQ_ORPHAN_MASK);
	if (!slot) {
		fq.stat_allocation_errors++;
		return fq_drop(skb, sch, to_free);
	}
	f = flow_take(slot, now);
	if (!f) {
		fq.stat_allocation_errors++;
		return fq_drop(skb, sch, to_free);
	}
	if (f->qlen >= FQ_FLOW_LIMIT) {
		fq.stat_flows_plimit++;
		flow_put(slot, f);
		return fq_drop(skb, sch, to_free);
	}
	n = bpf_obj_new(struct skb_node);
	if (!n) {
		fq.stat_allocation_errors++;
		flow_put(slot, f);
		return fq_drop(skb, sch, to_free);
	}
	n->time_to_send = tts;
	n->seq = fq.pkt_seq++;
	old = bpf_kptr_xchg(&n->skb, skb);
	if (old)
		bpf_kfree_skb(old);
	bpf_spin_lock(&f->lock);
	bpf_rbtree_add(&f->queue, &n->node, skb_node_less);
	bpf_spin_unlock(&f->lock);

	if (f->detached) {
		/* Becomes active: to the tail of the new flows of the band it had so far (band 0 for a
		 * brand new flow, as the twin), with a fresh quantum if it was idle for refill_delay
		 * (max_t(u32, credit, quantum), as Linux). */
		f->detached = 0;
		if (now > f->age + FQ_REFILL_DELAY_NS && (__u32)f->credit < FQ_QUANTUM)
			f->credit = FQ_QUANTUM;
		ref = bpf_refcount_acquire(f);
		if (ref) {
			if (f->band == 0) {
				bpf_spin_lock(&fq_band0_flows_lock);
				bpf_list_push_back(&fq_band0_flows, &ref->list_node);
				bpf_spin_unlock(&fq_band0_flows_lock);
			} else {
				bpf_spin_lock(&fq_new_flows_lock);
				bpf_list_push_back(&fq_new_flows, &ref->list_node);
				bpf_spin_unlock(&fq_new_flows_lock);
			}
		}
	}
	f->band = FQ_BAND;
	fq.band_pkt_count++;
	if (f->qlen == 0)
		fq.inactive_flows--;
	f->qlen++;
	flow_put(slot, f);

	sch->q.qlen++;
	sch->qstats.backlog += len;
	return NET_XMIT_SUCCESS;
}

/* ---- dequeue ---- */

static __always_inline struct sk_buff *fq_dequeued(struct Qdisc *sch, struct sk_buff *skb)
{
	sch->q.qlen--;
	sch->qstats.backlog -= qdisc_pkt_len(skb);
	bpf_qdisc_bstats_update(sch, skb);
	return skb;
}

/* The first packet of the fast path, or NULL. */
static __always_inline struct sk_buff *internal_take(void)
{
	struct bpf_rb_node *first, *rn = NULL;
	struct skb_node *n;
	struct sk_buff *skb;

	bpf_spin_lock(&fq_internal_lock);
	first = bpf_rbtree_first(&fq_internal);
	if (first)
		rn = bpf_rbtree_remove(&fq_internal, first);
	bpf_spin_unlock(&fq_internal_lock);
	if (!rn)
		return NULL;
	n = container_of(rn, struct skb_node, node);
	skb = bpf_kptr_xchg(&n->skb, NULL);
	bpf_obj_drop(n);
	return skb;
}

SEC("struct_ops/bpf_fq_dequeue")
struct sk_buff *BPF_PROG(bpf_fq_dequeue, struct Qdisc *sch)
{
	struct bpf_rb_node *first, *rn;
	struct sk_buff *skb = NULL;
	struct fq_flow_node *f;
	struct skb_node *n;
	bool new_list;
	int throttle;
	__u64 now, tts, tnp;
	__u32 band, retry = 0;
	__s32 *credit, q;
	int i;

	if (!sch->q.qlen)
		return NULL;

	if (fq.internal_qlen) {
		skb = internal_take();
		if (skb) {
			fq.internal_qlen--;
			return fq_dequeued(sch, skb);
		}
	}

	now = bpf_ktime_get_ns();
	check_throttled(now);

	/* Linux's fq_dequeue loop: each step handles the head flow of the band's new list, else of
	 * its old one, until one has a packet that is due. */
	bpf_for(i, 0, FQ_MAX_STEPS) {
		band = fq.band_nr;
		f = NULL;
		if (*band_credit(band) > 0)
			f = flows_pop_head(band, &new_list);
		if (!f) {
			/* The band's turn is over or it has no active flow: the next band, its credit
			 * refilled by its weight (min(credit + weight, weight)); give up after FQ_BANDS
			 * bands in a row without flows (the delayed tree may hold flows). */
			if (++retry > FQ_BANDS)
				break;
			band = band + 1 < FQ_BANDS ? band + 1 : 0;
			fq.band_nr = band;
			credit = band_credit(band);
			q = band_quantum(band);
			*credit = *credit + q < q ? *credit + q : q;
			if (*credit <= 0)
				retry = 0;
			continue;
		}
		retry = 0;

		if (f->credit <= 0) {
			/* Round used up: a new quantum, to the back of the old flows. */
			f->credit += FQ_QUANTUM;
			old_flows_add_tail(f);
			continue;
		}

		/* The flow's next packet: due, not yet due, or none. */
		tnp = 0;
		throttle = 0;
		rn = NULL;
		bpf_spin_lock(&f->lock);
		first = bpf_rbtree_first(&f->queue);
		if (first) {
			tts = container_of(first, struct skb_node, node)->time_to_send;
			tnp = tts > f->time_next_packet ? tts : f->time_next_packet;
			if (now < tnp)
				throttle = 1;
			else
				rn = bpf_rbtree_remove(&f->queue, first);
		}
		bpf_spin_unlock(&f->lock);

		if (rn) {
			n = container_of(rn, struct skb_node, node);
			skb = bpf_kptr_xchg(&n->skb, NULL);
			bpf_obj_drop(n);
			if (--f->qlen == 0)
				fq.inactive_flows++;
			fq.band_pkt_count--;
			/* The twin CE-marks here; struct_ops cannot, it only counts. */
			if ((__s64)(now - tnp - FQ_CE_THRESHOLD_NS) > 0)
				fq.stat_ce_mark++;
			if (skb) {
				f->credit -= skb->len;
				*band_credit(band) -= skb->len;
			}
			/* The flow keeps its place at the head of its list. */
			flows_add_head(f, band, new_list);
			break;
		}
		if (throttle) {
			f->time_next_packet = tnp;
			flow_set_throttled(f);
			continue;
		}
		/* Empty. A new flow makes one pass through the old list (no starvation of the old
		 * flows); an old one is detached (it stays in fq_flows with its credit). */
		if (new_list) {
			old_flows_add_tail(f);
		} else {
			f->detached = 1;
			f->age = now;
			bpf_obj_drop(f); /* the list's reference; fq_flows keeps the flow */
		}
	}

	if (skb)
		return fq_dequeued(sch, skb);
	if (fq.time_next_delayed_flow != FQ_NO_TIME) {
		sch->qstats.overlimits++;
		bpf_qdisc_watchdog_schedule(sch, fq.time_next_delayed_flow, FQ_TIMER_SLACK_NS);
	}
	return NULL;
}

/* ---- init, reset, destroy ---- */

SEC("struct_ops/bpf_fq_init")
int BPF_PROG(bpf_fq_init, struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	sch->limit = FQ_LIMIT;
	fq.time_next_delayed_flow = FQ_NO_TIME;
	return 0;
}

/* Frees every flow and packet and forgets all state, as the twin's reset (the engine resets
 * its maps and globals). */
/* Drops the list's references to its flows. */
static __always_inline void fq_drop_flows(struct bpf_spin_lock *lock, struct bpf_list_head *head)
{
	struct bpf_list_node *ln;
	int i;

	bpf_for(i, 0, FQ_FLOWS + 1) {
		bpf_spin_lock(lock);
		ln = bpf_list_pop_front(head);
		bpf_spin_unlock(lock);
		if (!ln)
			break;
		bpf_obj_drop(container_of(ln, struct fq_flow_node, list_node));
	}
}

static __always_inline void fq_purge(void)
{
	struct bpf_rb_node *first, *rn;
	struct sk_buff *skb;
	struct skb_node *n;
	__u32 key;
	int i;

	/* The lists' and the tree's references to flows. */
	fq_drop_flows(&fq_band0_flows_lock, &fq_band0_flows);
	fq_drop_flows(&fq_new_flows_lock, &fq_new_flows);
	fq_drop_flows(&fq_old_flows_lock, &fq_old_flows);
	bpf_for(i, 0, FQ_FLOWS + 1) {
		rn = NULL;
		bpf_spin_lock(&fq_delayed_lock);
		first = bpf_rbtree_first(&fq_delayed);
		if (first)
			rn = bpf_rbtree_remove(&fq_delayed, first);
		bpf_spin_unlock(&fq_delayed_lock);
		if (!rn)
			break;
		bpf_obj_drop(container_of(rn, struct fq_flow_node, rb_node));
	}
	/* The fast path's packets. */
	bpf_for(i, 0, FQ_MAX_STEPS) {
		rn = NULL;
		bpf_spin_lock(&fq_internal_lock);
		first = bpf_rbtree_first(&fq_internal);
		if (first)
			rn = bpf_rbtree_remove(&fq_internal, first);
		bpf_spin_unlock(&fq_internal_lock);
		if (!rn)
			break;
		n = container_of(rn, struct skb_node, node);
		skb = bpf_kptr_xchg(&n->skb, NULL);
		bpf_obj_drop(n);
		if (skb)
			bpf_kfree_skb(skb);
	}
	/* The flows themselves: deleting a slot drops the last reference, which frees the flow with
	 * its packet tree and the packets in it. */
	bpf_for(i, 0, FQ_FLOWS) {
		key = i;
		bpf_map_delete_elem(&fq_flows, &key);
	}
	__builtin_memset(&fq, 0, sizeof(fq));
	fq.time_next_delayed_flow = FQ_NO_TIME;
}

SEC("struct_ops/bpf_fq_reset")
void BPF_PROG(bpf_fq_reset, struct Qdisc *sch)
{
	fq_purge();
	sch->q.qlen = 0;
	sch->qstats.backlog = 0;
}

/* Linux resets a qdisc before destroying it; purging again costs little. */
SEC("struct_ops/bpf_fq_destroy")
void BPF_PROG(bpf_fq_destroy, struct Qdisc *sch)
{
	fq_purge();
}

SEC(".struct_ops.link")
struct Qdisc_ops fq_ops = {
	.enqueue = (void *)bpf_fq_enqueue,
	.dequeue = (void *)bpf_fq_dequeue,
	.init = (void *)bpf_fq_init,
	.reset = (void *)bpf_fq_reset,
	.destroy = (void *)bpf_fq_destroy,
	.id = "bpf_fq",
};

char _license[] SEC("license") = "GPL";
