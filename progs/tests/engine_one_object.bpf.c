/* The seed's use case 2 in one object: the clsact program (SEC("tc")) and the qdisc share a map
 * that is not pinned, which works only if both run in the same object. The tc program writes
 * each packet's length into `last_len`; the qdisc (a FIFO) drops a packet whose length the map
 * does not hold, so every packet is dropped if the tc program ran elsewhere or not at all. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_len SEC(".maps");

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

SEC("tc")
int stamp_len(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *len = bpf_map_lookup_elem(&last_len, &key);

	if (len)
		*len = skb->len;
	return TC_ACT_OK;
}

SEC("qdisc/enqueue")
int one_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 zero = 0;
	__u64 *len = bpf_map_lookup_elem(&last_len, &zero);
	if (!len || *len != ctx->skb->len)
		return SCH_BPF_DROP;
	return rbtree_enqueue_tail(&queue, &seq, ctx->skb) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int one_dequeue(struct sch_bpf_ctx *ctx)
{
	rbtree_dequeue_head(ctx, &queue);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
