/* A pfifo that faults on every `every`-th enqueue (a load through a wild pointer, which checked
 * mode stops): the run goes on, every faulting packet is dropped and counted, and the report
 * names the fault and its source line. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

const volatile bpfq_count every = 100;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct slot);
} queue SEC(".maps");

__u64 seq;
__u64 enqueues;

SEC("qdisc/enqueue")
int fault_enqueue(struct sch_bpf_ctx *ctx)
{
	if (++enqueues % every == 0)
		return *(volatile int *)(long)enqueues; /* a wild load: the fault */
	return rbtree_enqueue_tail(&queue, &seq, ctx->skb) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int fault_dequeue(struct sch_bpf_ctx *ctx)
{
	rbtree_dequeue_head(ctx, &queue);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
