/* Engine test: the enqueue verdict comes from the packet (skb->queue_mapping), so a test can drive every
 * verdict; packets it keeps go to a packet queue ranked by skb->priority. Globals let the test
 * script the dequeue side. */
#include <bpfq/bpf/sch_bpf.h>

BPFQ_SKB_QUEUE(queue, 1024, 1024);

__u64 throttle_delay_ns;   /* THROTTLE: ctx->delay */
__u32 pass_classid;        /* PASS: ctx->classid */
__u32 dequeue_verdict;     /* what the dequeue program returns when the queue is empty */
__u32 dequeue_drop_next;   /* dequeue: release the next packet instead of sending it */
__u32 store_twice;         /* enqueue: acquire twice, store once (one reference leaks) */

SEC("qdisc/enqueue")
int enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 verdict = ctx->skb->queue_mapping;

	if (verdict == SCH_BPF_QUEUED || verdict == SCH_BPF_THROTTLE || verdict == 100) {
		if (verdict != 100 && bpf_skb_queue_push(&queue, skb_ref(ctx->skb), ctx->skb->priority))
			return SCH_BPF_DROP;
		if (store_twice)
			bpf_skb_acquire(skb_ref(ctx->skb)); /* never stored, never released */
		if (verdict == SCH_BPF_THROTTLE)
			ctx->delay = throttle_delay_ns;
		return verdict == 100 ? SCH_BPF_QUEUED : verdict; /* 100: QUEUED without storing */
	}
	if (verdict == SCH_BPF_PASS)
		ctx->classid = pass_classid;
	return verdict;
}

SEC("qdisc/dequeue")
int dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = bpf_skb_queue_pop(&queue);

	if (!skb) {
		ctx->skb = NULL;
		if (dequeue_verdict == SCH_BPF_THROTTLE)
			ctx->delay = throttle_delay_ns;
		if (dequeue_verdict == SCH_BPF_PASS)
			ctx->classid = pass_classid;
		return dequeue_verdict;
	}
	if (dequeue_drop_next) {
		dequeue_drop_next--;
		bpf_skb_release(skb);
		ctx->skb = NULL;
		return SCH_BPF_DEQUEUED;
	}
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

/* A clsact program of the same object that takes a reference and forgets it. */
SEC("tc")
int forgetful_classifier(struct __sk_buff *skb)
{
	bpf_skb_acquire(skb_ref(skb));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
