/* A FIFO written for sch_bpf RFC v7: packets in graph objects on a list, at most `limit`;
 * the twin of the library's seed-API fifo (progs/fifo.bpf.c). */
#include "v7_list_fifo.h"

const volatile __u32 limit = 1000;

SEC("qdisc/enqueue")
int fifo_enqueue(struct bpf_qdisc_ctx *ctx)
{
	if (q_len >= limit)
		return SCH_BPF_DROP;
	return queue_skb(ctx->skb) ? SCH_BPF_QUEUED : SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int fifo_dequeue(struct bpf_qdisc_ctx *ctx)
{
	return dequeue_head();
}

SEC("qdisc/reset")
void fifo_reset(struct bpf_qdisc_ctx *ctx)
{
	purge();
}
