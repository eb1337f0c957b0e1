/* Takes one bag's lock and pushes into another bag's list: Linux refuses it at load (the list
 * needs its own object's lock), so must bpfq. */
#include "ops_common.h"

struct bag {
	struct bpf_spin_lock lock;
	struct bpf_list_head items __contains(skb_node, node);
};

SEC("struct_ops/olock_enqueue")
int BPF_PROG(olock_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct bag *a = bpf_obj_new(struct bag);
	struct bag *b = bpf_obj_new(struct bag);
	struct skb_node *n = bpf_obj_new(struct skb_node);

	if (a && b && n) {
		bpf_spin_lock(&a->lock);
		bpf_list_push_back(&b->items, &n->node);
		bpf_spin_unlock(&a->lock);
		n = NULL;
	}
	if (a)
		bpf_obj_drop(a);
	if (b)
		bpf_obj_drop(b);
	if (n)
		bpf_obj_drop(n);
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(olock)

SEC(".struct_ops.link")
struct Qdisc_ops olock = {
	.enqueue = (void *)olock_enqueue, .dequeue = (void *)olock_dequeue, .init = (void *)olock_init,
	.reset = (void *)olock_reset, .destroy = (void *)olock_destroy, .id = "olock",
};
