/* choke: Linux's CHOKe (net/sched/sch_choke.c; Pan, Prabhakar, Psounis 2000) as a bpfq program.
 * RED over the queue length in packets, and on every arrival while the average is above min
 * one packet drawn at random from the queue: if it belongs to the arriving packet's flow both
 * are dropped ("CHOose and Keep for responsive flows, CHOose and Kill for unresponsive flows").
 * Packets sit in a ring (an array of slots, holes where a random victim was taken), as Linux's
 * table.
 *
 * Flows are compared by skb hash (bpf_skb_get_hash), where Linux compares the dissected flow
 * keys: two flows whose hashes collide count as one (docs/qdiscs/choke.md).
 *
 * Parameters (tc-choke): limit (packets, default 1000, at most 65535), min and max (packets;
 * 0: max = limit / 4, min = max / 3), avpkt (bytes, 1000), burst (packets; 0: (2 min + max) / 3),
 * probability (max_P, default 2%), bandwidth (bytes/s, 10 Mbit, for idle damping), ecn, harddrop. */
#include <bpfq/bpf/red.h>

#define MAX_TABLE 65536 /* ring slots; Linux allows up to 128k */

const volatile bpfq_count limit = 1000;
const volatile bpfq_count min = 0;
const volatile bpfq_count max = 0;
const volatile bpfq_size_bytes avpkt = 1000;
const volatile bpfq_count burst = 0;
const volatile bpfq_probability probability = 85899346; /* 2% */
const volatile bpfq_rate_Bps bandwidth = 1250000;
const volatile bpfq_count ecn = 0;
const volatile bpfq_count harddrop = 0;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_TABLE);
	__type(key, __u32);
	__type(value, struct slot);
} table SEC(".maps");

__u32 tab_mask; /* ring size - 1 (a power of two minus one) */
__u32 head, tail;
__u32 qlen; /* packets in the ring (holes excluded) */

/* statistics (tc_choke_xstats) */
__u32 prob_drop, prob_mark, forced_drop, forced_mark, pdrop, matched;
__u64 overlimits;

static __always_inline struct slot *slot_at(__u32 idx)
{
	return bpf_map_lookup_elem(&table, &idx);
}

static __always_inline int slot_empty(__u32 idx)
{
	struct slot *s = slot_at(idx);

	return !s || !s->skb;
}

static long zap_head_hole(__u32 i, void *unused)
{
	head = (head + 1) & tab_mask;
	return head == tail || !slot_empty(head);
}

static long zap_tail_hole(__u32 i, void *unused)
{
	tail = (tail - 1) & tab_mask;
	return head == tail || !slot_empty((tail - 1) & tab_mask);
}

/* choke_zap_head_holes / choke_zap_tail_holes: move past the holes at either end. */
static void zap_head_holes(void)
{
	bpf_loop(MAX_TABLE, zap_head_hole, NULL, 0);
}

static void zap_tail_holes(void)
{
	bpf_loop(MAX_TABLE, zap_tail_hole, NULL, 0);
}

/* choke_peek_random: three tries at a random slot between head and tail, else the head. */
static __u32 peek_random(void)
{
	__u32 len = (tail - head) & tab_mask, idx = head;

	for (int tries = 0; tries < 3; tries++) {
		idx = (head + bpf_get_prandom_u32() % len) & tab_mask;
		if (!slot_empty(idx))
			return idx;
	}
	return head;
}

/* choke_match_flow: whether the packet in slot idx has this flow hash. The reference leaves
 * the slot for the kfunc and goes back. */
static int same_flow(__u32 idx, __u32 hash)
{
	struct slot *s = slot_at(idx);
	struct sk_buff *skb;
	int same;

	if (!s)
		return 0;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	if (!skb)
		return 0;
	same = bpf_skb_get_hash(skb) == hash;
	skb = bpf_kptr_xchg(&s->skb, skb);
	if (skb) /* cannot happen: the slot was emptied above */
		bpf_skb_release(skb);
	return same;
}

/* choke_drop_by_idx: the victim leaves a hole (the ends move past theirs). */
static void drop_at(__u32 idx)
{
	struct slot *s = slot_at(idx);
	struct sk_buff *skb;

	if (!s)
		return;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	if (!skb)
		return;
	if (idx == head)
		zap_head_holes();
	if (idx == ((tail - 1) & tab_mask))
		zap_tail_holes();
	qlen--;
	bpf_skb_release(skb);
}

SEC("qdisc/enqueue")
int choke_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	struct sk_buff *ref;
	struct slot *s;

	qavg = red_calc_qavg(qlen, bpf_ktime_get_ns());
	idling = 0;

	if (qavg <= qth_min) {
		qcount = -1;
	} else {
		/* choke_match_random: a random packet of the same flow goes with the arriving one */
		if (head != tail) {
			__u32 idx = peek_random();

			if (same_flow(idx, bpf_skb_get_hash(skb_ref(skb)))) {
				matched++;
				drop_at(idx);
				return SCH_BPF_CN;
			}
		}
		if (qavg > qth_max) {
			qcount = -1;
			overlimits++;
			if (harddrop || !ecn || !bpf_skb_ecn_set_ce(skb)) {
				forced_drop++;
				return SCH_BPF_CN;
			}
			forced_mark++;
		} else if (++qcount) {
			if (red_mark_probability()) {
				qcount = 0;
				qR = red_random();
				overlimits++;
				if (!ecn || !bpf_skb_ecn_set_ce(skb)) {
					prob_drop++;
					return SCH_BPF_CN;
				}
				prob_mark++;
			}
		} else {
			qR = red_random();
		}
	}

	/* admit the packet at the tail */
	if (qlen >= limit) {
		pdrop++;
		return SCH_BPF_DROP;
	}
	s = slot_at(tail);
	if (!s)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref)
		return SCH_BPF_DROP;
	ref = bpf_kptr_xchg(&s->skb, ref);
	if (ref) /* cannot happen: the tail slot is free */
		bpf_skb_release(ref);
	tail = (tail + 1) & tab_mask;
	qlen++;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int choke_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = NULL;
	struct slot *s;

	ctx->skb = NULL;
	if (head == tail) {
		red_start_of_idle_period(bpf_ktime_get_ns());
		return SCH_BPF_DEQUEUED;
	}
	s = slot_at(head);
	if (s)
		skb = bpf_kptr_xchg(&s->skb, NULL);
	zap_head_holes();
	if (skb)
		qlen--;
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/init")
int choke_init(struct sch_bpf_ctx *ctx)
{
	__u32 qmax = max, qmin = min, b = burst, size = 1;
	int w;

	if (!limit || limit >= MAX_TABLE) {
		bpf_printk("choke: limit %u must be 1 .. %u", limit, MAX_TABLE - 1);
		return 1;
	}
	/* tc's defaults (q_choke.c) */
	if (!qmax)
		qmax = qmin ? qmin * 3 : limit / 4;
	if (!qmin)
		qmin = qmax / 3;
	if (!avpkt) {
		bpf_printk("choke: avpkt must be positive");
		return 2;
	}
	if (!b)
		b = (2 * qmin + qmax) / 3;
	w = red_eval_ewma(qmin * avpkt, b, avpkt);
	if (w < 0) {
		bpf_printk("choke: burst %u is too small, try burst %u", b, qmin + 1);
		return 3;
	}
	wlog = w;
	if (fls32(qmin) + wlog >= 32 || fls32(qmax) + wlog >= 32 || qmax < qmin) {
		bpf_printk("choke: invalid thresholds min %u max %u", qmin, qmax);
		return 4;
	}
	if (red_eval_idle_damping(avpkt, bandwidth)) {
		bpf_printk("choke: cannot compute idle damping for bandwidth %llu", bandwidth);
		return 5;
	}
	red_set_parms(qmin, qmax, probability);
	red_set_vars(bpf_ktime_get_ns());

	/* the ring: roundup_pow_of_two(limit + 1) slots */
	for (int i = 0; i < 16 && size < limit + 1; i++)
		size <<= 1;
	tab_mask = size - 1;
	head = tail = 0;
	qlen = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
