/* Verifier corpus (must be refused): NULL results used unchecked, packet references leaked,
 * released twice, used after release, and packet pointers stored where only bpf_kptr_xchg may
 * put them. One unsafe thing per program; the line the verifier must blame is marked
 * BAD(program). */
#include "verifier_bad.h"

struct slot {
	struct sk_buff __kptr_ref *skb;
	__u64 stamp;
};

struct plain {
	__u64 skb; /* not tagged: a number, not a reference */
	__u64 stamp;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct plain);
} plains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct slot);
} ordered SEC(".maps");

BPFQ_SKB_QUEUE(packets, 64, 1000);

struct sk_buff *stash; /* .bss: a global, no reference field */

/* ---- NULL ---- */

SEC("qdisc/enqueue")
int lookup_used_unchecked(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct plain *p = bpf_map_lookup_elem(&plains, &key);

	return p->stamp & 1; /* BAD(lookup_used_unchecked) */
}

SEC("qdisc/enqueue")
int acquire_used_unchecked(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	skb_view(ref)->mark = 1; /* BAD(acquire_used_unchecked) */
	bpf_skb_release(ref);
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int queue_pop_used_unchecked(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *p = bpf_skb_queue_pop(&packets);

	ctx->classid = skb_view(p)->len; /* BAD(queue_pop_used_unchecked) */
	ctx->skb = skb_view(p);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/enqueue")
int ringbuf_reserve_used_unchecked(struct sch_bpf_ctx *ctx)
{
	__u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	*e = ctx->skb->len; /* BAD(ringbuf_reserve_used_unchecked) */
	bpf_ringbuf_submit(e, 0);
	return SCH_BPF_DROP;
}

/* ---- leaks ---- */

SEC("qdisc/enqueue")
int acquired_never_released(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	return SCH_BPF_QUEUED;
} /* BAD(acquired_never_released): the exit, with the reference still held */

SEC("qdisc/enqueue")
int released_on_one_branch_only(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	if (ctx->skb->mark & 1)
		bpf_skb_release(ref);
	return SCH_BPF_DROP;
} /* BAD(released_on_one_branch_only): the exit, with the reference still held */

SEC("qdisc/dequeue")
int popped_never_handed_out(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *p = bpf_skb_queue_pop(&packets);

	ctx->skb = NULL;
	if (p)
		ctx->classid = skb_view(p)->len;
	return SCH_BPF_DEQUEUED; /* BAD(popped_never_handed_out) */
}

SEC("qdisc/enqueue")
int ringbuf_never_submitted(struct sch_bpf_ctx *ctx)
{
	__u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return SCH_BPF_DROP;
	*e = ctx->skb->len;
	return SCH_BPF_DROP;
} /* BAD(ringbuf_never_submitted): the exit, with the reference still held */

/* ---- release ---- */

SEC("qdisc/enqueue")
int double_release(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	bpf_skb_release(ref);
	bpf_skb_release(ref); /* BAD(double_release) */
	return SCH_BPF_DROP;
}

SEC("qdisc/enqueue")
int read_len_after_release(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	bpf_skb_release(ref);
	return skb_view(ref)->len & 1; /* BAD(read_len_after_release) */
}

/* (c) the last reference is gone: writing the packet's mark or bytes corrupts a freed packet. */
SEC("qdisc/dequeue")
int write_mark_after_release(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *p = bpf_skb_queue_pop(&packets);

	ctx->skb = NULL;
	if (!p)
		return SCH_BPF_DEQUEUED;
	bpf_skb_release(p);
	skb_view(p)->mark = 7; /* BAD(write_mark_after_release) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/dequeue")
int write_bytes_after_release(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *p = bpf_skb_queue_pop(&packets);
	__u8 *data, *end;

	ctx->skb = NULL;
	if (!p)
		return SCH_BPF_DEQUEUED;
	data = (void *)(long)skb_view(p)->data;
	end = (void *)(long)skb_view(p)->data_end;
	if (data + 1 > end) {
		bpf_skb_release(p);
		return SCH_BPF_DEQUEUED;
	}
	bpf_skb_release(p);
	data[0] = 0; /* BAD(write_bytes_after_release) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/enqueue")
int kfunc_after_release(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *ref = bpf_skb_acquire(skb_ref(ctx->skb));

	if (!ref)
		return SCH_BPF_DROP;
	bpf_skb_release(ref);
	return bpf_skb_get_hash(ref) & 1; /* BAD(kfunc_after_release) */
}

SEC("qdisc/enqueue")
int release_borrowed_ctx_skb(struct sch_bpf_ctx *ctx)
{
	bpf_skb_release(skb_ref(ctx->skb)); /* BAD(release_borrowed_ctx_skb) */
	return SCH_BPF_DROP;
}

SEC("tc")
int release_tc_context(struct __sk_buff *skb)
{
	bpf_skb_release((struct sk_buff *)skb); /* BAD(release_tc_context) */
	return 0;
}

SEC("qdisc/dequeue")
int hand_out_two_packets(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *a = bpf_skb_queue_pop(&packets), *b;

	ctx->skb = skb_view(a);
	b = bpf_skb_queue_pop(&packets);
	ctx->skb = skb_view(b); /* BAD(hand_out_two_packets) */
	return SCH_BPF_DEQUEUED;
}

/* ---- packet pointers in maps, globals, the context ---- */

/* (a) a plain store into a __kptr_ref field: no reference is taken, the map would free a
 * packet it does not own. */
SEC("qdisc/enqueue")
int plain_store_into_kptr_field(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);

	if (!s)
		return SCH_BPF_DROP;
	s->skb = skb_ref(ctx->skb); /* BAD(plain_store_into_kptr_field) */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int plain_store_of_reference_into_kptr_field(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);
	struct sk_buff *ref;

	if (!s)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(ctx->skb));
	if (!ref)
		return SCH_BPF_DROP;
	s->skb = ref; /* BAD(plain_store_of_reference_into_kptr_field) */
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int kptr_field_cleared_by_plain_store(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);

	if (!s)
		return SCH_BPF_DROP;
	s->skb = NULL; /* BAD(kptr_field_cleared_by_plain_store) */
	return SCH_BPF_DROP;
}

/* (b) a raw packet pointer pushed into a packet queue: bpf_skb_queue_pop would hand out a
 * packet nobody holds a reference to. */
SEC("qdisc/enqueue")
int push_raw_packet_pointer_into_skb_queue(struct sch_bpf_ctx *ctx)
{
	__u64 raw = (__u64)ctx->skb;

	if (bpf_map_push_elem(&packets, &raw, 0)) /* BAD(push_raw_packet_pointer_into_skb_queue) */
		return SCH_BPF_DROP;
	return SCH_BPF_QUEUED;
}

/* (d) a reference moved out of a map by bpf_kptr_xchg, then parked where nothing releases it. */
SEC("qdisc/dequeue")
int kptr_xchg_into_stack_never_released(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);
	struct sk_buff *volatile parked;

	ctx->skb = NULL;
	if (!s)
		return SCH_BPF_DEQUEUED;
	parked = bpf_kptr_xchg(&s->skb, NULL);
	(void)parked;
	return SCH_BPF_DEQUEUED;
} /* BAD(kptr_xchg_into_stack_never_released): the exit, with the reference still held */

SEC("qdisc/dequeue")
int kptr_xchg_into_global(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);

	ctx->skb = NULL;
	if (!s)
		return SCH_BPF_DEQUEUED;
	stash = bpf_kptr_xchg(&s->skb, NULL); /* BAD(kptr_xchg_into_global) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/dequeue")
int kptr_xchg_into_untagged_map_value(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);
	struct plain *p = bpf_map_lookup_elem(&plains, &key);

	ctx->skb = NULL;
	if (!s || !p)
		return SCH_BPF_DEQUEUED;
	p->skb = (__u64)bpf_kptr_xchg(&s->skb, NULL); /* BAD(kptr_xchg_into_untagged_map_value) */
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/dequeue")
int kptr_xchg_into_ctx_delay(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);

	ctx->skb = NULL;
	if (!s)
		return SCH_BPF_DEQUEUED;
	ctx->delay = (__u64)bpf_kptr_xchg(&s->skb, NULL); /* BAD(kptr_xchg_into_ctx_delay) */
	return SCH_BPF_THROTTLE;
}

SEC("qdisc/enqueue")
int kptr_xchg_target_is_untagged_field(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct plain *p = bpf_map_lookup_elem(&plains, &key);
	struct sk_buff *ref, *old;

	if (!p)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(ctx->skb));
	if (!ref)
		return SCH_BPF_DROP;
	old = bpf_kptr_xchg(&p->skb, ref); /* BAD(kptr_xchg_target_is_untagged_field) */
	if (old)
		bpf_skb_release(old);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/enqueue")
int kptr_xchg_of_borrowed_ctx_skb(struct sch_bpf_ctx *ctx)
{
	__u32 key = 0;
	struct slot *s = bpf_map_lookup_elem(&slots, &key);
	struct sk_buff *old;

	if (!s)
		return SCH_BPF_DROP;
	old = bpf_kptr_xchg(&s->skb, skb_ref(ctx->skb)); /* BAD(kptr_xchg_of_borrowed_ctx_skb) */
	if (old)
		bpf_skb_release(old);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int pop_elem_drops_references(struct sch_bpf_ctx *ctx)
{
	struct slot s;

	ctx->skb = NULL;
	if (bpf_map_pop_elem(&ordered, &s)) /* BAD(pop_elem_drops_references) */
		return SCH_BPF_DEQUEUED;
	ctx->classid = s.stamp;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
