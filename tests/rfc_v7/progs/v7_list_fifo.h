/* A FIFO of graph objects for the RFC v7 test programs: an skb kptr in a bpf_obj_new node, on a
 * bpf_list under a spin lock. */
#include "v7_common.h"

struct skb_node {
	struct sk_buff __kptr *skb;
	struct bpf_list_node node;
};

private(A) struct bpf_spin_lock q_lock;
private(A) struct bpf_list_head q_list __contains(skb_node, node);

__u32 q_len;

/* Keeps a reference to the packet at the tail; false if it could not. */
static __always_inline bool queue_skb(struct sk_buff *offered)
{
	struct skb_node *n = bpf_obj_new(struct skb_node);
	struct sk_buff *skb, *old;

	if (!n)
		return false;
	skb = bpf_skb_acquire(offered);
	if (!skb) {
		bpf_obj_drop(n);
		return false;
	}
	old = bpf_kptr_xchg(&n->skb, skb);
	if (old)
		bpf_skb_release(old);
	bpf_spin_lock(&q_lock);
	bpf_list_push_back(&q_list, &n->node);
	bpf_spin_unlock(&q_lock);
	q_len++;
	return true;
}

/* The packet at the head, with its reference, or NULL. */
static __always_inline struct sk_buff *unqueue_skb(void)
{
	struct bpf_list_node *ln;
	struct sk_buff *skb;
	struct skb_node *n;

	bpf_spin_lock(&q_lock);
	ln = bpf_list_pop_front(&q_list);
	bpf_spin_unlock(&q_lock);
	if (!ln)
		return NULL;
	n = container_of(ln, struct skb_node, node);
	skb = bpf_kptr_xchg(&n->skb, NULL);
	bpf_obj_drop(n);
	if (skb)
		q_len--;
	return skb;
}

/* SCH_BPF_DEQUEUED with the head packet, or SCH_BPF_DROP when empty (v7's samples: a DEQUEUED
 * without a packet would hand Linux a NULL skb). */
static __always_inline int dequeue_head(void)
{
	struct sk_buff *skb = unqueue_skb();

	if (!skb)
		return SCH_BPF_DROP;
	bpf_qdisc_set_skb_dequeue(skb);
	return SCH_BPF_DEQUEUED;
}

/* Frees every queued node, and with it its packet (the skb kptr's destructor). */
static __always_inline void purge(void)
{
	struct bpf_list_node *ln;
	int i;

	bpf_for(i, 0, 1 << 20) {
		bpf_spin_lock(&q_lock);
		ln = bpf_list_pop_front(&q_list);
		bpf_spin_unlock(&q_lock);
		if (!ln)
			break;
		bpf_obj_drop(container_of(ln, struct skb_node, node));
	}
	q_len = 0;
}
