/* bfifo (Linux net/sched/sch_fifo.c): one FIFO with a limit in bytes. An arriving packet is
 * tail-dropped when the backlog plus its length (qdisc_pkt_len, __sk_buff.wire_len) would
 * exceed `limit`.
 * Parameter: limit (bytes). Linux's default is tx_queue_len * psched_mtu = 1000 * (1500 + 14). */
#include <bpfq/bpf/sch_bpf.h>

const volatile bpfq_size_bytes limit = 1000 * 1514;

BPFQ_SKB_QUEUE(queue, 65536, 1);

__u64 backlog; /* bytes queued: the wire_len of every packet in `queue` */

SEC("qdisc/enqueue")
int bfifo_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 len = ctx->skb->wire_len;

	if (backlog + len > limit)
		return SCH_BPF_DROP;
	if (bpf_skb_queue_push(&queue, skb_ref(ctx->skb), 0))
		return SCH_BPF_DROP;
	backlog += len;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int bfifo_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = bpf_skb_queue_pop(&queue);

	if (skb)
		backlog -= skb_view(skb)->wire_len;
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
