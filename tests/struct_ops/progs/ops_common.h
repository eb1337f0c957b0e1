/* Shared by the struct_ops test programs: a FIFO of skb nodes, the queue the tests' programs
 * keep their packets in unless a test is about something else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpfq/bpf/bpf_qdisc_ops.h>

struct skb_node {
	struct sk_buff __kptr *skb;
	struct bpf_list_node node;
};

private(A) struct bpf_spin_lock q_lock;
private(A) struct bpf_list_head q_list __contains(skb_node, node);

/* Stores skb at the tail; NET_XMIT_SUCCESS, or drops it. */
static __always_inline int queue_skb(struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct skb_node *n = bpf_obj_new(struct skb_node);
	struct sk_buff *old;

	if (!n) {
		bpf_qdisc_skb_drop(skb, to_free);
		return NET_XMIT_DROP;
	}
	old = bpf_kptr_xchg(&n->skb, skb);
	if (old)
		bpf_kfree_skb(old);
	bpf_spin_lock(&q_lock);
	bpf_list_push_back(&q_list, &n->node);
	bpf_spin_unlock(&q_lock);
	sch->q.qlen++;
	return NET_XMIT_SUCCESS;
}

static __always_inline struct sk_buff *unqueue_skb(struct Qdisc *sch)
{
	struct bpf_list_node *ln;
	struct skb_node *n;
	struct sk_buff *skb;

	bpf_spin_lock(&q_lock);
	ln = bpf_list_pop_front(&q_list);
	bpf_spin_unlock(&q_lock);
	if (!ln)
		return NULL;
	n = container_of(ln, struct skb_node, node);
	skb = bpf_kptr_xchg(&n->skb, NULL);
	bpf_obj_drop(n);
	if (skb)
		sch->q.qlen--;
	return skb;
}

static __always_inline void purge(struct Qdisc *sch)
{
	struct sk_buff *skb;
	int i;

	bpf_for(i, 0, 1 << 20) {
		skb = unqueue_skb(sch);
		if (!skb)
			break;
		bpf_kfree_skb(skb);
	}
}

#define OPS_DEQUEUE_INIT_RESET_DESTROY(prefix)                                                     \
	SEC("struct_ops/" #prefix "_dequeue")                                                        \
	struct sk_buff *BPF_PROG(prefix##_dequeue, struct Qdisc *sch) { return unqueue_skb(sch); }   \
	SEC("struct_ops/" #prefix "_init")                                                           \
	int BPF_PROG(prefix##_init, struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *e) \
	{ return 0; }                                                                                \
	SEC("struct_ops/" #prefix "_reset")                                                          \
	void BPF_PROG(prefix##_reset, struct Qdisc *sch) { purge(sch); }                             \
	SEC("struct_ops/" #prefix "_destroy")                                                        \
	void BPF_PROG(prefix##_destroy, struct Qdisc *sch) {}

char _license[] SEC("license") = "GPL";
