/* eiffel: a rank scheduler on Eiffel's bucketed priority queue (A. Saeed, Y. Zhao, N.
 * Dukkipati, E. Zegura, M. Ammar, K. Harras, A. Vahdat, "Eiffel: Efficient and Flexible Software
 * Packet Scheduling", NSDI 2019). There is no Linux sch_eiffel.c: this follows the paper.
 *
 * Eiffel keeps packets in buckets of integer ranks and finds the first non-empty bucket with
 * find-first-set over a hierarchical bitmap (cFFS), O(1) per operation. bpfq's PIFO map is that
 * structure (docs/maps.md); this program is the policy around it: rank = skb->priority (a rank
 * stamped by a classifier or the sender: a deadline, a remaining size, a slack), bucketed by
 * `granularity` (bucket = rank / granularity, Eiffel's approximate ranks), buckets beyond the
 * last (65535) clamped into it. Dequeue: the lowest bucket, FIFO within a bucket.
 *
 * Packets are kptrs in a HASH keyed by an arrival number; the PIFO holds the numbers (PIFO values
 * cannot hold references). Ranks stay in the PIFO's primary window [0, 65536), so it never
 * rotates. Parameters: limit (packets, 1000, 1..65535; an arrival to a full qdisc is dropped),
 * granularity (rank units per bucket, 1). */
#include <bpfq/bpf/sch_bpf.h>

#define MAX_PACKETS 65536
#define BUCKETS 65536
#define EINVAL 22

const volatile bpfq_count limit = 1000;
const volatile bpfq_count granularity = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PIFO);
	__uint(max_entries, MAX_PACKETS);
	__uint(map_extra, BUCKETS);
	__type(key, __u32);
	__type(value, __u64); /* the packet's arrival number */
} pq SEC(".maps");

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u32 len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PACKETS);
	__type(key, __u64);
	__type(value, struct pkt);
} packets SEC(".maps");

__u64 seq;
__u32 qlen;
__u32 backlog;

SEC("qdisc/init")
int eiffel_init(struct sch_bpf_ctx *ctx)
{
	if (limit == 0 || limit >= MAX_PACKETS) {
		bpf_printk("eiffel: limit %u not in 1..%u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	if (granularity == 0) {
		bpf_printk("eiffel: granularity must be at least 1");
		return -EINVAL;
	}
	return 0;
}

SEC("qdisc/enqueue")
int eiffel_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 len = skb->wire_len;
	__u64 bucket = skb->priority / granularity;
	struct pkt empty = {.len = len}, *p;
	struct sk_buff *ref;
	__u64 id = seq;

	if (qlen >= limit)
		return SCH_BPF_DROP;
	if (bucket > BUCKETS - 1)
		bucket = BUCKETS - 1;
	if (bpf_map_update_elem(&packets, &id, &empty, BPF_NOEXIST))
		return SCH_BPF_DROP;
	p = bpf_map_lookup_elem(&packets, &id);
	if (!p)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(&packets, &id);
		return SCH_BPF_DROP;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref) /* cannot happen: the entry is new */
		bpf_skb_release(ref);
	if (bpf_map_push_elem(&pq, &id, bucket)) {
		bpf_map_delete_elem(&packets, &id); /* releases the reference */
		return SCH_BPF_DROP;
	}
	seq++;
	qlen++;
	backlog += len;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int eiffel_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb;
	struct pkt *p;
	__u64 id;

	ctx->skb = NULL;
	if (bpf_map_pop_elem(&pq, &id))
		return SCH_BPF_DEQUEUED;
	p = bpf_map_lookup_elem(&packets, &id);
	if (!p)
		return SCH_BPF_DEQUEUED;
	qlen--;
	backlog -= p->len;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&packets, &id);
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
