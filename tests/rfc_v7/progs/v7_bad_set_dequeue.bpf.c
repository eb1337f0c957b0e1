/* Refused: only qdisc/dequeue hands a packet out with bpf_qdisc_set_skb_dequeue. */
#include "v7_common.h"

SEC("qdisc/enqueue")
int bad_enqueue(struct bpf_qdisc_ctx *ctx)
{
	struct sk_buff *skb = bpf_skb_acquire(ctx->skb);

	if (!skb)
		return SCH_BPF_DROP;
	bpf_qdisc_set_skb_dequeue(skb);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int bad_dequeue(struct bpf_qdisc_ctx *ctx)
{
	return SCH_BPF_DROP;
}
