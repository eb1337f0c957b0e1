/* A FIFO whose every `every`-th dequeue takes the head packet out of its slot and then spends the
 * run's callback budget (2^23 calls in all): the second bpf_loop ends the run while the program
 * holds the packet. The verifier accepts it (no path leaks), so it runs unchecked, without a list
 * of the references it holds: the fault is what must not lose the packet. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>

const volatile bpfq_count every = 3;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct slot);
} queue SEC(".maps");

__u64 seq;
__u64 dequeues;

static long spin(__u64 index, void *data)
{
	return 0;
}

SEC("qdisc/enqueue")
int budget_enqueue(struct sch_bpf_ctx *ctx)
{
	return rbtree_enqueue_tail(&queue, &seq, ctx->skb) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int budget_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;

	ctx->skb = NULL;
	if (!rbtree_take_head(&queue, &h))
		return SCH_BPF_DEQUEUED;
	bpf_map_delete_elem(&queue, &h.key);
	if (++dequeues % every == 0) {
		bpf_loop(1 << 23, spin, NULL, 0);
		bpf_loop(1, spin, NULL, 0); /* call 2^23 + 1: the run ends here */
	}
	ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
