/* Every verdict of RFC v7's enqueue, chosen by skb->mark: 1 BYPASS, 2 STOLEN, 3 DROP, 4 CN,
 * 5 THROTTLE (queued, the watchdog at now + mark_delay_ns, slack 1000 ns), anything else QUEUED.
 * A queued packet gets skb->tstamp = its arrival and cb[4] = its mark (the writable fields). */
#include "v7_list_fifo.h"

const volatile __u64 throttle_ns = 1000000;

SEC("qdisc/enqueue")
int verdicts_enqueue(struct bpf_qdisc_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	__u32 mark = skb->mark;

	switch (mark) {
	case 1: return SCH_BPF_BYPASS;
	case 2: return SCH_BPF_STOLEN;
	case 3: return SCH_BPF_DROP;
	case 4: return SCH_BPF_CN;
	}
	skb->tstamp = bpf_ktime_get_ns();
	skb->cb[4] = (char)mark;
	if (!queue_skb(skb))
		return SCH_BPF_DROP;
	if (mark != 5)
		return SCH_BPF_QUEUED;
	ctx->expire = bpf_ktime_get_ns() + throttle_ns;
	ctx->delta_ns = 1000;
	return SCH_BPF_THROTTLE;
}

SEC("qdisc/dequeue")
int verdicts_dequeue(struct bpf_qdisc_ctx *ctx)
{
	return dequeue_head();
}

SEC("qdisc/reset")
void verdicts_reset(struct bpf_qdisc_ctx *ctx)
{
	purge();
}
