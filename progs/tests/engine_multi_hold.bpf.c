/* Device-down test: packets held three ways at once. skb->priority picks where a packet waits:
 *   0  a reference in an rbtree map value (the seed's kptr), keyed by big-endian arrival
 *   1  a BPFQ_SKB_QUEUE (the seed's earlier skb-map API)
 *   2  PASSed to child class MAJ:1 (a native pfifo)
 * Dequeue serves them in that order (rbtree, then queue, then the child). A reset must release
 * every one of them and count it; none may leak. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct slot);
} held SEC(".maps");

BPFQ_SKB_QUEUE(fifo, 256, 16);

__u64 seq;
__u64 in_child; /* packets PASSed to MAJ:1 and not yet dequeued */

static __always_inline int hold_in_rbtree(struct __sk_buff *skb)
{
	__u64 key = bpf_cpu_to_be64(seq);
	struct slot empty = {};

	if (map_put_skb(&held, &key, &empty, skb))
		return SCH_BPF_DROP;
	seq++;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int hold_enqueue(struct sch_bpf_ctx *ctx)
{
	switch (ctx->skb->priority) {
	case 0:
		return hold_in_rbtree(ctx->skb);
	case 1:
		return bpf_skb_queue_push(&fifo, skb_ref(ctx->skb), 0) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
	case 2:
		in_child++;
		ctx->classid = (ctx->classid & 0xffff0000) | 1;
		return SCH_BPF_PASS;
	default:
		return SCH_BPF_DROP;
	}
}

SEC("qdisc/dequeue")
int hold_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;

	ctx->skb = NULL;
	if (rbtree_take_head(&held, &h)) {
		bpf_map_delete_elem(&held, &h.key);
		ctx->skb = skb_view(h.skb);
		return SCH_BPF_DEQUEUED;
	}
	if (bpf_skb_queue_len(&fifo)) {
		ctx->skb = skb_view(bpf_skb_queue_pop(&fifo));
		return SCH_BPF_DEQUEUED;
	}
	if (in_child) {
		in_child--;
		ctx->classid = (ctx->classid & 0xffff0000) | 1;
		return SCH_BPF_PASS;
	}
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
