/* Refused: an object from bpf_obj_new that no path frees, stores or queues. */
#include "v7_list_fifo.h"

SEC("qdisc/enqueue")
int bad_enqueue(struct bpf_qdisc_ctx *ctx)
{
	struct skb_node *n = bpf_obj_new(struct skb_node);

	if (!n)
		return SCH_BPF_DROP;
	return queue_skb(ctx->skb) ? SCH_BPF_QUEUED : SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int bad_dequeue(struct bpf_qdisc_ctx *ctx)
{
	return dequeue_head();
}
