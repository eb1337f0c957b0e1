/* The shortest FIFO: the seed's earlier skb-map API (push a packet with a rank, pop the lowest),
 * on a PIFO-backed packet queue. Parameter: limit (packets). */
#include <bpfq/bpf/sch_bpf.h>

const volatile bpfq_count limit = 1000;

BPFQ_SKB_QUEUE(queue, 65536, 1024);

SEC("qdisc/enqueue")
int fifo_enqueue(struct sch_bpf_ctx *ctx)
{
	if (bpf_skb_queue_len(&queue) >= limit)
		return SCH_BPF_DROP;
	return bpf_skb_queue_push(&queue, skb_ref(ctx->skb), 0) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int fifo_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = skb_view(bpf_skb_queue_pop(&queue));
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
