/* Packet references kept in map values ("slots"): putting a packet into a new slot (the enqueue
 * step of programs that hold packets in maps) and taking the head of an rbtree of them (the
 * dequeue step), for maps whose value begins with the reference:
 * `struct slot { struct sk_buff __kptr_ref *skb; ... }`.
 *
 *     #include <bpfq/bpf/sch_bpf.h>
 *     #include <bpfq/bpf/skb_slots.h>
 *
 *     struct slot empty = {};
 *     __u64 key = bpf_cpu_to_be64(seq);   // big-endian: bytewise key order is numeric order
 *     if (map_put_skb(&queue, &key, &empty, ctx->skb))
 *         return SCH_BPF_DROP;
 *     ...
 *     struct rbtree_head h;
 *     if (rbtree_take_head(&queue, &h)) {
 *         bpf_map_delete_elem(&queue, &h.key);
 *         ctx->skb = skb_view(h.skb);
 *     } */
#ifndef BPFQ_BPF_SKB_SLOTS_H
#define BPFQ_BPF_SKB_SLOTS_H

#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

/* Adds a slot under key, initialised from empty (a zeroed value, or one with the caller's other
 * fields set), holding a new reference to skb. 0 on success; -1, with no slot left behind, if
 * the key exists, the map is full or the reference cannot be taken. */
static __always_inline int map_put_skb(void *map, const void *key, const void *empty, struct __sk_buff *skb)
{
	struct sk_buff __kptr_ref **slot;
	struct sk_buff *ref;

	if (bpf_map_update_elem(map, key, empty, BPF_NOEXIST))
		return -1;
	slot = bpf_map_lookup_elem(map, key);
	if (!slot)
		return -1;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(map, key);
		return -1;
	}
	ref = bpf_kptr_xchg(slot, ref);
	if (ref) /* cannot happen: the slot is new */
		bpf_skb_release(ref);
	return 0;
}

struct rbtree_head {
	__u64 key;
	struct sk_buff *skb; /* the reference moved out of the entry; NULL if it held none */
};

/* bpf_for_each_map_elem callback: an rbtree is visited in key order, so the first entry is the
 * minimum; take it and stop. The value is the kptr field at its start. */
static long rbtree_head_visit(void *map, __u64 *key, struct sk_buff __kptr_ref **skb,
			      struct rbtree_head *out)
{
	out->key = *key;
	out->skb = bpf_kptr_xchg(skb, NULL);
	return 1; /* stop after the minimum */
}

/* 1 with the head's key and packet reference in *h (the entry stays in the map, now empty, for
 * the caller to delete), 0 if the map is empty. */
static __always_inline int rbtree_take_head(void *map, struct rbtree_head *h)
{
	h->key = 0;
	h->skb = NULL;
	return bpf_for_each_map_elem(map, rbtree_head_visit, h, 0) > 0;
}

/* The enqueue of a FIFO kept in an rbtree whose values are just the reference: skb under the
 * big-endian sequence number *seq (bytewise key order is arrival order). 0, with *seq advanced,
 * or -1 if the packet could not be stored. */
static __always_inline int rbtree_enqueue_tail(void *map, __u64 *seq, struct __sk_buff *skb)
{
	struct sk_buff __kptr_ref *empty = NULL;
	__u64 key = bpf_cpu_to_be64(*seq);

	if (map_put_skb(map, &key, &empty, skb))
		return -1;
	(*seq)++;
	return 0;
}

/* The dequeue of a FIFO kept in an rbtree keyed by arrival order: hands out the head in
 * ctx->skb (NULL when empty) and deletes its entry. 1 if a packet was handed out, else 0. */
static __always_inline int rbtree_dequeue_head(struct sch_bpf_ctx *ctx, void *map)
{
	struct rbtree_head h;

	ctx->skb = NULL;
	if (!rbtree_take_head(map, &h))
		return 0;
	bpf_map_delete_elem(map, &h.key);
	ctx->skb = skb_view(h.skb);
	return 1;
}

#endif
