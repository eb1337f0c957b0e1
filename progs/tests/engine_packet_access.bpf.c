/* Engine test: direct packet access through data/data_end (an IPv4 DSCP classifier writing
 * skb->priority and skb->cb), and a write to a read-only field when asked to: through an offset
 * known only at run time, which the load-time check (it rejects constant offsets, see
 * engine_bad_skb_write.bpf.c) cannot follow, so the checked interpreter must stop it. */
#include <bpfq/bpf/sch_bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

BPFQ_SKB_QUEUE(queue, 256, 64);

__u32 write_len;    /* 1: write skb->len, which is read-only */
__u32 len_offset;   /* offsetof(struct __sk_buff, len), as a variable */
__u32 seen_dscp;
__u32 seen_hash;

SEC("qdisc/enqueue")
int enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if (write_len)
		*(__u32 *)((void *)skb + len_offset) = 1;
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return SCH_BPF_DROP;
	seen_dscp = ip->tos >> 2;
	seen_hash = bpf_skb_get_hash(skb_ref(skb));
	skb->priority = seen_dscp;
	skb->cb[0] = 0xc0ffee;
	/* lower rank leaves first: EF (46) before best effort (0) */
	return bpf_skb_queue_push(&queue, skb_ref(skb), 63 - seen_dscp) ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = skb_view(bpf_skb_queue_pop(&queue));
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
