/* skbprio (Linux net/sched/sch_skbprio.c): SKB Priority Queue. 64 FIFO queues, one per priority
 * min(skb->priority, 63); dequeue serves the head of the highest non-empty priority (63 is the
 * highest). Up to `limit` packets in all; when full, an arriving packet whose priority is at or
 * below the lowest queued priority is dropped, otherwise it is queued and the packet at the tail
 * of the lowest non-empty priority queue is dropped to make room (the "drop lower priority
 * packets under congestion" rule, meant for DoS defences).
 *
 * As Linux, the qdisc keeps highest_prio and lowest_prio (0 and 63 when empty) and rescans
 * between them only when the queue at either end empties (calc_new_high_prio /
 * calc_new_low_prio, bounded loops of at most 64 steps).
 *
 * Packets are kptrs in a hash map keyed by (priority, per-priority sequence number): priority
 * p's FIFO is [q_head[p], q_tail[p]), so enqueue, dequeue and the tail drop are exact lookups.
 * Parameter: limit (packets, default 64, at most 65535).
 * Statistics (per priority, Linux's per-class qstats): prio_qstats[p].backlog (bytes queued),
 * .drops (arrivals refused and tails dropped at priority p) and .enqueued (packets accepted at
 * priority p, a bpfq addition). */
#include <bpfq/bpf/sch_bpf.h>

#define SKBPRIO_MAX_PRIORITY 64
#define MAX_PACKETS 65536 /* hash map entries: limit + the one being enqueued */
#define EINVAL 22

const volatile bpfq_count limit = 64;

struct pkt_key {
	__u32 prio;
	__u32 pad;
	__u64 seq;
};

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u32 len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct pkt_key);
	__type(value, struct pkt);
} packets SEC(".maps");

struct skbprio_qstats {
	__u32 enqueued;
	__u32 drops;
	__u32 backlog;
	__u32 pad;
};

/* Per-priority FIFOs: sequence numbers [q_head[p], q_tail[p]). */
__u64 q_head[SKBPRIO_MAX_PRIORITY];
__u64 q_tail[SKBPRIO_MAX_PRIORITY];

struct skbprio_qstats prio_qstats[SKBPRIO_MAX_PRIORITY];

__u32 highest_prio;
__u32 lowest_prio = SKBPRIO_MAX_PRIORITY - 1;
__u32 qlen;    /* packets queued (sch->q.qlen) */
__u32 backlog; /* bytes queued */

SEC("qdisc/init")
int skbprio_init(struct sch_bpf_ctx *ctx)
{
	if (limit >= MAX_PACKETS) {
		bpf_printk("skbprio: limit %u above %u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	highest_prio = 0;
	lowest_prio = SKBPRIO_MAX_PRIORITY - 1;
	return 0;
}

static __always_inline int queue_empty(__u32 prio)
{
	prio &= SKBPRIO_MAX_PRIORITY - 1;
	return q_head[prio] == q_tail[prio];
}

/* The highest non-empty priority below highest_prio, down to lowest_prio; 0 if none. */
static __u32 calc_new_high_prio(void)
{
	for (__u32 i = 1; i < SKBPRIO_MAX_PRIORITY; i++) {
		__u32 prio = highest_prio - i;

		if ((__s32)prio < (__s32)lowest_prio)
			break;
		if (!queue_empty(prio))
			return prio;
	}
	return 0;
}

/* The lowest non-empty priority above lowest_prio, up to highest_prio; 63 if none. */
static __u32 calc_new_low_prio(void)
{
	for (__u32 i = 1; i < SKBPRIO_MAX_PRIORITY; i++) {
		__u32 prio = lowest_prio + i;

		if (prio > highest_prio)
			break;
		if (!queue_empty(prio))
			return prio;
	}
	return SKBPRIO_MAX_PRIORITY - 1;
}

/* Takes the packet at (prio, seq) out of the map; the caller owns the reference. *len is its
 * length. */
static struct sk_buff *take(__u32 prio, __u64 seq, __u32 *len)
{
	struct pkt_key key = {.prio = prio, .seq = seq};
	struct pkt *p = bpf_map_lookup_elem(&packets, &key);
	struct sk_buff *skb;

	*len = 0;
	if (!p)
		return NULL;
	*len = p->len;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&packets, &key);
	return skb;
}

/* Appends the packet to priority prio's FIFO: 0, or -1 if it could not be stored. */
static int push_tail(__u32 prio, struct __sk_buff *skb, __u32 len)
{
	struct pkt_key key = {.prio = prio, .seq = q_tail[prio & (SKBPRIO_MAX_PRIORITY - 1)]};
	struct pkt empty = {.len = len}, *p;
	struct sk_buff *ref;

	if (bpf_map_update_elem(&packets, &key, &empty, BPF_NOEXIST))
		return -1;
	p = bpf_map_lookup_elem(&packets, &key);
	if (!p)
		return -1;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(&packets, &key);
		return -1;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref) /* cannot happen: the entry is new */
		bpf_skb_release(ref);
	q_tail[prio & (SKBPRIO_MAX_PRIORITY - 1)]++;
	return 0;
}

SEC("qdisc/enqueue")
int skbprio_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 prio = ctx->skb->priority;
	__u32 len = ctx->skb->wire_len;
	struct sk_buff *victim;
	__u32 lp, vlen;

	if (prio > SKBPRIO_MAX_PRIORITY - 1)
		prio = SKBPRIO_MAX_PRIORITY - 1;
	prio &= SKBPRIO_MAX_PRIORITY - 1; /* a no-op that bounds the index for the verifier */

	if (qlen < limit) {
		if (push_tail(prio, ctx->skb, len))
			return SCH_BPF_DROP;
		prio_qstats[prio].enqueued++;
		prio_qstats[prio].backlog += len;
		backlog += len;
		if (prio > highest_prio)
			highest_prio = prio;
		if (prio < lowest_prio)
			lowest_prio = prio;
		qlen++;
		return SCH_BPF_QUEUED;
	}

	/* Full: an arrival of the lowest priority (or lower) is the one dropped. */
	lp = lowest_prio & (SKBPRIO_MAX_PRIORITY - 1);
	if (prio <= lp) {
		prio_qstats[prio].drops++;
		return SCH_BPF_DROP;
	}
	if (push_tail(prio, ctx->skb, len))
		return SCH_BPF_DROP;
	prio_qstats[prio].enqueued++;
	prio_qstats[prio].backlog += len;
	backlog += len;

	/* Drop the packet at the tail of the lowest priority queue. */
	if (q_tail[lp] != q_head[lp]) {
		q_tail[lp]--;
		victim = take(lp, q_tail[lp], &vlen);
		if (victim)
			bpf_skb_release(victim); /* counted by the engine as dropped by the program */
		prio_qstats[lp].backlog -= vlen;
		prio_qstats[lp].drops++;
		backlog -= vlen;
	}

	if (queue_empty(lp)) {
		if (lowest_prio == highest_prio) {
			/* The arriving packet is the only one queued (limit 1). */
			lowest_prio = prio;
			highest_prio = prio;
		} else {
			lowest_prio = calc_new_low_prio();
		}
	}
	if (prio > highest_prio)
		highest_prio = prio;
	/* Linux returns NET_XMIT_CN; for bpfq CN means the offered packet was dropped, and it was
	 * queued. */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int skbprio_dequeue(struct sch_bpf_ctx *ctx)
{
	__u32 hp = highest_prio & (SKBPRIO_MAX_PRIORITY - 1);
	struct sk_buff *skb;
	__u32 len;

	ctx->skb = NULL;
	if (queue_empty(hp))
		return SCH_BPF_DEQUEUED;
	skb = take(hp, q_head[hp], &len);
	q_head[hp]++;
	qlen--;
	backlog -= len;
	prio_qstats[hp].backlog -= len;

	if (queue_empty(hp)) {
		if (lowest_prio == highest_prio) {
			highest_prio = 0;
			lowest_prio = SKBPRIO_MAX_PRIORITY - 1;
		} else {
			highest_prio = calc_new_high_prio();
		}
	}
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
