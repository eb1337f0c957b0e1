/* Packets kept in the slots of an ARRAY map and chained per flow, as fq_codel, fq_pie and cake
 * keep them: a slot is named by its link (index + 1; 0 is "none"), and free slots form a list
 * through their `next` field, after which the never-used ones follow. Include after declaring
 * `struct slot` (with a `__u32 next`) and the ARRAY map `slots` of MAX_SLOTS of them:
 *
 *     __u32 link;
 *     struct slot *s = slot_put_skb(ctx->skb, &link);  // NULL: none left
 *     ...
 *     slot_free(link, s);                              // back on the free list */
#ifndef BPFQ_BPF_SLOT_LIST_H
#define BPFQ_BPF_SLOT_LIST_H

#include <bpfq/bpf/sch_bpf.h>

__u32 free_head;  /* the first free slot's link, 0 if none */
__u32 slots_used; /* slots ever handed out: 1..slots_used have been used */

static __always_inline struct slot *slot_get(__u32 link)
{
	__u32 idx = link - 1;

	return bpf_map_lookup_elem(&slots, &idx);
}

/* A free slot's link, or 0 when all MAX_SLOTS are in use. */
static __always_inline __u32 slot_alloc(void)
{
	__u32 link = free_head;
	struct slot *s;

	if (link) {
		s = slot_get(link);
		if (!s)
			return 0;
		free_head = s->next;
		return link;
	}
	if (slots_used >= MAX_SLOTS)
		return 0;
	return ++slots_used;
}

static __always_inline void slot_free(__u32 link, struct slot *s)
{
	s->next = free_head;
	free_head = link;
}

/* A slot holding a new reference to skb, its link in *link; NULL, with nothing kept, when no
 * slot is left or the reference cannot be taken. The caller fills the slot's other fields. */
static __always_inline struct slot *slot_put_skb(struct __sk_buff *skb, __u32 *link)
{
	struct sk_buff *ref;
	struct slot *s;

	*link = slot_alloc();
	if (!*link)
		return NULL;
	s = slot_get(*link);
	if (!s)
		return NULL;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		slot_free(*link, s);
		return NULL;
	}
	ref = bpf_kptr_xchg(&s->skb, ref);
	if (ref) /* never: the slot was free */
		bpf_skb_release(ref);
	return s;
}

#endif
