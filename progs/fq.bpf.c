/* fq: Linux's Fair Queue packet scheduler (net/sched/sch_fq.c, the 3-band version) as a bpfq
 * program. Flows are served round robin with a byte credit (new flows first), packets leave no
 * earlier than their time_to_send (EDT: skb->tstamp, else the arrival time), and a flow may be
 * paced to maxrate; flows waiting for their next packet's time sit in the delayed-flow rbtree,
 * and dequeue asks the watchdog to come back when the earliest of them is due.
 *
 * Differences from Linux (docs/qdiscs/fq.md): bpfq has no sockets, so every packet is an
 * "orphan" and its flow is bpf_skb_get_hash() & orphan_mask, an index into a fixed flow table
 * (at most FQ_MAX_FLOWS flows; `buckets` has no meaning); flows are never garbage-collected
 * (an idle flow costs one table slot); times are nanoseconds, not jiffies; the watchdog has no
 * slack.
 *
 * Packets: each flow is Linux's pair of a linear list (time_to_send non-decreasing, the common
 * case) and an rbtree for packets that arrive with an earlier time_to_send than the tail's.
 * The linear list is the `linear` hash keyed by (flow, sequence number) between the flow's
 * head_seq and tail_seq; the rbtree part is `t_root`, keyed big-endian by (flow, time_to_send,
 * sequence), with each flow's minimum cached in its state. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define FQ_BANDS 3
#define FQ_MIN_WEIGHT 16384         /* uapi pkt_sched.h */
#define FQ_MAX_FLOWS 16384          /* flow table size: orphan_mask must be below it */
#define FQ_INTERNAL FQ_MAX_FLOWS    /* the fast-path queue (Linux's q->internal) */
#define FQ_MAX_PACKETS 65536        /* capacity of the packet maps */
#define FQ_NONE 0xffffffffu         /* end of a flow list */
#define FQ_FASTPATH_MAX 8           /* fast-path queue length that ends the fast path */
#define FQ_MAX_STEPS (1 << 23)      /* bpf_loop bound for one dequeue's flow walk */
#define NSEC_PER_SEC 1000000000ull
#define TC_PRIO_MASK 15             /* TC_PRIO_MAX */

/* ---- parameters (tc-fq option names; Linux defaults) ---- */
const volatile bpfq_count limit = 10000;              /* packets per band */
const volatile bpfq_count flow_limit = 100;           /* packets per flow */
const volatile bpfq_size_bytes quantum = 3028;             /* bytes: 2 * (1500 + 14) */
const volatile bpfq_size_bytes initial_quantum = 15140;    /* bytes: 10 * (1500 + 14) */
const volatile bpfq_rate_Bps maxrate = ~0ull;            /* bytes/s per flow; ~0: unlimited */
const volatile bpfq_time_ns refill_delay = 40000000;    /* ns an idle flow waits for a fresh quantum */
const volatile bpfq_count orphan_mask = 1023;         /* flow index = hash & orphan_mask */
const volatile bpfq_rate_Bps low_rate_threshold = 68750; /* bytes/s (550 kbit): below it, no burst */
const volatile bpfq_time_ns ce_threshold = 4294967295000ull; /* ns late before CE marking (~off) */
const volatile bpfq_time_ns horizon = 10 * NSEC_PER_SEC;    /* ns: tstamp further ahead is refused */
const volatile bpfq_count horizon_drop = 1;           /* 1: drop beyond horizon; 0: cap to it */
const volatile bpfq_count pacing = 1;                 /* tc pacing / nopacing (rate_enable) */
const volatile bpfq_time_ns offload_horizon = 0;        /* ns of pacing the device would do */
const volatile __u8 priomap[16] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
const volatile __s32 weights[FQ_BANDS] = {9 << 16, 3 << 16, 1 << 16}; /* band quanta, bytes */

/* ---- state ---- */
struct fq_flow {
	__u32 qlen;
	__s32 credit;
	__u32 band;             /* band of the last packet enqueued (Linux's f->band) */
	__u32 next;             /* next flow in its new/old list */
	__u64 time_next_packet;
	__u64 age;              /* when the flow became detached */
	__u32 allocated;
	__u32 detached;         /* on no list and not throttled */
	__u32 head_seq;         /* linear list: (flow, head_seq) .. (flow, tail_seq - 1) */
	__u32 tail_seq;
	__u64 tail_tts;         /* time_to_send of the linear list's tail */
	__u32 t_count;          /* packets in t_root */
	__u32 t_min_seq;        /* key of the smallest of them */
	__u64 t_min_tts;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FQ_MAX_FLOWS + 1);
	__type(key, __u32);
	__type(value, struct fq_flow);
} flow_table SEC(".maps");

struct pkt_slot {
	struct sk_buff __kptr_ref *skb;
	__u64 time_to_send;
	__u32 band;
	__u32 pad;
};

struct linear_key {
	__u32 flow;
	__u32 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQ_MAX_PACKETS);
	__type(key, struct linear_key);
	__type(value, struct pkt_slot);
} linear SEC(".maps");

struct tree_key {
	__u64 hi; /* big-endian flow << 32 | time_to_send >> 32 */
	__u64 lo; /* big-endian time_to_send << 32 | sequence */
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, FQ_MAX_PACKETS);
	__type(key, struct tree_key);
	__type(value, struct pkt_slot);
} t_root SEC(".maps");

/* Throttled flows by (time_next_packet, insertion order): Linux's q->delayed, where equal
 * times keep insertion order. */
struct delayed_key {
	__u64 time_be;
	__u64 seq_be;
};

struct delayed_flow {
	__u64 time_next_packet;
	__u32 flow;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, FQ_MAX_FLOWS + 1);
	__type(key, struct delayed_key);
	__type(value, struct delayed_flow);
} delayed SEC(".maps");

struct flow_list {
	__u32 first;
	__u32 last;
};

struct band_flows {
	struct flow_list new_flows;
	struct flow_list old_flows;
	__s32 credit;
	__s32 quantum;
};

struct band_flows band_flows[FQ_BANDS];
__u32 band_nr; /* band being served */
__u32 qlen;    /* packets queued, fast path included (sch->q.qlen) */
__u32 band_pkt_count[FQ_BANDS];
__u32 tree_seq;
__u64 delayed_seq;

/* Linux's fq xstats (tc -s qdisc show dev X) */
__u32 flows;
__u32 inactive_flows;
__u32 throttled_flows;
__u64 time_next_delayed_flow;
__u64 unthrottle_latency_ns;
__u64 stat_throttled;
__u64 stat_gc_flows; /* always 0: flows are not garbage-collected */
__u64 stat_fastpath_packets;
__u64 stat_band_drops[FQ_BANDS];
__u64 stat_ce_mark;
__u64 stat_horizon_drops;
__u64 stat_horizon_caps;
__u64 stat_flows_plimit;
__u64 stat_pkts_too_long;
__u64 stat_allocation_errors; /* a packet map was full */

static __always_inline struct fq_flow *flow_at(__u32 id)
{
	return bpf_map_lookup_elem(&flow_table, &id);
}

static __always_inline struct band_flows *band_at(__u32 band)
{
	if (band >= FQ_BANDS)
		band = 0;
	barrier_var(band); /* index with the register compared (clang may compare a copy) */
	return &band_flows[band];
}

static __always_inline struct tree_key tree_key_of(__u32 flow, __u64 tts, __u32 seq)
{
	struct tree_key k = {
		.hi = bpf_cpu_to_be64(((__u64)flow << 32) | (tts >> 32)),
		.lo = bpf_cpu_to_be64((tts << 32) | seq),
	};
	return k;
}

/* ---- flow lists ---- */

static void flow_add_tail(__u32 id, struct fq_flow *f, int old)
{
	struct band_flows *pb = band_at(f->band);
	struct flow_list *l = old ? &pb->old_flows : &pb->new_flows;

	if (l->first != FQ_NONE) {
		struct fq_flow *last = flow_at(l->last);

		if (last)
			last->next = id;
	} else {
		l->first = id;
	}
	l->last = id;
	f->next = FQ_NONE;
}

static void flow_set_throttled(__u32 id, struct fq_flow *f)
{
	struct delayed_key k = {
		.time_be = bpf_cpu_to_be64(f->time_next_packet),
		.seq_be = bpf_cpu_to_be64(delayed_seq++),
	};
	struct delayed_flow d = {.time_next_packet = f->time_next_packet, .flow = id};

	/* Cannot fail: the tree holds one entry per flow at most. */
	bpf_map_update_elem(&delayed, &k, &d, BPF_NOEXIST);
	throttled_flows++;
	stat_throttled++;
	if (time_next_delayed_flow > f->time_next_packet)
		time_next_delayed_flow = f->time_next_packet;
}

static long unthrottle_one(__u32 i, __u64 *now)
{
	struct delayed_flow d;
	struct fq_flow *f;

	if (bpf_map_peek_elem(&delayed, &d))
		return 1;
	if (d.time_next_packet > *now) {
		time_next_delayed_flow = d.time_next_packet;
		return 1;
	}
	bpf_map_pop_elem(&delayed, &d);
	throttled_flows--;
	f = flow_at(d.flow);
	if (f)
		flow_add_tail(d.flow, f, 1);
	return 0;
}

static void check_throttled(__u64 now)
{
	__u64 sample;

	if (time_next_delayed_flow > now + offload_horizon)
		return;
	/* EWMA of how late the unthrottling is, as Linux keeps it for diagnosis. */
	sample = now - time_next_delayed_flow;
	if ((__s64)sample > 0) {
		unthrottle_latency_ns -= unthrottle_latency_ns >> 3;
		unthrottle_latency_ns += sample >> 3;
	}
	now += offload_horizon;
	time_next_delayed_flow = ~0ull;
	bpf_loop(FQ_MAX_FLOWS + 1, unthrottle_one, &now, 0);
}

/* ---- per-flow packet queue ---- */

struct tree_scan {
	__u32 flow;
	__u32 found;
	__u32 seq;
	__u64 tts;
};

static long find_flow_min(void *map, struct tree_key *key, struct pkt_slot *s, struct tree_scan *scan)
{
	__u64 hi = bpf_be64_to_cpu(key->hi), lo = bpf_be64_to_cpu(key->lo);
	__u32 flow = hi >> 32;

	if (flow < scan->flow)
		return 0;
	if (flow == scan->flow) {
		scan->found = 1;
		scan->tts = (hi << 32) | (lo >> 32);
		scan->seq = (__u32)lo;
	}
	return 1;
}

/* Queues a packet (a new reference to skb) on flow id, as Linux's flow_queue_add. */
static int flow_queue_add(__u32 id, struct fq_flow *f, struct __sk_buff *skb, __u64 tts, __u32 band)
{
	struct pkt_slot empty = {.time_to_send = tts, .band = band}, *s;
	struct sk_buff *ref;
	int in_order = f->head_seq == f->tail_seq || tts >= f->tail_tts;
	struct linear_key lk = {.flow = id, .seq = f->tail_seq};
	struct tree_key tk = tree_key_of(id, tts, tree_seq);

	if (in_order) {
		if (bpf_map_update_elem(&linear, &lk, &empty, BPF_NOEXIST))
			return -1;
		s = bpf_map_lookup_elem(&linear, &lk);
	} else {
		if (bpf_map_update_elem(&t_root, &tk, &empty, BPF_NOEXIST))
			return -1;
		s = bpf_map_lookup_elem(&t_root, &tk);
	}
	if (!s)
		return -1;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref)
		return -1;
	ref = bpf_kptr_xchg(&s->skb, ref);
	if (ref)
		bpf_skb_release(ref);

	if (in_order) {
		f->tail_seq++;
		f->tail_tts = tts;
	} else {
		if (!f->t_count || tts < f->t_min_tts) {
			f->t_min_tts = tts;
			f->t_min_seq = tree_seq;
		}
		f->t_count++;
		tree_seq++;
	}
	return 0;
}

/* The time_to_send of the packet fq_peek() would pick; 0 if the flow has none. */
static int flow_peek(__u32 id, struct fq_flow *f, __u64 *tts)
{
	struct linear_key lk = {.flow = id, .seq = f->head_seq};
	struct pkt_slot *head = NULL;

	if (f->head_seq != f->tail_seq)
		head = bpf_map_lookup_elem(&linear, &lk);
	if (f->t_count && (!head || f->t_min_tts < head->time_to_send)) {
		*tts = f->t_min_tts;
		return 1;
	}
	if (!head)
		return 0;
	*tts = head->time_to_send;
	return 1;
}

/* Takes the packet flow_peek() chose out of the flow; returns it with its band. */
static struct sk_buff *flow_take_head(__u32 id, struct fq_flow *f, __u32 *band)
{
	struct linear_key lk = {.flow = id, .seq = f->head_seq};
	struct pkt_slot *head = NULL, *s;
	struct sk_buff *skb;

	if (f->head_seq != f->tail_seq)
		head = bpf_map_lookup_elem(&linear, &lk);
	if (f->t_count && (!head || f->t_min_tts < head->time_to_send)) {
		struct tree_key tk = tree_key_of(id, f->t_min_tts, f->t_min_seq);
		struct tree_scan scan = {.flow = id};

		s = bpf_map_lookup_elem(&t_root, &tk);
		if (!s)
			return NULL;
		skb = bpf_kptr_xchg(&s->skb, NULL);
		*band = s->band;
		bpf_map_delete_elem(&t_root, &tk);
		if (--f->t_count) {
			/* The next smallest key of this flow: out-of-order packets are rare. */
			bpf_for_each_map_elem(&t_root, find_flow_min, &scan, 0);
			f->t_min_tts = scan.tts;
			f->t_min_seq = scan.seq;
		}
		return skb;
	}
	if (!head)
		return NULL;
	skb = bpf_kptr_xchg(&head->skb, NULL);
	*band = head->band;
	bpf_map_delete_elem(&linear, &lk);
	f->head_seq++;
	return skb;
}

/* ---- enqueue ---- */

/* Linux's fq_fastpath_check: nothing to be fair about, so the packet may skip the flows. */
static int fastpath_ok(__u64 tts, __u64 now)
{
	struct fq_flow *internal;

	if (tts > now + offload_horizon)
		return 0;
	if (qlen) {
		if (flows != inactive_flows + throttled_flows)
			return 0;
		internal = flow_at(FQ_INTERNAL);
		if (!internal || internal->qlen >= FQ_FASTPATH_MAX)
			return 0;
		if (time_next_delayed_flow <= now + offload_horizon)
			return 0;
	}
	return maxrate == ~0ull;
}

static __u32 classify(struct __sk_buff *skb, __u64 tts, __u64 now)
{
	__u32 id;
	struct fq_flow *f;

	if (fastpath_ok(tts, now)) {
		stat_fastpath_packets++;
		return FQ_INTERNAL;
	}
	id = bpf_skb_get_hash(skb_ref(skb)) & orphan_mask;
	f = flow_at(id);
	if (f && !f->allocated) {
		f->allocated = 1;
		f->detached = 1;
		f->age = now;
		f->credit = initial_quantum;
		flows++;
		inactive_flows++;
	}
	return id;
}

SEC("qdisc/enqueue")
int fq_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 band = priomap[skb->priority & TC_PRIO_MASK], id;
	struct fq_flow *f;
	__u64 now, tts;

	if (band >= FQ_BANDS)
		band = 0;
	if (band_pkt_count[band] >= limit) {
		stat_band_drops[band]++;
		return SCH_BPF_DROP;
	}

	now = bpf_ktime_get_ns();
	if (!skb->tstamp) {
		tts = now;
	} else {
		if ((__s64)skb->tstamp > (__s64)(now + horizon)) {
			if (horizon_drop) {
				stat_horizon_drops++;
				return SCH_BPF_DROP;
			}
			stat_horizon_caps++;
			skb->tstamp = now + horizon;
		}
		tts = skb->tstamp;
	}

	id = classify(skb, tts, now);
	f = flow_at(id);
	if (!f)
		return SCH_BPF_DROP;
	if (id != FQ_INTERNAL && f->qlen >= flow_limit) {
		stat_flows_plimit++;
		return SCH_BPF_DROP;
	}
	if (flow_queue_add(id, f, skb, tts, band)) {
		stat_allocation_errors++;
		return SCH_BPF_DROP;
	}
	if (id != FQ_INTERNAL) {
		if (f->detached) {
			/* As Linux: the list is the one of the band the flow had so far. */
			flow_add_tail(id, f, 0);
			f->detached = 0;
			/* max_t(u32, ...) as Linux; a detached flow's credit is positive anyway. */
			if (now > f->age + refill_delay && (__u32)f->credit < quantum)
				f->credit = quantum;
		}
		f->band = band;
		band_pkt_count[band]++;
		if (f->qlen == 0)
			inactive_flows--;
	}
	f->qlen++;
	qlen++;
	return SCH_BPF_QUEUED;
}

/* ---- dequeue ---- */

struct dequeue_walk {
	__u64 now;
	__u64 time_next_packet; /* of the chosen flow's packet */
	__u32 flow;             /* chosen flow */
	__u32 found;
	__u32 retry;
};

/* One pass of Linux's fq_dequeue loop ("goto begin"): 1 when a flow with an eligible packet
 * is found or every band is empty. */
static long dequeue_step(__u32 i, struct dequeue_walk *w)
{
	struct band_flows *pb = band_at(band_nr);
	struct flow_list *head = NULL;
	struct fq_flow *f;
	__u64 tts, tnp;
	__u32 id;

	if (pb->credit > 0) {
		if (pb->new_flows.first != FQ_NONE)
			head = &pb->new_flows;
		else if (pb->old_flows.first != FQ_NONE)
			head = &pb->old_flows;
	}
	if (!head) {
		/* Next band, refilled by its weight; give up after FQ_BANDS empty bands. */
		if (++w->retry > FQ_BANDS)
			return 1;
		if (++band_nr == FQ_BANDS)
			band_nr = 0;
		pb = band_at(band_nr);
		pb->credit = pb->credit + pb->quantum < pb->quantum ? pb->credit + pb->quantum : pb->quantum;
		if (pb->credit <= 0)
			w->retry = 0;
		return 0;
	}

	id = head->first;
	f = flow_at(id);
	if (!f)
		return 1;
	w->retry = 0;
	if (f->credit <= 0) {
		f->credit += quantum;
		head->first = f->next;
		flow_add_tail(id, f, 1);
		return 0;
	}
	if (flow_peek(id, f, &tts)) {
		tnp = tts > f->time_next_packet ? tts : f->time_next_packet;
		if (w->now + offload_horizon < tnp) {
			head->first = f->next;
			f->time_next_packet = tnp;
			flow_set_throttled(id, f);
			return 0;
		}
		w->flow = id;
		w->time_next_packet = tnp;
		w->found = 1;
		return 1;
	}
	/* An empty flow: a new one makes a pass through the old list first (no starvation). */
	head->first = f->next;
	if (head == &pb->new_flows) {
		flow_add_tail(id, f, 1);
	} else {
		f->detached = 1;
		f->age = w->now;
	}
	return 0;
}

SEC("qdisc/dequeue")
int fq_dequeue(struct sch_bpf_ctx *ctx)
{
	struct dequeue_walk w = {};
	struct fq_flow *f;
	struct sk_buff *skb;
	struct __sk_buff *view;
	__u32 band = 0, plen;
	__u64 rate, len;

	ctx->skb = NULL;
	if (!qlen)
		return SCH_BPF_DEQUEUED;

	f = flow_at(FQ_INTERNAL);
	if (f && f->qlen) {
		skb = flow_take_head(FQ_INTERNAL, f, &band);
		if (skb) {
			f->qlen--;
			qlen--;
			ctx->skb = skb_view(skb);
			return SCH_BPF_DEQUEUED;
		}
	}

	w.now = bpf_ktime_get_ns();
	check_throttled(w.now);
	bpf_loop(FQ_MAX_STEPS, dequeue_step, &w, 0);
	if (!w.found) {
		if (time_next_delayed_flow != ~0ull) {
			ctx->delay = time_next_delayed_flow - w.now;
			return SCH_BPF_THROTTLE;
		}
		return SCH_BPF_DEQUEUED;
	}

	f = flow_at(w.flow);
	if (!f)
		return SCH_BPF_DEQUEUED;
	skb = flow_take_head(w.flow, f, &band);
	if (!skb)
		return SCH_BPF_DEQUEUED;
	view = skb_view(skb);
	qlen--;
	if ((__s64)(w.now - w.time_next_packet - ce_threshold) > 0) {
		bpf_skb_ecn_set_ce(view);
		stat_ce_mark++;
	}
	if (--f->qlen == 0)
		inactive_flows++;
	band_pkt_count[band < FQ_BANDS ? band : 0]--;

	plen = view->len;
	f->credit -= plen;
	band_at(band_nr)->credit -= plen;

	if (pacing) {
		rate = maxrate;
		/* An EDT packet (tstamp set) moves time_next_packet only under maxrate. */
		if (!view->tstamp) {
			if (rate <= low_rate_threshold) {
				f->credit = 0;
			} else {
				if (plen < quantum)
					plen = quantum;
				if (f->credit > 0)
					goto out;
			}
		}
		if (rate != ~0ull) {
			len = (__u64)plen * NSEC_PER_SEC;
			if (rate)
				len /= rate;
			/* Linux clamps the gap to 1 s (a huge packet at a low rate). */
			if (len > NSEC_PER_SEC) {
				len = NSEC_PER_SEC;
				stat_pkts_too_long++;
			}
			/* Forgive lateness of the dequeue, up to half the gap. */
			if (f->time_next_packet) {
				__u64 late = w.now - f->time_next_packet;

				len -= len / 2 < late ? len / 2 : late;
			}
			f->time_next_packet = w.now + len;
		}
	}
out:
	ctx->skb = view;
	return SCH_BPF_DEQUEUED;
}

/* ---- init: checks parameters as fq_change does and sets derived state ---- */

SEC("qdisc/init")
int fq_init(struct sch_bpf_ctx *ctx)
{
	struct fq_flow *internal;
	int b, i;

	if (orphan_mask >= FQ_MAX_FLOWS) {
		bpf_printk("fq: orphan_mask %u must be below %u (the flow table)", orphan_mask, FQ_MAX_FLOWS);
		return 1;
	}
	if (!quantum || quantum > (1 << 20)) {
		bpf_printk("fq: invalid quantum %u (1 .. 1048576)", quantum);
		return 2;
	}
	if (initial_quantum > 0x7fffffff) {
		bpf_printk("fq: invalid initial_quantum %u (at most 2^31 - 1)", initial_quantum);
		return 3;
	}
	for (b = 0; b < FQ_BANDS; b++) {
		if (weights[b] < FQ_MIN_WEIGHT) {
			bpf_printk("fq: weight %d below the minimum %d", weights[b], FQ_MIN_WEIGHT);
			return 4;
		}
		band_flows[b].quantum = weights[b];
		band_flows[b].credit = 0;
		band_flows[b].new_flows.first = FQ_NONE;
		band_flows[b].old_flows.first = FQ_NONE;
	}
	for (i = 0; i < 16; i++) {
		if (priomap[i] >= FQ_BANDS) {
			bpf_printk("fq: priomap field %d maps to band %d (fq has 3)", i, priomap[i]);
			return 5;
		}
	}
	time_next_delayed_flow = ~0ull;
	internal = flow_at(FQ_INTERNAL);
	if (internal) {
		internal->allocated = 1;
		internal->next = FQ_NONE;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
