/* Verifier corpus (must be refused): programs that may never end, calls too deep, helpers and
 * kfuncs called with the wrong arguments, callbacks and programs returning what their caller
 * does not accept. One unsafe thing per program; the line the verifier must blame is marked
 * BAD(program). */
#include "verifier_bad.h"

BPFQ_SKB_QUEUE(packets, 64, 1000);

/* Not a helper bpfq (or Linux) provides. */
static long (*bpf_no_such_helper)(void) = (void *)9999;
/* Not a kfunc bpfq provides. */
extern int bpf_no_such_kfunc(struct sk_buff *p) __ksym;

/* ---- loops ---- */

SEC("qdisc/enqueue")
int spin_on_unchanging_stack_value(struct sch_bpf_ctx *ctx)
{
	volatile int stop = 0;

	while (!stop) /* BAD(spin_on_unchanging_stack_value) */
		;
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int spin_until_map_value_changes(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	if (!v)
		return SCH_BPF_DROP;
	while (*(volatile __u64 *)&v->a != 7) /* BAD(spin_until_map_value_changes) */
		;
	return SCH_BPF_DROP;
}

/* Bounded only by the packet's length: the verifier gives up (run with a small insn_limit). */
SEC("tc")
int loop_bounded_by_packet_length(struct __sk_buff *skb)
{
	volatile __u32 sum = 0;

	/* The verifier blames the loop's head, which clang puts at the body. */
	for (__u32 i = 0; i < skb->len; i++) sum += i; /* BAD(loop_bounded_by_packet_length) */
	return sum & 1;
}

/* ---- calls ---- */

static __noinline int recurse(int n)
{
	volatile int depth = n;

	if (depth <= 0)
		return 0;
	return recurse(depth - 1) * 3 + 1; /* BAD(unbounded_recursion) */
}

SEC("qdisc/enqueue")
int unbounded_recursion(struct sch_bpf_ctx *ctx)
{
	return recurse(ctx->skb->mark) & 1;
}

static __noinline int ping(int n);

static __noinline int pong(int n)
{
	volatile int k = n;

	return k ? ping(k - 1) * 5 + 2 : 0;
}

static __noinline int ping(int n)
{
	volatile int k = n;

	return k ? pong(k - 1) * 7 + 1 : 0; /* BAD(mutual_recursion) */
}

SEC("qdisc/enqueue")
int mutual_recursion(struct sch_bpf_ctx *ctx)
{
	return ping(ctx->skb->mark) & 1;
}

/* Returns a pointer into its own frame, which ends when it returns. */
static __noinline __u64 *dangling(int x)
{
	volatile __u64 local = x;
	__u64 *p = (__u64 *)&local;

	opaque(p);
	return p; /* BAD(use_callee_stack_pointer) */
}

SEC("qdisc/enqueue")
int use_callee_stack_pointer(struct sch_bpf_ctx *ctx)
{
	__u64 *p = dangling(3);

	*p = 4;
	return SCH_BPF_DROP;
}

/* ---- callbacks ---- */

static long returns_two(__u32 index, void *unused)
{
	volatile long r = 2;

	return r; /* BAD(loop_callback_returns_2) */
}

SEC("qdisc/enqueue")
int loop_callback_returns_2(struct sch_bpf_ctx *ctx)
{
	bpf_loop(4, returns_two, NULL, 0);
	return SCH_BPF_DROP;
}

static long writes_past_ctx(__u32 index, __u64 *counter)
{
	counter[1] = index; /* BAD(loop_callback_writes_past_its_ctx) */
	return 0;
}

SEC("qdisc/enqueue")
int loop_callback_writes_past_its_ctx(struct sch_bpf_ctx *ctx)
{
	__u64 counter = 0;

	bpf_loop(4, writes_past_ctx, &counter, 0);
	return counter & 1;
}

static long visit(void *map, __u32 *key, struct val *v, void *unused)
{
	*key = 0; /* BAD(for_each_callback_writes_key) */
	return 0;
}

SEC("qdisc/enqueue")
int for_each_callback_writes_key(struct sch_bpf_ctx *ctx)
{
	bpf_for_each_map_elem(&vals, visit, NULL, 0);
	return SCH_BPF_DROP;
}

static long count(void *map, __u64 *key, __u64 *v, void *unused)
{
	return 0;
}

SEC("qdisc/enqueue")
int for_each_on_queue(struct sch_bpf_ctx *ctx)
{
	bpf_for_each_map_elem(&numbers, count, NULL, 0); /* BAD(for_each_on_queue) */
	return SCH_BPF_DROP;
}

/* ---- helper arguments ---- */

SEC("qdisc/enqueue")
int lookup_in_queue_map(struct sch_bpf_ctx *ctx)
{
	__u64 key = 0;

	return bpf_map_lookup_elem(&numbers, &key) ? SCH_BPF_DROP : SCH_BPF_PASS; /* BAD(lookup_in_queue_map) */
}

SEC("qdisc/enqueue")
int key_too_small(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0; /* flows has 8-byte keys */

	return bpf_map_lookup_elem(&flows, &key) ? SCH_BPF_DROP : SCH_BPF_PASS; /* BAD(key_too_small) */
}

SEC("tc")
int load_bytes_size_unbounded(struct __sk_buff *skb)
{
	__u8 buf[16];

	bpf_skb_load_bytes(skb, 0, buf, skb->len); /* BAD(load_bytes_size_unbounded) */
	return buf[0];
}

SEC("tc")
int load_bytes_size_zero(struct __sk_buff *skb)
{
	__u8 buf[16] = {};

	bpf_skb_load_bytes(skb, 0, buf, 0); /* BAD(load_bytes_size_zero) */
	return buf[0];
}

SEC("tc")
int load_bytes_size_exceeds_buffer(struct __sk_buff *skb)
{
	__u8 buf[16];
	__u32 n = (skb->mark & 31) + 1;

	bpf_skb_load_bytes(skb, 0, buf, n); /* BAD(load_bytes_size_exceeds_buffer) */
	return buf[0];
}

SEC("qdisc/enqueue")
int ringbuf_reserve_variable_size(struct sch_bpf_ctx *ctx)
{
	__u64 n = (ctx->skb->mark & 7) + 8;
	__u64 *e = bpf_ringbuf_reserve(&events, n, 0); /* BAD(ringbuf_reserve_variable_size) */

	if (!e)
		return SCH_BPF_DROP;
	*e = 1;
	bpf_ringbuf_submit(e, 0);
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int printk_format_on_stack(struct sch_bpf_ctx *ctx)
{
	char fmt[] = "len %d";

	bpf_trace_printk(fmt, sizeof(fmt), ctx->skb->len); /* BAD(printk_format_on_stack) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int printk_percent_s_of_a_number(struct sch_bpf_ctx *ctx)
{
	static const char fmt[] = "dev %s";

	bpf_trace_printk(fmt, sizeof(fmt), ctx->skb->ifindex); /* BAD(printk_percent_s_of_a_number) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int unknown_helper(struct sch_bpf_ctx *ctx)
{
	return bpf_no_such_helper() & 1; /* BAD(unknown_helper) */
}

SEC("qdisc/enqueue")
int unknown_kfunc(struct sch_bpf_ctx *ctx)
{
	return bpf_no_such_kfunc(skb_ref(ctx->skb)) & 1; /* BAD(unknown_kfunc) */
}

SEC("qdisc/enqueue")
int kfunc_hash_of_map_value(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	if (!v)
		return SCH_BPF_DROP;
	return bpf_skb_get_hash((struct sk_buff *)v) & 1; /* BAD(kfunc_hash_of_map_value) */
}

SEC("qdisc/enqueue")
int skb_queue_push_of_stack(struct sch_bpf_ctx *ctx)
{
	__u64 fake[32] = {};

	bpf_skb_queue_push(&packets, (struct sk_buff *)fake, 0); /* BAD(skb_queue_push_of_stack) */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int skb_queue_push_into_plain_queue(struct sch_bpf_ctx *ctx)
{
	bpf_skb_queue_push(&numbers, skb_ref(ctx->skb), 0); /* BAD(skb_queue_push_into_plain_queue) */
	return SCH_BPF_QUEUED;
}

/* ---- return values ---- */

SEC("qdisc/enqueue")
int enqueue_returns_7(struct sch_bpf_ctx *ctx)
{
	return 7; /* BAD(enqueue_returns_7) */
}

SEC("qdisc/dequeue")
int dequeue_returns_minus_1(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	return -1; /* BAD(dequeue_returns_minus_1) */
}

SEC("qdisc/enqueue")
int enqueue_returns_the_mark(struct sch_bpf_ctx *ctx)
{
	return ctx->skb->mark; /* BAD(enqueue_returns_the_mark) */
}

/* ---- arithmetic ---- */

SEC("qdisc/enqueue")
int divide_by_constant_zero(struct sch_bpf_ctx *ctx)
{
	__u64 x = ctx->skb->len;

	asm volatile("%0 /= 0" : "+r"(x)); /* BAD(divide_by_constant_zero) */
	return x & 1;
}

SEC("qdisc/enqueue")
int shift_by_64(struct sch_bpf_ctx *ctx)
{
	__u64 x = ctx->skb->len;

	asm volatile("%0 <<= 64" : "+r"(x)); /* BAD(shift_by_64) */
	return x & 1;
}

char LICENSE[] SEC("license") = "GPL";
