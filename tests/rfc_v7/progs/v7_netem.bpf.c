/* A netem-like delay line written for sch_bpf RFC v7: each packet is due `delay_ns` after it
 * arrives (or skb->mark microseconds, when set), kept in an rbtree ordered by that time; dequeue
 * sends the earliest once it is due and otherwise THROTTLEs until then (an absolute expire). */
#include "v7_common.h"

const volatile __u64 delay_ns = 10000000;
const volatile __u64 slack_ns = 5000;

struct timed_skb {
	__u64 due;
	struct sk_buff __kptr *skb;
	struct bpf_rb_node node;
};

private(T) struct bpf_spin_lock t_lock;
private(T) struct bpf_rb_root t_root __contains(timed_skb, node);

static bool due_before(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct timed_skb, node)->due < container_of(b, struct timed_skb, node)->due;
}

SEC("qdisc/enqueue")
int netem_enqueue(struct bpf_qdisc_ctx *ctx)
{
	struct timed_skb *t = bpf_obj_new(struct timed_skb);
	struct sk_buff *skb, *old;
	__u32 mark = ctx->skb->mark;

	if (!t)
		return SCH_BPF_DROP;
	skb = bpf_skb_acquire(ctx->skb);
	if (!skb) {
		bpf_obj_drop(t);
		return SCH_BPF_DROP;
	}
	t->due = bpf_ktime_get_ns() + (mark ? mark * 1000ull : delay_ns);
	skb->tstamp = t->due;
	old = bpf_kptr_xchg(&t->skb, skb);
	if (old)
		bpf_skb_release(old);
	bpf_spin_lock(&t_lock);
	bpf_rbtree_add(&t_root, &t->node, due_before);
	bpf_spin_unlock(&t_lock);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int netem_dequeue(struct bpf_qdisc_ctx *ctx)
{
	struct bpf_rb_node *first;
	struct timed_skb *t;
	struct sk_buff *skb;
	__u64 now = bpf_ktime_get_ns(), due;

	bpf_spin_lock(&t_lock);
	first = bpf_rbtree_first(&t_root);
	if (!first) {
		bpf_spin_unlock(&t_lock);
		return SCH_BPF_DROP;
	}
	due = container_of(first, struct timed_skb, node)->due;
	if (due > now) {
		bpf_spin_unlock(&t_lock);
		ctx->expire = due;
		ctx->delta_ns = slack_ns;
		return SCH_BPF_THROTTLE;
	}
	first = bpf_rbtree_remove(&t_root, first);
	bpf_spin_unlock(&t_lock);
	if (!first)
		return SCH_BPF_DROP;
	t = container_of(first, struct timed_skb, node);
	skb = bpf_kptr_xchg(&t->skb, NULL);
	bpf_obj_drop(t);
	if (!skb)
		return SCH_BPF_DROP;
	bpf_qdisc_set_skb_dequeue(skb);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/reset")
void netem_reset(struct bpf_qdisc_ctx *ctx)
{
	struct bpf_rb_node *first;
	int i;

	bpf_for(i, 0, 1 << 20) {
		bpf_spin_lock(&t_lock);
		first = bpf_rbtree_first(&t_root);
		if (first)
			first = bpf_rbtree_remove(&t_root, first);
		bpf_spin_unlock(&t_lock);
		if (!first)
			break;
		bpf_obj_drop(container_of(first, struct timed_skb, node));
	}
}
