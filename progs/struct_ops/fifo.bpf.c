/* bpf_fifo: a tail-drop FIFO of `limit` packets (1000) for Linux 6.16's struct_ops bpf qdisc
 * (docs/qdiscs/struct_ops.md). The twin of bpfq's seed-API progs/fifo.bpf.c: the same packets
 * leave in the same order and the same ones are dropped (an arrival finding `limit` packets
 * queued). Differences from the twin: none in behaviour. limit is sch->limit, set by init (a
 * struct_ops qdisc gets no parameters from tc); drops are counted in sch->qstats.drops as
 * Linux's qdisc_drop does.
 *
 * The queue is one list of nodes, each holding one packet; the list and its lock are a private
 * global. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpfq/bpf/bpf_qdisc_ops.h>

#define FIFO_LIMIT 1000           /* packets (the seed's default) */
#define FIFO_MAX_DRAIN (1 << 23) /* bound of the reset loop (bpf_for's largest range) */

struct skb_node {
	struct sk_buff __kptr *skb;
	struct bpf_list_node node;
};

private(A) struct bpf_spin_lock fifo_lock;
private(A) struct bpf_list_head fifo_queue __contains(skb_node, node);

static __always_inline int fifo_drop(struct sk_buff *skb, struct Qdisc *sch,
				     struct bpf_sk_buff_ptr *to_free)
{
	sch->qstats.drops++;
	bpf_qdisc_skb_drop(skb, to_free);
	return NET_XMIT_DROP;
}

SEC("struct_ops/bpf_fifo_enqueue")
int BPF_PROG(bpf_fifo_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	unsigned int len = qdisc_pkt_len(skb);
	struct skb_node *n;
	struct sk_buff *old;

	if (sch->q.qlen >= sch->limit)
		return fifo_drop(skb, sch, to_free);
	n = bpf_obj_new(struct skb_node);
	if (!n)
		return fifo_drop(skb, sch, to_free);
	old = bpf_kptr_xchg(&n->skb, skb); /* the node now owns the packet */
	if (old)                           /* never: the node is new */
		bpf_kfree_skb(old);

	bpf_spin_lock(&fifo_lock);
	bpf_list_push_back(&fifo_queue, &n->node);
	bpf_spin_unlock(&fifo_lock);

	sch->q.qlen++;
	sch->qstats.backlog += len;
	return NET_XMIT_SUCCESS;
}

SEC("struct_ops/bpf_fifo_dequeue")
struct sk_buff *BPF_PROG(bpf_fifo_dequeue, struct Qdisc *sch)
{
	struct bpf_list_node *ln;
	struct skb_node *n;
	struct sk_buff *skb;

	bpf_spin_lock(&fifo_lock);
	ln = bpf_list_pop_front(&fifo_queue);
	bpf_spin_unlock(&fifo_lock);
	if (!ln)
		return NULL;
	n = container_of(ln, struct skb_node, node);
	skb = bpf_kptr_xchg(&n->skb, NULL);
	bpf_obj_drop(n);
	if (!skb)
		return NULL;

	sch->qstats.backlog -= qdisc_pkt_len(skb);
	bpf_qdisc_bstats_update(sch, skb);
	sch->q.qlen--;
	return skb;
}

SEC("struct_ops/bpf_fifo_init")
int BPF_PROG(bpf_fifo_init, struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	sch->limit = FIFO_LIMIT;
	return 0;
}

/* Frees every queued packet. */
static __always_inline void fifo_purge(void)
{
	struct bpf_list_node *ln;
	struct skb_node *n;
	struct sk_buff *skb;
	int i;

	bpf_for(i, 0, FIFO_MAX_DRAIN) {
		bpf_spin_lock(&fifo_lock);
		ln = bpf_list_pop_front(&fifo_queue);
		bpf_spin_unlock(&fifo_lock);
		if (!ln)
			break;
		n = container_of(ln, struct skb_node, node);
		skb = bpf_kptr_xchg(&n->skb, NULL);
		bpf_obj_drop(n);
		if (skb)
			bpf_kfree_skb(skb);
	}
}

SEC("struct_ops/bpf_fifo_reset")
void BPF_PROG(bpf_fifo_reset, struct Qdisc *sch)
{
	fifo_purge();
	sch->q.qlen = 0;
	sch->qstats.backlog = 0;
}

/* Linux resets a qdisc before destroying it; purging again costs nothing when empty. */
SEC("struct_ops/bpf_fifo_destroy")
void BPF_PROG(bpf_fifo_destroy, struct Qdisc *sch)
{
	fifo_purge();
}

SEC(".struct_ops.link")
struct Qdisc_ops fifo = {
	.enqueue = (void *)bpf_fifo_enqueue,
	.dequeue = (void *)bpf_fifo_dequeue,
	.init = (void *)bpf_fifo_init,
	.reset = (void *)bpf_fifo_reset,
	.destroy = (void *)bpf_fifo_destroy,
	.id = "bpf_fifo",
};

char _license[] SEC("license") = "GPL";
