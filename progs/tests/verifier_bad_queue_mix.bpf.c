/* Verifier corpus (must be refused as an object): (e) a packet queue also popped as a plain
 * map. Each program verifies on its own; together, bpf_map_pop_elem in the dequeue would take
 * the engine's packet reference out of the queue as a number (the packet leaks, or a number
 * pushed the same way is later popped as a packet). verifier::verify_object refuses the object. */
#include <bpfq/bpf/sch_bpf.h>

BPFQ_SKB_QUEUE(packets, 64, 1000);

SEC("qdisc/enqueue")
int queue_with_kfunc(struct sch_bpf_ctx *ctx)
{
	if (bpf_skb_queue_push(&packets, skb_ref(ctx->skb), 0))
		return SCH_BPF_DROP;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int pop_as_plain_map(struct sch_bpf_ctx *ctx)
{
	__u64 raw;

	ctx->skb = NULL;
	if (bpf_map_pop_elem(&packets, &raw)) /* BAD(pop_as_plain_map) */
		return SCH_BPF_DEQUEUED;
	ctx->classid = raw & 0xff;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
