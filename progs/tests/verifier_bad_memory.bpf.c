/* Verifier corpus (must be refused): out-of-bounds and uninitialised memory, one unsafe access
 * per program. tests/verifier/corpus_c_test.cpp names each program's expected message; the
 * line the verifier must blame is marked BAD(program). */
#include "verifier_bad.h"

/* ---- stack ---- */

SEC("qdisc/enqueue")
int stack_write_below_frame(struct sch_bpf_ctx *ctx)
{
	volatile char buf[16];
	volatile char *p = buf;

	buf[0] = 0;
	opaque(p);
	p[-512] = 1; /* BAD(stack_write_below_frame) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int stack_write_above_frame(struct sch_bpf_ctx *ctx)
{
	volatile char buf[16];
	volatile char *p = buf;

	buf[0] = 0;
	opaque(p);
	p[16] = 1; /* BAD(stack_write_above_frame) */
	return SCH_BPF_DROP;
}

SEC("tc")
int stack_variable_index_leaves_frame(struct __sk_buff *skb)
{
	volatile __u8 buf[64];
	__u32 i = skb->mark & 127;

	buf[0] = 0;
	buf[i] = 1; /* BAD(stack_variable_index_leaves_frame) */
	return 0;
}

/* A sub-program reaching up into its caller's frame: r10 + 16 is the caller's stack. */
static __noinline int scribble_caller(int x)
{
	volatile char buf[8];
	volatile char *p = buf;

	buf[0] = x;
	opaque(p);
	p[24] = x; /* BAD(subprog_writes_caller_frame) */
	return buf[0];
}

SEC("qdisc/enqueue")
int subprog_writes_caller_frame(struct sch_bpf_ctx *ctx)
{
	volatile __u64 secret = 0;

	scribble_caller(7);
	return secret ? SCH_BPF_DROP : SCH_BPF_QUEUED;
}

/* ---- uninitialised stack ---- */

SEC("qdisc/enqueue")
int stack_read_uninit(struct sch_bpf_ctx *ctx)
{
	volatile __u64 never_written;

	return never_written & 1; /* BAD(stack_read_uninit) */
}

SEC("qdisc/enqueue")
int stack_read_half_written(struct sch_bpf_ctx *ctx)
{
	volatile union {
		__u64 whole;
		__u32 half[2];
	} u;

	u.half[0] = 1;
	return u.whole & 1; /* BAD(stack_read_half_written) */
}

SEC("qdisc/enqueue")
int helper_key_uninit_variable_offset(struct sch_bpf_ctx *ctx)
{
	__u8 buf[16];
	long back = ctx->skb->mark & 7;
	void *key;

	*(volatile __u64 *)&buf[8] = 0; /* only the upper half is written */
	key = &buf[8];
	opaque(key);
	key -= back; /* reaches down into the unwritten half */
	return bpf_map_lookup_elem(&flows, key) ? SCH_BPF_DROP : SCH_BPF_PASS; /* BAD(helper_key_uninit_variable_offset) */
}

/* ---- map values ---- */

SEC("qdisc/enqueue")
int map_value_read_past_end(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	if (!v)
		return SCH_BPF_DROP;
	return ((volatile __u64 *)v)[2] & 1; /* BAD(map_value_read_past_end) */
}

SEC("qdisc/enqueue")
int map_value_write_before_start(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	if (!v)
		return SCH_BPF_DROP;
	((volatile __u32 *)v)[-1] = 1; /* BAD(map_value_write_before_start) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int map_value_variable_index_too_large(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);
	__u32 i;

	if (!v)
		return SCH_BPF_DROP;
	i = ctx->skb->mark & 31;
	((volatile __u8 *)v)[i] = 1; /* BAD(map_value_variable_index_too_large) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int map_value_index_check_off_by_one(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);
	__u32 i;

	if (!v)
		return SCH_BPF_DROP;
	i = ctx->skb->mark;
	if (i > sizeof(*v))
		return SCH_BPF_DROP;
	((volatile __u8 *)v)[i] = 1; /* BAD(map_value_index_check_off_by_one) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int map_value_unbounded_index(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);
	__u32 i;

	if (!v)
		return SCH_BPF_DROP;
	i = ctx->skb->mark;
	((volatile __u8 *)v)[i] = 1; /* BAD(map_value_unbounded_index) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int map_value_signed_check_only(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);
	int i;

	if (!v)
		return SCH_BPF_DROP;
	i = ctx->skb->mark;
	if (i > 15)
		return SCH_BPF_DROP;
	((volatile __u8 *)v)[i] = 1; /* BAD(map_value_signed_check_only) */
	return SCH_BPF_DROP;
}

/* ---- context ---- */

SEC("qdisc/enqueue")
int qdisc_ctx_read_past_end(struct sch_bpf_ctx *ctx)
{
	return ((volatile __u64 *)ctx)[3] & 1; /* BAD(qdisc_ctx_read_past_end) */
}

SEC("qdisc/dequeue")
int qdisc_ctx_write_padding(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	((volatile __u32 *)ctx)[3] = 1; /* BAD(qdisc_ctx_write_padding) */
	return SCH_BPF_DEQUEUED;
}

SEC("tc")
int skb_read_past_end(struct __sk_buff *skb)
{
	return ((volatile __u32 *)skb)[48]; /* BAD(skb_read_past_end) */
}

SEC("tc")
int skb_read_sk_field(struct __sk_buff *skb)
{
	return skb->sk != 0; /* BAD(skb_read_sk_field) */
}

SEC("qdisc/enqueue")
int ctx_skb_read_past_end(struct sch_bpf_ctx *ctx)
{
	return ((volatile __u32 *)ctx->skb)[50] & 1; /* BAD(ctx_skb_read_past_end) */
}

/* ---- packets ---- */

SEC("tc")
int packet_read_without_check(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;

	return data[12]; /* BAD(packet_read_without_check) */
}

SEC("tc")
int packet_read_past_checked_bound(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;

	if (data + 14 > end)
		return 0;
	return *(__u32 *)(data + 12); /* BAD(packet_read_past_checked_bound) */
}

SEC("tc")
int packet_variable_offset_unchecked(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 n;

	if (data + 64 > end)
		return 0;
	n = data[0];
	return data[n]; /* BAD(packet_variable_offset_unchecked) */
}

SEC("qdisc/enqueue")
int enqueue_packet_write_without_check(struct sch_bpf_ctx *ctx)
{
	__u8 *data = (void *)(long)ctx->skb->data;

	data[0] = 0; /* BAD(enqueue_packet_write_without_check) */
	return SCH_BPF_DROP;
}

SEC("tc")
int packet_helper_reads_past_check(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;

	if (data + 4 > end)
		return 0;
	return bpf_map_lookup_elem(&flows, data) != 0; /* BAD(packet_helper_reads_past_check) */
}

char LICENSE[] SEC("license") = "GPL";
