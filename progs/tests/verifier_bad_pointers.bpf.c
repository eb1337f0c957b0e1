/* Verifier corpus (must be refused): pointers leaked where a number belongs (maps, context
 * fields, packets, the return value) and arithmetic no pointer may take part in. One unsafe
 * thing per program; the line the verifier must blame is marked BAD(program). */
#include "verifier_bad.h"

static __always_inline struct val *first_val(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&vals, &key);
}

/* ---- leaks into maps ---- */

SEC("qdisc/enqueue")
int leak_ctx_into_map(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	if (!v)
		return SCH_BPF_DROP;
	v->a = (__u64)ctx; /* BAD(leak_ctx_into_map) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int leak_skb_into_map(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	if (!v)
		return SCH_BPF_DROP;
	v->b = (__u64)ctx->skb; /* BAD(leak_skb_into_map) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int leak_map_value_into_itself(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	if (!v)
		return SCH_BPF_DROP;
	v->a = (__u64)v; /* BAD(leak_map_value_into_itself) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int leak_stack_address_into_map(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();
	volatile __u64 local = 1;

	if (!v)
		return SCH_BPF_DROP;
	v->a = (__u64)&local; /* BAD(leak_stack_address_into_map) */
	return local & 1;
}

SEC("tc")
int leak_packet_pointer_into_map(struct __sk_buff *skb)
{
	struct val *v = first_val();

	if (!v)
		return 0;
	v->a = skb->data; /* BAD(leak_packet_pointer_into_map) */
	return 0;
}

SEC("qdisc/enqueue")
int leak_pointer_through_queue(struct sch_bpf_ctx *ctx)
{
	__u64 p = (__u64)ctx->skb;

	bpf_map_push_elem(&numbers, &p, 0); /* BAD(leak_pointer_through_queue) */
	return SCH_BPF_DROP;
}

/* ---- leaks into the context and packets ---- */

SEC("qdisc/enqueue")
int leak_skb_into_ctx_delay(struct sch_bpf_ctx *ctx)
{
	ctx->delay = (__u64)ctx->skb; /* BAD(leak_skb_into_ctx_delay) */
	return SCH_BPF_THROTTLE;
}

SEC("qdisc/dequeue")
int leak_map_value_into_ctx_delay(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	ctx->skb = NULL;
	if (!v)
		return SCH_BPF_DEQUEUED;
	ctx->delay = (__u64)v; /* BAD(leak_map_value_into_ctx_delay) */
	return SCH_BPF_THROTTLE;
}

SEC("qdisc/enqueue")
int leak_stack_address_into_skb_cb(struct sch_bpf_ctx *ctx)
{
	volatile __u64 local = 1;
	__u64 addr = (__u64)&local;

	opaque(addr);
	ctx->skb->cb[0] = addr; /* BAD(leak_stack_address_into_skb_cb) */
	return local & 1;
}

SEC("tc")
int leak_ctx_into_packet(struct __sk_buff *skb)
{
	__u64 *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if ((void *)(data + 1) > end)
		return 0;
	*data = (__u64)skb; /* BAD(leak_ctx_into_packet) */
	return 0;
}

/* ---- pointers as return values ---- */

SEC("tc")
long return_ctx_pointer(struct __sk_buff *skb)
{
	return (long)skb; /* BAD(return_ctx_pointer) */
}

SEC("tc")
long return_map_value_pointer(struct __sk_buff *skb)
{
	struct val *v = first_val();

	if (!v)
		return 0;
	return (long)v;
} /* BAD(return_map_value_pointer): the exit, with a pointer in r0 */

/* ---- pointer arithmetic ---- */

SEC("qdisc/enqueue")
int align_map_value_pointer_with_and(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	if (!v)
		return SCH_BPF_DROP;
	v = (struct val *)((long)v & ~7L); /* BAD(align_map_value_pointer_with_and) */
	return v->a & 1;
}

SEC("qdisc/enqueue")
int multiply_two_pointers(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();
	long x;

	if (!v)
		return SCH_BPF_DROP;
	x = (long)v;
	opaque(x);
	x *= (long)ctx; /* BAD(multiply_two_pointers) */
	return x & 1;
}

SEC("qdisc/enqueue")
int shift_a_pointer(struct sch_bpf_ctx *ctx)
{
	long x = (long)ctx;

	opaque(x);
	x >>= 3; /* BAD(shift_a_pointer) */
	opaque(x);
	return x & 1;
}

/* clang emits 32-bit ALU only with -mcpu=v3; these two say it in assembly. */
SEC("qdisc/enqueue")
int pointer_truncated_to_32_bits(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();
	__u64 low;

	if (!v)
		return SCH_BPF_DROP;
	asm volatile("r1 = %1; w2 = w1; %0 = r2" : "=r"(low) : "r"(v) : "r1", "r2"); /* BAD(pointer_truncated_to_32_bits) */
	return low & 1;
}

SEC("qdisc/enqueue")
int add32_to_pointer(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();

	if (!v)
		return SCH_BPF_DROP;
	asm volatile("r1 = %0; w1 += 8; %0 = r1" : "+r"(v) : : "r1"); /* BAD(add32_to_pointer) */
	return v->a & 1;
}

SEC("qdisc/enqueue")
int move_map_pointer(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	char *m = (char *)&vals;

	opaque(m);
	m += 8; /* BAD(move_map_pointer) */
	return bpf_map_lookup_elem(m, &key) ? SCH_BPF_DROP : SCH_BPF_PASS;
}

SEC("tc")
int move_packet_end(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;

	opaque(end);
	end -= 4; /* BAD(move_packet_end) */
	if (data + 4 > end)
		return 0;
	return data[0];
}

SEC("qdisc/enqueue")
int move_maybe_null_map_value(struct sch_bpf_ctx *ctx)
{
	struct val *v = first_val();
	__u64 *b;

	opaque(v);
	b = &v->b; /* BAD(move_maybe_null_map_value) */
	opaque(b);
	if (!v)
		return SCH_BPF_DROP;
	return *b & 1;
}

char LICENSE[] SEC("license") = "GPL";
