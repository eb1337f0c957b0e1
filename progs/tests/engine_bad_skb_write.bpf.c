/* Writes read-only __sk_buff fields, each in its own program, to test the load-time check:
 * through ctx->skb in a qdisc program, through a pointer spilled to the stack and reloaded,
 * through a reference from bpf_skb_acquire (engine_bad_skb_write_tc.bpf.c: through a tc
 * classifier's context). good_dequeue writes only its own context and must load. */
#include <bpfq/bpf/sch_bpf.h>

SEC("qdisc/enqueue")
int write_len(struct sch_bpf_ctx *ctx)
{
	ctx->skb->len = 0;
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int good_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	ctx->delay = 5;
	return SCH_BPF_DEQUEUED;
}

static __noinline int set_hash(struct __sk_buff *skb)
{
	skb->hash = 7; /* read-only: bpf_set_hash() is how tc programs set it */
	return 0;
}

SEC("qdisc/enqueue_subprog")
int write_hash_in_subprogram(struct sch_bpf_ctx *ctx)
{
	return set_hash(ctx->skb);
}

SEC("qdisc/enqueue_acquired")
int write_through_acquired(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	skb_view(ref)->ifindex = 3;
	bpf_skb_release(ref);
	return SCH_BPF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
