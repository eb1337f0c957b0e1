/* Taking the packet at the head (minimum key) of an rbtree of packet references: the dequeue
 * step of programs that keep packets in a BPF_MAP_TYPE_RBTREE keyed by a __u64 (a big-endian
 * sequence number or rank, so that bytewise key order is numeric order).
 *
 *     #include <bpfq/bpf/sch_bpf.h>
 *     #include <bpfq/bpf/rbtree_head.h>
 *
 *     struct rbtree_head h;
 *     if (rbtree_take_head(&queue, &h)) {
 *         bpf_map_delete_elem(&queue, &h.key);
 *         ctx->skb = skb_view(h.skb);
 *     }
 *
 * The map's value must begin with the packet reference, as
 * `struct slot { struct sk_buff __kptr_ref *skb; ... }`. */
#ifndef BPFQ_BPF_RBTREE_HEAD_H
#define BPFQ_BPF_RBTREE_HEAD_H

#include <bpfq/bpf/sch_bpf.h>

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

#endif
