/* pfifo, written the seed's way (sch_bpf RFC v6): packets are references held in the values of
 * an rbtree map keyed by a big-endian sequence number, so the minimum key is the oldest packet.
 * Parameter: limit (packets, default 1000 = Linux's tx_queue_len default). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

const volatile bpfq_count limit = 1000;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 65536);
	__type(key, __u64); /* big-endian sequence number: memcmp order == arrival order */
	__type(value, struct slot);
} queue SEC(".maps");

__u64 tail_seq; /* next sequence number to enqueue */
__u32 qlen;

SEC("qdisc/enqueue")
int pfifo_enqueue(struct sch_bpf_ctx *ctx)
{
	if (qlen >= limit || rbtree_enqueue_tail(&queue, &tail_seq, ctx->skb))
		return SCH_BPF_DROP;
	qlen++;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int pfifo_dequeue(struct sch_bpf_ctx *ctx)
{
	if (rbtree_dequeue_head(ctx, &queue))
		qlen--;
	return SCH_BPF_DEQUEUED; /* ctx->skb NULL: empty */
}

char LICENSE[] SEC("license") = "GPL";
