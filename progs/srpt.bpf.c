/* srpt: pFabric's priority queue (Alizadeh et al., "pFabric: Minimal Near-Optimal Datacenter
 * Transport", SIGCOMM 2013), i.e. shortest-remaining-processing-time (SRPT) scheduling, or least
 * attained service (LAS) when the sender says nothing. There is no Linux sch_srpt.c: this follows
 * the paper.
 *
 * Rank of a packet (smaller = more urgent):
 *   mode 0 (srpt): skb->priority if non-zero (the sender's remaining flow size in bytes, as a
 *                  pFabric host stamps it), else the LAS rank below;
 *   mode 1 (las):  the bytes of its flow accepted before it (attained service).
 * Flows are bpf_skb_get_hash (the 5-tuple hash).
 * Dequeue (pFabric's starvation prevention): find the packet with the smallest rank, then send
 * the EARLIEST queued packet of that packet's flow, so a flow's packets never reorder.
 * Full (`limit` packets): pFabric's drop rule, the packet with the largest rank goes: the arrival
 * if its rank is at or above every queued rank (ties: the newest loses), else the queued packet of
 * largest rank (the newest among equal ranks) is dropped and the arrival is queued.
 *
 * Packets are kptrs in a HASH keyed by (flow, per-flow sequence number): a flow's FIFO is
 * [head, tail); a packet dropped from its middle leaves a hole that the dequeue skips. Two RBTREE
 * indexes find the minimum rank (key rank, seq) and the maximum (key ~rank, ~seq) in O(log n).
 *
 * Parameters: limit (packets, default 1000, 1..65535), mode (0 srpt, 1 las). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define MAX_PACKETS 65536
#define MAX_FLOWS 65536
#define EINVAL 22

const volatile bpfq_count limit = 1000;
const volatile bpfq_count mode = 0; /* 0: srpt (skb->priority, LAS when 0), 1: las */

struct pkt_key {
	__u32 flow;
	__u32 pad;
	__u64 fseq;
};

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u64 rank;
	__u64 seq; /* global arrival number (the index keys) */
	__u32 len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct pkt_key);
	__type(value, struct pkt);
} packets SEC(".maps");

/* Index key, big-endian so that memcmp order is numeric order. */
struct rank_key {
	__u64 rank_be;
	__u64 seq_be;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct rank_key); /* (rank, seq): the minimum is the next to serve */
	__type(value, struct pkt_key);
} by_rank SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct rank_key); /* (~rank, ~seq): the minimum is the drop victim */
	__type(value, struct pkt_key);
} by_rank_desc SEC(".maps");

/* A flow with packets queued: its FIFO [head, tail) and the packets in it. */
struct flow {
	__u64 head;
	__u64 tail;
	__u32 qlen;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

/* Attained service per flow (bytes accepted so far), the LAS rank; kept after a flow empties, the
 * least recently used forgotten first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} attained SEC(".maps");

__u64 seq;       /* arrival counter */
__u32 qlen;      /* packets queued */
__u32 backlog;   /* bytes queued */
__u64 evictions; /* queued packets dropped by the drop rule */

SEC("qdisc/init")
int srpt_init(struct sch_bpf_ctx *ctx)
{
	if (limit == 0 || limit >= MAX_PACKETS) {
		bpf_printk("srpt: limit %u not in 1..%u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	if (mode > 1) {
		bpf_printk("srpt: mode %u unknown (0 srpt, 1 las)", mode);
		return -EINVAL;
	}
	return 0;
}

static __always_inline struct rank_key asc_key(__u64 rank, __u64 s)
{
	struct rank_key k = {.rank_be = bpf_cpu_to_be64(rank), .seq_be = bpf_cpu_to_be64(s)};
	return k;
}

static __always_inline struct rank_key desc_key(__u64 rank, __u64 s)
{
	struct rank_key k = {.rank_be = bpf_cpu_to_be64(~rank), .seq_be = bpf_cpu_to_be64(~s)};
	return k;
}

struct first {
	struct pkt_key pk;
	int found;
};

/* for_each callback: an rbtree is visited in key order; keep the first value and stop. */
static long first_visit(void *map, struct rank_key *key, struct pkt_key *val, struct first *out)
{
	out->pk = *val;
	out->found = 1;
	return 1;
}

/* Takes packet pk out of every map and returns its reference (NULL if there was none). */
static struct sk_buff *take(struct pkt_key *pk)
{
	struct pkt *p = bpf_map_lookup_elem(&packets, pk);
	struct rank_key k;
	struct sk_buff *skb;
	struct flow *f;

	if (!p)
		return NULL;
	k = asc_key(p->rank, p->seq);
	bpf_map_delete_elem(&by_rank, &k);
	k = desc_key(p->rank, p->seq);
	bpf_map_delete_elem(&by_rank_desc, &k);
	qlen--;
	backlog -= p->len;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&packets, pk);
	f = bpf_map_lookup_elem(&flows, &pk->flow);
	if (f) {
		f->qlen--;
		if (f->qlen == 0)
			bpf_map_delete_elem(&flows, &pk->flow);
	}
	return skb;
}

SEC("qdisc/enqueue")
int srpt_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 len = skb->wire_len;
	__u32 h = bpf_skb_get_hash(skb_ref(skb));
	struct flow nf = {}, *f;
	struct pkt empty = {}, *p;
	struct pkt_key pk;
	struct rank_key k;
	struct sk_buff *ref;
	__u64 rank, *att;

	att = bpf_map_lookup_elem(&attained, &h);
	if (mode == 0 && skb->priority != 0)
		rank = skb->priority;
	else
		rank = att ? *att : 0;

	if (qlen >= limit) {
		struct first victim = {};

		bpf_for_each_map_elem(&by_rank_desc, first_visit, &victim, 0);
		if (!victim.found)
			return SCH_BPF_DROP;
		p = bpf_map_lookup_elem(&packets, &victim.pk);
		if (!p || rank >= p->rank)
			return SCH_BPF_DROP; /* the arrival has the largest rank */
		ref = take(&victim.pk);
		if (ref)
			bpf_skb_release(ref); /* counted by the engine as dropped by the program */
		evictions++;
	}

	f = bpf_map_lookup_elem(&flows, &h);
	if (!f) {
		if (bpf_map_update_elem(&flows, &h, &nf, BPF_NOEXIST))
			return SCH_BPF_DROP;
		f = bpf_map_lookup_elem(&flows, &h);
		if (!f)
			return SCH_BPF_DROP;
	}
	pk.flow = h;
	pk.pad = 0;
	pk.fseq = f->tail;
	empty.rank = rank;
	empty.seq = seq;
	empty.len = len;
	if (bpf_map_update_elem(&packets, &pk, &empty, BPF_NOEXIST))
		goto fail;
	p = bpf_map_lookup_elem(&packets, &pk);
	if (!p)
		goto fail;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(&packets, &pk);
		goto fail;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref) /* cannot happen: the entry is new */
		bpf_skb_release(ref);
	k = asc_key(rank, seq);
	bpf_map_update_elem(&by_rank, &k, &pk, BPF_NOEXIST);
	k = desc_key(rank, seq);
	bpf_map_update_elem(&by_rank_desc, &k, &pk, BPF_NOEXIST);
	f->tail++;
	f->qlen++;
	seq++;
	qlen++;
	backlog += len;
	if (att) {
		*att += len;
	} else {
		__u64 a = len;

		bpf_map_update_elem(&attained, &h, &a, BPF_ANY);
	}
	return SCH_BPF_QUEUED;
fail:
	if (f->qlen == 0)
		bpf_map_delete_elem(&flows, &h);
	return SCH_BPF_DROP;
}

struct head_walk {
	struct pkt_key pk;
	__u64 tail;
	int found;
};

/* bpf_loop callback: the flow's earliest queued packet, skipping holes left by drops. */
static long find_head(__u32 i, struct head_walk *w)
{
	if (w->pk.fseq >= w->tail)
		return 1;
	if (bpf_map_lookup_elem(&packets, &w->pk)) {
		w->found = 1;
		return 1;
	}
	w->pk.fseq++;
	return 0;
}

SEC("qdisc/dequeue")
int srpt_dequeue(struct sch_bpf_ctx *ctx)
{
	struct first best = {};
	struct head_walk w = {};
	struct sk_buff *skb;
	struct flow *f;

	ctx->skb = NULL;
	bpf_for_each_map_elem(&by_rank, first_visit, &best, 0);
	if (!best.found)
		return SCH_BPF_DEQUEUED;
	f = bpf_map_lookup_elem(&flows, &best.pk.flow);
	if (!f)
		return SCH_BPF_DEQUEUED;
	w.pk.flow = best.pk.flow;
	w.pk.fseq = f->head;
	w.tail = f->tail;
	bpf_loop(MAX_PACKETS, find_head, &w, 0);
	if (!w.found)
		w.pk = best.pk; /* cannot happen: best is queued in this flow */
	else
		f->head = w.pk.fseq + 1;
	skb = take(&w.pk); /* may delete the flow: f is not used after this */
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
