/* Refused: RFC v7's enqueue may write only skb->tstamp and skb->cb. */
#include "v7_list_fifo.h"

SEC("qdisc/enqueue")
int bad_enqueue(struct bpf_qdisc_ctx *ctx)
{
	ctx->skb->mark = 7;
	return queue_skb(ctx->skb) ? SCH_BPF_QUEUED : SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int bad_dequeue(struct bpf_qdisc_ctx *ctx)
{
	return dequeue_head();
}
