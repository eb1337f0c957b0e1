/* wf2q: WF2Q+ (J. C. R. Bennett, H. Zhang, "Hierarchical Packet Fair Queueing Algorithms",
 * SIGCOMM 1996 / IEEE/ACM ToN 1997). There is no Linux sch_wf2q.c: this follows the paper.
 *
 * Each backlogged flow i has the tags of its head packet: when a packet arrives to an empty flow
 * S_i = max(F_i, V), else (when the previous head leaves) S_i = F_i; and F_i = S_i + len / w_i.
 * Dequeue serves, among ELIGIBLE flows (S_i <= V), the one with the smallest F_i. The system
 * virtual time is WF2Q+'s V(t + tau) = max(V(t) + W(t, t + tau), min_{i backlogged} S_i): before
 * each selection V is raised to the smallest start tag, after it V grows by the work done, the
 * packet's length divided by the total weight of the backlogged flows (rates r_i = w_i / sum w).
 *
 * Flows are bpf_skb_get_hash; weight w_i = flow_weight[skb->priority] (HASH map user space
 * fills), else `weight`. Tags are bytes * 2^16 / weight (u64).
 * Packets are kptrs in a HASH keyed by (flow, per-flow sequence number), a FIFO per flow. Flows
 * are in one of two RBTREEs: `pending` by (S, n) (backlogged, not eligible yet) and `eligible`
 * by (F, n) (n: insertion number, for ties). A flow that empties leaves its F in an LRU_HASH.
 * Parameters: limit (packets, default 1000, 1..65535), weight (default 1). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define MAX_PACKETS 65536
#define MAX_FLOWS 65536
#define TAG_SHIFT 16
#define EINVAL 22

const volatile bpfq_count limit = 1000;
const volatile bpfq_count weight = 1;

struct pkt_key {
	__u32 flow;
	__u32 pad;
	__u64 fseq;
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

/* A backlogged flow. */
struct flow {
	__u64 start;  /* S of the head packet */
	__u64 finish; /* F of the head packet */
	__u64 head;   /* FIFO [head, tail) */
	__u64 tail;
	__u32 weight;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

/* F of flows that emptied. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} idle_finish SEC(".maps");

struct tag_key {
	__u64 tag_be;
	__u64 n_be;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct tag_key); /* (S, n) */
	__type(value, __u32);        /* flow */
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct tag_key); /* (F, n) */
	__type(value, __u32);
} eligible SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u32);
} flow_weight SEC(".maps");

__u64 vtime;      /* V */
__u64 weight_sum; /* total weight of the backlogged flows */
__u64 n;          /* tree insertion counter */
__u32 qlen;
__u32 backlog;

SEC("qdisc/init")
int wf2q_init(struct sch_bpf_ctx *ctx)
{
	if (limit == 0 || limit >= MAX_PACKETS) {
		bpf_printk("wf2q: limit %u not in 1..%u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	if (weight == 0) {
		bpf_printk("wf2q: weight must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static __always_inline void tree_put(void *tree, __u64 tag, __u32 flow)
{
	struct tag_key k = {.tag_be = bpf_cpu_to_be64(tag), .n_be = bpf_cpu_to_be64(n)};

	bpf_map_update_elem(tree, &k, &flow, BPF_NOEXIST);
	n++;
}

SEC("qdisc/enqueue")
int wf2q_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 len = skb->wire_len;
	__u32 prio = skb->priority;
	__u32 h = bpf_skb_get_hash(skb_ref(skb));
	struct pkt empty = {.len = len}, *p;
	struct flow nf = {}, *f;
	struct pkt_key pk = {};
	struct sk_buff *ref;
	__u32 *wp;
	__u64 *idle;
	int fresh = 0;

	if (qlen >= limit)
		return SCH_BPF_DROP;
	f = bpf_map_lookup_elem(&flows, &h);
	if (!f) {
		nf.weight = weight;
		wp = bpf_map_lookup_elem(&flow_weight, &prio);
		if (wp && *wp)
			nf.weight = *wp;
		idle = bpf_map_lookup_elem(&idle_finish, &h);
		nf.start = vtime;
		if (idle && *idle > nf.start)
			nf.start = *idle;
		nf.finish = nf.start + (((__u64)len << TAG_SHIFT) / nf.weight);
		if (bpf_map_update_elem(&flows, &h, &nf, BPF_NOEXIST))
			return SCH_BPF_DROP;
		f = bpf_map_lookup_elem(&flows, &h);
		if (!f)
			return SCH_BPF_DROP;
		fresh = 1;
	}
	pk.flow = h;
	pk.fseq = f->tail;
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
	f->tail++;
	if (fresh) {
		weight_sum += f->weight;
		tree_put(&pending, f->start, h);
	}
	qlen++;
	backlog += len;
	return SCH_BPF_QUEUED;
fail:
	if (fresh)
		bpf_map_delete_elem(&flows, &h);
	return SCH_BPF_DROP;
}

struct first {
	struct tag_key key;
	__u32 flow;
	int found;
};

static long first_visit(void *map, struct tag_key *key, __u32 *flow, struct first *out)
{
	out->key = *key;
	out->flow = *flow;
	out->found = 1;
	return 1;
}

/* bpf_loop callback: moves the head of `pending` to `eligible` while its S <= V. */
static long promote(__u32 i, void *unused)
{
	struct first fst = {};
	struct flow *f;

	bpf_for_each_map_elem(&pending, first_visit, &fst, 0);
	if (!fst.found || bpf_be64_to_cpu(fst.key.tag_be) > vtime)
		return 1;
	bpf_map_delete_elem(&pending, &fst.key);
	f = bpf_map_lookup_elem(&flows, &fst.flow);
	if (f)
		tree_put(&eligible, f->finish, fst.flow);
	return 0;
}

SEC("qdisc/dequeue")
int wf2q_dequeue(struct sch_bpf_ctx *ctx)
{
	struct first fst = {};
	struct pkt_key pk = {};
	struct sk_buff *skb;
	struct pkt *p;
	struct flow *f;
	__u32 len;
	__u64 ws;

	ctx->skb = NULL;
	if (qlen == 0)
		return SCH_BPF_DEQUEUED;
	/* V = max(V, min S): with no eligible flow the smallest S is pending's head. */
	bpf_for_each_map_elem(&eligible, first_visit, &fst, 0);
	if (!fst.found) {
		bpf_for_each_map_elem(&pending, first_visit, &fst, 0);
		if (!fst.found)
			return SCH_BPF_DEQUEUED; /* cannot happen: qlen > 0 */
		if (bpf_be64_to_cpu(fst.key.tag_be) > vtime)
			vtime = bpf_be64_to_cpu(fst.key.tag_be);
	}
	bpf_loop(MAX_FLOWS + 1, promote, NULL, 0);

	fst.found = 0;
	bpf_for_each_map_elem(&eligible, first_visit, &fst, 0);
	if (!fst.found)
		return SCH_BPF_DEQUEUED; /* cannot happen */
	bpf_map_delete_elem(&eligible, &fst.key);
	f = bpf_map_lookup_elem(&flows, &fst.flow);
	if (!f)
		return SCH_BPF_DEQUEUED;

	pk.flow = fst.flow;
	pk.fseq = f->head;
	p = bpf_map_lookup_elem(&packets, &pk);
	if (!p)
		return SCH_BPF_DEQUEUED; /* cannot happen: no holes, drops are of arrivals only */
	len = p->len;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&packets, &pk);
	f->head++;
	qlen--;
	backlog -= len;

	/* V += W: the work done, shared by the backlogged flows in proportion to their weights. */
	ws = weight_sum ? weight_sum : 1;
	vtime += ((__u64)len << TAG_SHIFT) / ws;

	if (f->head != f->tail) {
		pk.fseq = f->head;
		p = bpf_map_lookup_elem(&packets, &pk);
		len = p ? p->len : 0;
		f->start = f->finish;
		f->finish = f->start + (((__u64)len << TAG_SHIFT) / (f->weight ? f->weight : 1));
		tree_put(&pending, f->start, fst.flow);
	} else {
		__u64 fin = f->finish;

		weight_sum -= f->weight;
		bpf_map_update_elem(&idle_finish, &fst.flow, &fin, BPF_ANY);
		bpf_map_delete_elem(&flows, &fst.flow);
	}
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
