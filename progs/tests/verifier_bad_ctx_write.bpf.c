/* Verifier corpus (must be refused): writes to what a program may only read: read-only
 * __sk_buff fields, ctx->skb outside qdisc/dequeue, .rodata globals. One unsafe write per
 * program; the line the verifier must blame is marked BAD(program). */
#include "verifier_bad.h"

const volatile __u32 limit = 1000; /* .rodata: a parameter */

BPFQ_SKB_QUEUE(packets, 64, 1000);

SEC("tc")
int tc_write_len(struct __sk_buff *skb)
{
	skb->len = 0; /* BAD(tc_write_len) */
	return 0;
}

SEC("tc")
int tc_write_protocol(struct __sk_buff *skb)
{
	skb->protocol = 0x86dd; /* BAD(tc_write_protocol) */
	return 0;
}

SEC("tc")
int tc_write_ifindex(struct __sk_buff *skb)
{
	skb->ifindex = 1; /* BAD(tc_write_ifindex) */
	return 0;
}

SEC("tc")
int tc_write_data_end(struct __sk_buff *skb)
{
	skb->data_end = skb->len; /* BAD(tc_write_data_end) */
	return 0;
}

SEC("qdisc/enqueue")
int enqueue_write_skb_len(struct sch_bpf_ctx *ctx)
{
	ctx->skb->len = 64; /* BAD(enqueue_write_skb_len) */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int enqueue_write_skb_hash(struct sch_bpf_ctx *ctx)
{
	ctx->skb->hash = 7; /* BAD(enqueue_write_skb_hash) */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int dequeue_write_popped_len(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *p = bpf_skb_queue_pop(&packets);

	ctx->skb = NULL;
	if (!p)
		return SCH_BPF_DEQUEUED;
	skb_view(p)->wire_len = 1; /* BAD(dequeue_write_popped_len) */
	ctx->skb = skb_view(p);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/enqueue")
int enqueue_replaces_ctx_skb(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL; /* BAD(enqueue_replaces_ctx_skb) */
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int dequeue_ctx_skb_from_number(struct sch_bpf_ctx *ctx)
{
	ctx->skb = (struct __sk_buff *)(long)ctx->classid; /* BAD(dequeue_ctx_skb_from_number) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/dequeue")
int dequeue_ctx_skb_from_map_value(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	ctx->skb = NULL;
	if (!v)
		return SCH_BPF_DEQUEUED;
	ctx->skb = (struct __sk_buff *)v; /* BAD(dequeue_ctx_skb_from_map_value) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/enqueue")
int write_rodata_parameter(struct sch_bpf_ctx *ctx)
{
	*(volatile __u32 *)&limit = 5; /* BAD(write_rodata_parameter) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int write_string_constant(struct sch_bpf_ctx *ctx)
{
	volatile char *s = (volatile char *)"drop";

	s[0] = 'D'; /* BAD(write_string_constant) */
	return SCH_BPF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
